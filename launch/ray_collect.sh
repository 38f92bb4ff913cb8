#!/usr/bin/env bash
# Play collection on a Ray cluster: a head node here, workers joining it, robolang collect on top.
#   launch/ray_collect.sh head [HOURS] [WORKERS] [overrides...]   # on the head machine
#   launch/ray_collect.sh worker HEAD_IP                          # on each worker machine
#   launch/ray_collect.sh head 20 64 out=data/play_20h world=randomized
# Every machine needs the same robolang install (bash install.sh) and the same Python. The dataset
# is written on the head (workers send their episodes back); Ctrl-C keeps every finished episode.
set -euo pipefail
role=${1:-}
command -v ray >/dev/null || { echo "ray_collect: the ray command is missing (pip install ray)" >&2; exit 2; }
case "$role" in
  head)
    hours=${2:-10} workers=${3:-32}
    shift $(( $# < 3 ? $# : 3 ))
    ray status >/dev/null 2>&1 || ray start --head --port=6379
    echo "workers join with: launch/ray_collect.sh worker $(hostname -I | awk '{print $1}')"
    echo "cluster now: $(ray status 2>/dev/null | grep -c 'node_' || true) node(s)"
    exec robolang collect "hours=$hours" "workers=$workers" ray_address=auto "$@"
    ;;
  worker)
    [[ -n "${2:-}" ]] || { echo "ray_collect: say the head's address: launch/ray_collect.sh worker HEAD_IP" >&2; exit 2; }
    exec ray start --address="$2:6379" --block
    ;;
  *)
    sed -n '2,7p' "$0" >&2
    exit 2
    ;;
esac
