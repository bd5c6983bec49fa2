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
table="| B | ours (instructions per step) | numpy by hand | ours / numpy |
|---|---|---|---|"
for B in ${BATCHES:-1 10 100}; do
  o=$(per_step ours "$B"); h=$(per_step numpy "$B")
  table+=$'\n'$(awk -v B="$B" -v o="$o" -v h="$h" 'BEGIN { printf "| %d | %.2f M | %.2f M | **%.2f×** |", B, o/1e6, h/1e6, o/h }')
  echo "$table" | tail -1
done
# the section of bench/RESULTS.md this script owns
(cd "$here/bench" && TABLE="$table" N0="$n0" N1="$n1" "$py" - <<'PY'
import os
from _common import machine_line, write_section
write_section("run_callgrind_mnist_step", "\n".join([
    "## Instructions per training step of MLP(784,[30,10]): public loop vs numpy by hand (run_callgrind_mnist_step.sh)\n",
    machine_line() + f"; callgrind, (count({os.environ['N1']} steps) − count({os.environ['N0']} steps)) / "
    f"{int(os.environ['N1']) - int(os.environ['N0'])}; one BLAS thread, OPENBLAS_CORETYPE/L2_SIZE unset. Ours: "
    "`tape.forward; opt.zero_grad(); tape.backward(\"mean\"); opt.step()` with nn.SGD; numpy by hand: "
    "bench_mnist_step.NumpyStep. Instruction counts miss cache effects: bench_mnist_step.py has the times.\n",
    os.environ["TABLE"], ""]))
PY
)
