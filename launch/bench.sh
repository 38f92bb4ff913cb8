#!/usr/bin/env bash
# Recipe: refresh every benchmark figure in BENCHMARKS.md (run on an otherwise idle machine).
set -euo pipefail
robolang bench sim "$@"
