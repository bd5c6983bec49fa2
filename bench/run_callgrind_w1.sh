#!/usr/bin/env bash
# Instructions per eager W1 step (callgrind): backproplab with the C core, backproplab pure
# Python (BACKPROPLAB_PURE=1), micrograd 0.1.0 with its collector off and as shipped.
#   bash bench/run_callgrind_w1.sh            (REPEATS=2 rounds by default; STEPS=5)
# One step = (count(STEPS steps) - count(1 step)) / (STEPS - 1), free of start-up. OpenBLAS is
# held to one thread: its idle worker threads would otherwise add instructions to every run;
# setarch -R: no address randomisation, so id()-keyed sets and dicts (the topological sort's)
# probe the same way every run and the counts repeat.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
py="${PYTHON:-$here/.venv/bin/python}"
steps="${STEPS:-5}"
count() {  # env engine loop steps -> total instructions
  local out; out=$(mktemp)
  (cd "$here" && env $1 OPENBLAS_NUM_THREADS=1 PYTHONHASHSEED=0 PYTHONPATH="$here" \
     setarch "$(uname -m)" -R valgrind --tool=callgrind --callgrind-out-file="$out" \
     "$py" "$here/bench/callgrind_w1.py" "$4" --engine "$2" --loop $3 >/dev/null 2>&1)
  callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}'
  rm -f "$out"
}
per_step() { local one many; one=$(count "$@" 1); many=$(count "$@" "$steps"); echo $(( (many - one) / (steps - 1) )); }
for round in $(seq "${REPEATS:-2}"); do
  c=$(per_step "BACKPROPLAB_PURE=0" ours manual)
  s=$(per_step "BACKPROPLAB_PURE=0" ours sgd)
  p=$(per_step "BACKPROPLAB_PURE=1" ours manual)
  n=$(per_step "BACKPROPLAB_PURE=0" micrograd-nogc manual)
  m=$(per_step "BACKPROPLAB_PURE=0" micrograd manual)
  echo "round $round: C core $c, C core with nn.SGD $s, pure Python $p, micrograd gc off $n, micrograd $m instructions per step"
  awk -v c="$c" -v p="$p" -v n="$n" -v m="$m" 'BEGIN { printf "  ratios: micrograd gc off / C core %.1fx, micrograd / C core %.1fx, pure / C core %.2fx, micrograd gc off / pure %.1fx\n", n/c, m/c, p/c, n/p }'
done
# The 100,000-deep chain (mul + tanh): instructions per node, forward + backward (C core, pure)
chain() { local one many; one=$(count "$1" ours "manual --chain 100000" 1); many=$(count "$1" ours "manual --chain 100000" 3); echo $(( (many - one) / 2 / 200000 )); }
echo "100,000-deep chain: C core $(chain BACKPROPLAB_PURE=0), pure Python $(chain BACKPROPLAB_PURE=1) instructions per node"
