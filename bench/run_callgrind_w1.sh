#!/usr/bin/env bash
# Instructions per eager W1 step (callgrind), for the checkout this script is in and,
# optionally, another source tree given as $1 (e.g. an exported older commit, with this
# script's bench/callgrind_w1.py copied into its bench/):
#   bash bench/run_callgrind_w1.sh [/path/to/other/tree]
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
py="${PYTHON:-$here/.venv/bin/python}"
count() {  # tree loop steps -> total instructions
  local out; out=$(mktemp)
  (cd "$1" && PYTHONHASHSEED=0 PYTHONPATH="$1" valgrind --tool=callgrind --callgrind-out-file="$out" \
     "$py" "$1/bench/callgrind_w1.py" "$3" --loop "$2" >/dev/null 2>&1)
  callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}'
  rm -f "$out"
}
# trees alternate, ${REPEATS:-2} rounds; (count(5 steps) - count(1 step)) / 4 per step
for round in $(seq "${REPEATS:-2}"); do
  for tree in "$here" "${1:-}"; do
    [ -n "$tree" ] || continue
    for loop in manual sgd; do
      one=$(count "$tree" "$loop" 1); five=$(count "$tree" "$loop" 5)
      echo "round $round $tree $loop: $(( (five - one) / 4 )) instructions per step"
    done
  done
done
