#!/usr/bin/env bash
# Set up backproplab on a fresh Debian/Ubuntu machine: system packages, a virtual
# environment in .venv, the package itself (editable). Sourced by demo.sh and test.sh.
#   setup.sh demo   -> Graphviz `dot` and Latin Modern fonts, the package with matplotlib (plots)
#   setup.sh test   -> also rsvg-convert and Chromium (drawing/HTML tests), pytest,
#                      hypothesis, matplotlib, tqdm, nbclient + ipykernel (the notebook test),
#                      and the PyTorch oracle if a local torch 2.13.0 wheel exists
set -euo pipefail
purpose="${1:-demo}"
root_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root_dir"

need_cmds=(dot)
need_pkgs=(graphviz fonts-lmodern)
if [ "$purpose" = test ]; then
  need_cmds+=(rsvg-convert chromium)
  need_pkgs+=(librsvg2-bin chromium)
fi

missing=()
for cmd in "${need_cmds[@]}"; do command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd"); done
if ! fc-list : family 2>/dev/null | grep -i "Latin Modern Roman" >/dev/null; then missing+=(fonts-lmodern); fi

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing ${need_pkgs[*]} with apt-get (missing: ${missing[*]})"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
  else
    echo "setup: missing ${missing[*]}. Install them with:" >&2
    echo "    sudo apt-get install ${need_pkgs[*]}" >&2
    echo "setup: continuing; drawings fall back to DOT source and tests that need them are skipped." >&2
  fi
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv || {
    echo "setup: python3 -m venv failed; install the venv module (sudo apt-get install python3-venv)" >&2
    exit 1
  }
fi
py=.venv/bin/python
"$py" -m pip install -q --upgrade pip >/dev/null 2>&1 || true
if [ "$purpose" = test ]; then
  "$py" -m pip install -q -e ".[test,bench]"
  # The PyTorch oracle: only when a local 2.13.0 wheel exists (its CPU build, never a
  # multi-gigabyte download); its small dependencies come from the package index.
  if ! "$py" -c "import torch" >/dev/null 2>&1; then
    if "$py" -m pip download -q --no-index --no-deps torch==2.13.0 -d "$(mktemp -d)" >/dev/null 2>&1 \
        && "$py" -m pip install -q torch==2.13.0 >/dev/null 2>&1; then
      echo "setup: PyTorch 2.13.0 installed from a local wheel (oracle tests enabled)"
    else
      echo "setup: no local PyTorch 2.13.0 wheel; PyTorch oracle tests will be skipped"
    fi
  fi
else
  "$py" -m pip install -q -e ".[plots]"
fi
