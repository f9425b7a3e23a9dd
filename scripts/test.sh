#!/usr/bin/env bash
# Sets up everything and runs every check. The README's test command; CI runs exactly this.
#   lint (ansible-lint production, antsibull-docs, changelog, galaxy-importer) -> ansible-test sanity + units
#   -> molecule -> pytest. With both Python >= 3.12 and 3.11 present, sanity, units and pytest
#   run on both (ansible-core 2.21 and 2.19). pytest on the primary interpreter runs last, each in two
#   pytest-xdist workers (every test is independent of the others: own simulators, ports and temp dirs).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
step() { printf '\n=== %s\n' "$*"; }

step "setup"
"$ROOT/scripts/setup.sh"
VENVS=(.venv)
PRIMARY_PYV=$(.venv/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
PY311=$(command -v python3.11 2>/dev/null || true)
for candidate in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.11*/bin/python3.11; do
  [ -x "$candidate" ] && PY311=$candidate
done
if [ "$PRIMARY_PYV" != "3.11" ] && [ -n "$PY311" ] && "$PY311" -c 'import sys' 2>/dev/null; then
  VENV=.venv311 PYTHON="$PY311" "$ROOT/scripts/setup.sh"
  VENVS+=(.venv311)
fi
# Debian packages that checks need, installed where possible: shellcheck (else ansible-test's shellcheck
# sanity test is skipped) and chromium (else the docs site's browser test in tests/e2e/test_docsite.py is)
MISSING=()
command -v shellcheck >/dev/null 2>&1 || MISSING+=(shellcheck)
command -v chromium >/dev/null 2>&1 || MISSING+=(chromium)
if [ ${#MISSING[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${MISSING[@]}") \
    >/dev/null 2>&1 || echo "note: could not install ${MISSING[*]}"
fi

export ANSIBLE_CONFIG="$ROOT/ansible.cfg" ANSIBLE_COLLECTIONS_PATH="$ROOT/.collections"
use_venv() { export PATH="$ROOT/$1/bin:$ORIG_PATH" VIRTUAL_ENV="$ROOT/$1"; }
ORIG_PATH=$PATH
use_venv .venv

step "ansible-lint (production profile)"
ansible-lint --offline
step "antsibull-docs lint"
antsibull-docs lint-collection-docs --plugin-docs .
step "changelog lint"
antsibull-changelog lint
step "galaxy-importer (built tarball)"
scripts/galaxy-importer.sh

for venv in "${VENVS[@]}"; do
  use_venv "$venv"
  pyv=$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  step "ansible-test sanity ($venv: Python $pyv, $(ansible --version | sed -n 1p))"
  scripts/ansible-test.sh sanity --python "$pyv" --color no
  step "ansible-test units ($venv)"
  scripts/ansible-test.sh units --python "$pyv" --color no
done

if [ -d extensions/molecule ]; then
  use_venv .venv
  step "molecule test"
  molecule reset >/dev/null 2>&1 || true   # a stale "prepared" state would skip prepare (simulators)
  molecule test --all
fi

# pytest last, primary interpreter last, so the run ends with pytest's summary line
for (( i=${#VENVS[@]}-1; i>=0; i-- )); do
  use_venv "${VENVS[$i]}"
  step "pytest (${VENVS[$i]}: Python $(python -c 'import sys; print("%d.%d" % sys.version_info[:2])'))"
  python -m pytest -p no:logging -n 2
done
