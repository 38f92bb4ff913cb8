#!/usr/bin/env bash
# Refresh BENCHMARKS.md: run every benchmark, or the one named, each replacing its own section.
#   launch/bench.sh                      # every benchmark of robolang/bench/, one after another
#   launch/bench.sh sim                  # only `robolang bench sim`
#   launch/bench.sh latency n_runs=200   # one benchmark with overrides of configs/bench_latency.yaml
# Run it on an otherwise idle machine: every figure is read beside the load average it records.
# `caption` and `data` measure an hour of captioned play in data/play_hour; it is recorded and
# captioned first when missing (about 10 min on 2 cores).
set -euo pipefail

if [[ $# -gt 0 ]]; then
  benchmarks=("$1")
  shift
else
  mapfile -t benchmarks < <(python3 -c "from robolang import bench; print(*bench.names(), sep='\n')")
fi

for name in "${benchmarks[@]}"; do
  if [[ "$name" == caption || "$name" == data ]] && [[ ! -e data/play_hour/meta/info.json ]]; then
    robolang collect hours=1 workers=2 out=data/play_hour
    robolang caption data/play_hour
  fi
  echo "== robolang bench $name${*:+ $*} =="
  robolang bench "$name" "$@"
done
