#!/usr/bin/env bash
# Install what the demo needs, then run it: the NPTEL worked example (seed 004) as a table,
# its slide-style forward and backward graphs (SVG) and a step-through HTML page.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh demo
exec .venv/bin/backproplab demo "$@"
