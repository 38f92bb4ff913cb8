#!/usr/bin/env bash
# Teleoperated play on an SO-101 follower driven by an SO-101 leader arm, recorded as robolang play.
#   launch/so101_play.sh [FOLLOWER_PORT] [LEADER_PORT] [OUT] [overrides...]
#   launch/so101_play.sh /dev/ttyACM0 /dev/ttyACM1 data/so101_play minutes=30
# Before the first run: pip install -e ".[so101]"; calibrate both arms with LeRobot's own tool
#   lerobot-calibrate --robot.type=so101_follower --robot.port=/dev/ttyACM0 --robot.id=so101_follower
#   lerobot-calibrate --teleop.type=so101_leader --teleop.port=/dev/ttyACM1 --teleop.id=so101_leader
# Enter saves an episode, Backspace re-records it, Esc (or Ctrl-C) stops; label the data afterwards
# (real play has no scene state for the oracle captioner).
set -euo pipefail
follower=${1:-/dev/ttyACM0}
leader=${2:-/dev/ttyACM1}
out=${3:-data/so101_play}
shift $(( $# < 3 ? $# : 3 ))

missing=()
python3 -c "import scservo_sdk" 2>/dev/null || missing+=("the Feetech SDK: pip install -e '.[so101]'")
[[ -e "$follower" ]] || missing+=("the follower arm at $follower (lerobot-find-port tells which port)")
[[ -e "$leader" ]] || missing+=("the leader arm at $leader")
[[ -t 0 ]] || missing+=("an interactive terminal (the recording keys are read from it)")
if (( ${#missing[@]} )); then
  printf 'so101_play: cannot start; missing:\n' >&2
  printf '  - %s\n' "${missing[@]}" >&2
  exit 2
fi
exec robolang teleop robot=so101 device=so101_leader "robot.config.port=$follower" "device.port=$leader" \
  "out=$out" resume=true "$@"
