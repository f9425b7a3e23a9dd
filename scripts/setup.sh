#!/usr/bin/env bash
# Idempotent developer/CI setup: a venv with the pinned toolchain and the collection symlink.
#   VENV=.venv311 PYTHON=python3.11 scripts/setup.sh   -> a second venv for the 3.11 matrix leg
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
VENV=${VENV:-.venv}

pick_python() {
  # ansible-core 2.20+ needs Python >= 3.12 on the controller. pyenv shims refuse
  # versions that are not active, so every candidate is test-run before it is used.
  local c pyenv=${PYENV_ROOT:-$HOME/.pyenv}
  if [ -n "${PYTHON:-}" ]; then command -v "$PYTHON"; return 0; fi   # an explicit choice wins
  for c in python3.14 python3.13 python3.12 \
           "$pyenv"/versions/3.14*/bin/python3 "$pyenv"/versions/3.13*/bin/python3 \
           "$pyenv"/versions/3.12*/bin/python3; do
    [ -n "$c" ] || continue
    if "$c" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
      command -v "$c"; return 0
    fi
  done
  # fall back to python3 (3.11 gets ansible-core 2.19, which is supported too)
  if python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    command -v python3; return 0
  fi
  echo "no Python >= 3.11 found (set PYTHON=/path/to/python3)" >&2
  return 1
}

if [ ! -x "$VENV/bin/python" ]; then
  PY=$(pick_python)
  echo "creating $VENV with $PY ($("$PY" --version))"
  "$PY" -m venv "$VENV"
fi
echo "installing the pinned tools of requirements-dev.txt into $VENV (quick when they are there already)"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip 2>&1 | grep -v "is ignored" || true
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -r requirements-dev.txt 2>&1 | grep -v "is ignored" || true
"$VENV/bin/python" -c 'import ansible, requests, netaddr, pytest' # fail loudly if the install did not work

# The repo root is the collection: expose it as ansible_collections/apiaccess/ipwhitelist.
# Replaced only when it is not right already: the demo runs this while tests use the link (ln -sfn unlinks first).
mkdir -p .collections/ansible_collections/apiaccess
LINK=.collections/ansible_collections/apiaccess/ipwhitelist
[ "$(readlink "$LINK" 2>/dev/null)" = ../../.. ] || ln -sfn ../../.. "$LINK"
echo "ok: $("$VENV/bin/ansible" --version | sed -n 1p) in $VENV"  # sed reads it all: no broken pipe
