#!/usr/bin/env bash
# Builds the collection tarball and runs galaxy-importer on it, as Galaxy and Automation Hub do on
# upload. galaxy-importer pins ansible-lint, attrs and flake8 ranges of its own, so it gets its own
# venv (.venv-importer). ansible-test inside the importer needs a container engine, so it is off here;
# scripts/test.sh runs ansible-test sanity itself. Fails on any importer error.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=$ROOT/.venv-importer
PY=${PYTHON:-$ROOT/.venv/bin/python}
if [ ! -x "$VENV/bin/python" ]; then
  PYBASE=$("$PY" -c 'import sys; print(sys.base_prefix)')/bin/python3
  "$PYBASE" -m venv "$VENV"
fi
# constrained by requirements.txt: the same ansible-core and cryptography as .venv (cryptography 51 makes
# every ansible command warn about DSA, see there)
"$VENV/bin/python" -m pip install -q --disable-pip-version-check galaxy-importer==0.4.44 -c "$ROOT/requirements.txt" \
  2>&1 | grep -v "is ignored" || true
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
"$VENV/bin/ansible-galaxy" collection build --output-path "$WORK" "$ROOT" >/dev/null
cat >"$WORK/galaxy-importer.cfg" <<'CFG'
[galaxy-importer]
LOG_LEVEL_MAIN = INFO
RUN_ANSIBLE_TEST = False
RUN_ANSIBLE_LINT = True
CHECK_CHANGELOG = True
CHECK_REQUIRED_TAGS = True
CFG
cd "$WORK"
GALAXY_IMPORTER_CONFIG=$WORK/galaxy-importer.cfg PATH=$VENV/bin:$PATH \
  "$VENV/bin/python" -m galaxy_importer.main apiaccess-ipwhitelist-*.tar.gz | tee importer.log
if grep -E '^(ERROR|WARNING)' importer.log; then
  echo "galaxy-importer reported the errors or warnings above" >&2
  exit 1
fi
grep -q 'Importer processing completed successfully' importer.log
