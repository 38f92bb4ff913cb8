#!/usr/bin/env bash
# Deploy a trained policy on a UR5e with a RealSense camera: a dry run first, then for real.
#   launch/ur5e_deploy.sh ROBOT_IP CHECKPOINT "INSTRUCTION" [overrides...]
#   launch/ur5e_deploy.sh 192.168.1.10 runs/policy "lift the red block" dry_run=false
# Defaults to dry_run=true: the policy runs, actions are limited, logged and drawn on the video
# (deployments/videos/), nothing is sent. Pass dry_run=false once the video looks right.
# Set the workspace box to your table (metres, robot base frame), e.g.
#   safety.workspace_low=[0.25,-0.35,0.02] safety.workspace_high=[0.75,0.35,0.45]
# Needs: pip install -e ".[ur,realsense]"; the arm in Remote Control on the pendant (ur_rtde
# uploads its own script); REALSENSE_SERIAL=<serial> for the static camera (rs-enumerate-devices
# lists it); the wrist camera as in configs/robot/ur5e.yaml.
set -euo pipefail
if (( $# < 3 )); then
  sed -n '2,12p' "$0" >&2
  exit 2
fi
host=$1 checkpoint=$2 instruction=$3
shift 3

missing=()
python3 -c "import rtde_control, rtde_receive" 2>/dev/null || missing+=("ur_rtde: pip install -e '.[ur]'")
python3 -c "import pyrealsense2" 2>/dev/null || missing+=("the RealSense SDK: pip install -e '.[realsense]'")
[[ -e "$checkpoint" ]] || missing+=("the checkpoint $checkpoint")
ping -c 1 -W 1 "$host" >/dev/null 2>&1 || missing+=("the arm's controller at $host (no answer to ping)")
[[ -n "${REALSENSE_SERIAL:-}" ]] || missing+=("REALSENSE_SERIAL=<the static camera's serial>")
if (( ${#missing[@]} )); then
  printf 'ur5e_deploy: cannot start; missing:\n' >&2
  printf '  - %s\n' "${missing[@]}" >&2
  exit 2
fi
exec robolang deploy robot=ur5e "robot.config.host=$host" "checkpoint=$checkpoint" "instruction=$instruction" \
  "robot.config.cameras.static={type:realsense,serial_number_or_name:'$REALSENSE_SERIAL',fps:30,width:640,height:480}" \
  dry_run=true "$@"
