#!/usr/bin/env bash
# Builds the collection's docs site (module and role reference, rendered by antsibull-docs, and the
# guides of docs/*.md as its extra docs, then Sphinx) into docs/_build/site/build/html.
# Usage: scripts/docs.sh [DEST]
# Needs the dev venv (scripts/setup.sh, then requirements-dev.txt); works offline.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEST=${1:-$ROOT/docs/_build/site}
VENV=${VENV:-$ROOT/.venv}
export PATH=$VENV/bin:$PATH
export ANSIBLE_COLLECTIONS_PATH=$ROOT/.collections
rm -rf "$DEST" && mkdir -p "$DEST" && chmod 700 "$DEST"   # antsibull-docs insists on 0700
antsibull-docs sphinx-init --use-current --dest-dir "$DEST" apiaccess.ipwhitelist >/dev/null
# The build machines are offline, so intersphinx cannot download ansible-core's inventory.
# The few ansible-core labels the generated pages link to come from a local inventory that points
# at the real docs.ansible.com pages; nothing else is linked, and -W still fails on any other
# unresolved reference.
python "$ROOT/tests/tools/ansible_core_inventory.py" "$DEST/ansible_devel.inv"
cat >>"$DEST/conf.py" <<PY

# added by scripts/docs.sh: offline build, see the comment there
intersphinx_mapping = {
    'ansible_devel': ('https://docs.ansible.com/projects/ansible/devel/', '$DEST/ansible_devel.inv'),
}
PY
cat >>"$DEST/conf.py" <<'PY'

# added by scripts/docs.sh: the guides (docs/*.md) are Markdown, rendered by MyST; links to a guide's
# headings (role.md#credentials) work as on GitHub
extensions.append('myst_parser')
myst_heading_anchors = 4
PY
# The guides take the places antsibull-docs made for them (docs/docsite/extra-docs.yml), between its
# step and Sphinx's.
grep -q '^# Build Sphinx site' "$DEST/build.sh" || { echo "$DEST/build.sh has no '# Build Sphinx site' step" >&2; exit 1; }
sed -i "/^# Build Sphinx site/i python '$ROOT/tests/tools/docsite_guides.py' '$ROOT' rst/collections/apiaccess/ipwhitelist/docsite" \
  "$DEST/build.sh"
bash "$DEST/build.sh" >"$DEST/build.log" 2>&1 || { cat "$DEST/build.log"; exit 1; }
echo "docs site: $DEST/build/html/index.html"
