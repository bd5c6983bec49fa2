#!/usr/bin/env bash
# The C core under valgrind memcheck: bench/stress_memcheck.py with Python's own allocator
# switched off (PYTHONMALLOC=malloc), so every object is a malloc block valgrind watches.
#   bash bench/run_memcheck.sh [stress options, e.g. --rounds 40 --depth 20000]
# Passes when memcheck reports no invalid access and no definitely-lost block whose allocation
# stack passes through autodiff/_ccore.c; prints memcheck's summary lines.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
py="${PYTHON:-$here/.venv/bin/python}"
log=$(mktemp)
status=0
PYTHONMALLOC=malloc OPENBLAS_NUM_THREADS=1 valgrind --tool=memcheck --leak-check=full \
  --show-leak-kinds=definite --num-callers=40 --log-file="$log" \
  "$py" "$here/bench/stress_memcheck.py" "$@" || status=$?
grep -E "ERROR SUMMARY|definitely lost|indirectly lost|Invalid (read|write)|uninitialised" "$log" | sort | uniq -c || true
ours=$(awk '/^==[0-9]+== [A-Z]/ {block=$0; next} /_ccore/ {print block}' "$log" | sort -u)
if [ "$status" != 0 ]; then echo "memcheck: the stress run failed ($status)"; exit 1; fi
if [ -n "$ours" ]; then
  echo "memcheck: reports involving autodiff/_ccore.c:"; echo "$ours"; echo "(full log: $log)"; exit 1
fi
echo "memcheck: no invalid access or leak involving autodiff/_ccore.c (full log: $log)"
