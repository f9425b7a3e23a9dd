#!/usr/bin/env bash
# ansible-test insists that the *physical* cwd ends in ansible_collections/<ns>/<name>, so the
# checkout's git-listed files are copied there first. Usage: scripts/ansible-test.sh sanity --python 3.13
# Runs with the ansible-test of the active venv (PATH).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYV=$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
WORK=${ANSIBLE_TEST_WORKDIR:-${TMPDIR:-/tmp}/apiaccess-ipwhitelist-ansible-test-$PYV}
DEST=$WORK/ansible_collections/apiaccess/ipwhitelist
# offline stand-in for the get-pip download (its version differs per ansible-core release)
PIPV=$(python - <<'PY'
import pathlib, re, ansible_test
src = (pathlib.Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py").read_text()
print(re.search(r"pip='([0-9.]+)'", src).group(1))
PY
)
# ansible-test reads it from its own cache in the user's home; written only when missing or different,
# and never over a file that is not ours (see the README's note on ~/.ansible/test/cache).
CACHE=$HOME/.ansible/test/cache/get_pip_${PIPV//./_}.py
mkdir -p "$(dirname "$CACHE")"
if ! cmp -s "$ROOT/tests/tools/get_pip_offline.py" "$CACHE"; then
  if [ -e "$CACHE" ] && ! grep -q 'Offline stand-in for ansible-test' "$CACHE"; then
    echo "note: replacing ansible-test's downloaded $CACHE with the offline stand-in (kept as $CACHE.orig)" >&2
    cp "$CACHE" "$CACHE.orig"
  fi
  cp "$ROOT/tests/tools/get_pip_offline.py" "$CACHE"
fi
rm -rf "$DEST" && mkdir -p "$DEST"
cd "$ROOT"
git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$DEST"
cd "$DEST"
exec ansible-test "$@"
