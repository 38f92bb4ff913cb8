#!/usr/bin/env bash
# Recipe: a short video of the play table in each world variant (default, randomized, held out).
set -euo pipefail
for world in default randomized heldout; do
    robolang play world=$world seed=${SEED:-0} steps=${STEPS:-150} out=runs/play_$world.mp4
done
