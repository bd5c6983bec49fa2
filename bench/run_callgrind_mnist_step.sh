#!/usr/bin/env bash
# Instructions per training step of MLP(784,[30,10]) (callgrind): the public compiled loop
# against the same step written by hand in numpy, at B = 1, 10, 100 (BATCHES to change).
#   bash bench/run_callgrind_mnist_step.sh
# One step = (count(N1 steps) - count(N0 steps)) / (N1 - N0), free of start-up and imports.
# Instruction counts do not see cache misses, so they are the stable half of the picture;
# bench_mnist_step.py gives the times. OpenBLAS: one thread, no OPENBLAS_CORETYPE/L2_SIZE.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
py="${PYTHON:-$here/.venv/bin/python}"
n0="${N0:-5}"; n1="${N1:-45}"
count() {  # which B steps -> total instructions
  local out; out=$(mktemp)
  (cd "$here" && env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \
     PYTHONHASHSEED=0 PYTHONPATH="$here" setarch "$(uname -m)" -R valgrind --tool=callgrind \
     --callgrind-out-file="$out" "$py" "$here/bench/callgrind_mnist_step.py" "$1" "$2" "$3" >/dev/null 2>&1)
  callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}'
  rm -f "$out"
}
per_step() { local a c; a=$(count "$1" "$2" "$n0"); c=$(count "$1" "$2" "$n1"); echo $(( (c - a) / (n1 - n0) )); }
echo "| B | ours (instructions per step) | numpy by hand | ours / numpy |"
echo "|---|---|---|---|"
for B in ${BATCHES:-1 10 100}; do
  o=$(per_step ours "$B"); h=$(per_step numpy "$B")
  awk -v B="$B" -v o="$o" -v h="$h" 'BEGIN { printf "| %d | %.2f M | %.2f M | **%.2f×** |\n", B, o/1e6, h/1e6, o/h }'
done
