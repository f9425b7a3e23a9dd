#!/usr/bin/env bash
# The README's main command: sets up, starts both simulators on loopback, rolls a 120-host fleet
# out with the fleet_whitelist role to every kind of list the collection manages (4 Atlas API keys,
# an Atlas service account, 2 Atlas project IP access lists with per-host comments, one of them
# temporary, and 2 Woodcore keys), completes the Woodcore OTP step from the simulator's outbox, runs
# again to show nothing left to do, prints the final lists, then ends with the access audit of the whole
# organization (playbooks/audit.yml, reads only: counts by severity and the report's path) and stops.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
printf '\033[1m== Setting up (a fresh machine installs the pinned tools into .venv: about a minute)\033[0m\n'
"$ROOT/scripts/setup.sh"
cd "$ROOT"
export PATH="$ROOT/.venv/bin:$PATH" ANSIBLE_CONFIG="$ROOT/ansible.cfg" ANSIBLE_COLLECTIONS_PATH="$ROOT/.collections"
# 120 hosts: keep the output to the tasks that do something
export ANSIBLE_DISPLAY_SKIPPED_HOSTS=false
WORK=$(mktemp -d "${TMPDIR:-/tmp}/apiaccess-demo.XXXXXX")
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

start_simulator() {  # name seed
  python -m tests.simulators "$1" --seed "tests/simulators/seeds/$2" --url-file "$WORK/$1.url" \
    >"$WORK/$1.log" 2>&1 &
  PIDS+=("$!")
  for _ in $(seq 1 100); do [ -s "$WORK/$1.url" ] && return 0; sleep 0.05; done
  echo "the $1 simulator did not start:" >&2; cat "$WORK/$1.log" >&2; return 1
}
control() { python - "$@" <<'PY'
import json, sys, urllib.request
url, *rest = sys.argv[1:]
req = urllib.request.Request(url, data=rest[0].encode() if rest else None, method='POST' if rest else 'GET')
print(urllib.request.urlopen(req).read().decode())
PY
}
writes() { control "$1/__sim__/log" | python -c 'import json,sys; print(json.load(sys.stdin)["writes"])'; }

say "Starting the Atlas and Woodcore simulators on loopback"
start_simulator atlas demo-atlas.yml
start_simulator woodcore demo-woodcore.yml
ATLAS=$(cat "$WORK/atlas.url"); WOODCORE=$(cat "$WORK/woodcore.url")
echo "atlas:    $ATLAS   woodcore: $WOODCORE/api/v2"
# The same variables point the playbook at the real services (see README).
export MONGODB_ATLAS_BASE_URL=$ATLAS WOODCORE_BASE_URL=$WOODCORE/api/v2
export MONGODB_ATLAS_PUBLIC_API_KEY=ansctl01 MONGODB_ATLAS_PRIVATE_API_KEY=0f6e2a9c-demo-4c1b-9e2a-automation01
PLAY=(ansible-playbook -i playbooks/demo/inventory.yml playbooks/fleet.yml -e @playbooks/demo/keys.yml
      -e "fleet_whitelist_woodcore_pending_state_path=$WORK/woodcore-pending.json"
      -e "demo_staging_until=$(date -u -d '+8 hours' +%Y-%m-%dT%H:%M:%SZ)")  # one end time for every run

# Each run shows its summary (one line per key) and its full recap; the check run also its diff.
from_converge() { sed -n '/fleet_whitelist : Converge Atlas/,$p'; }
# --diff lists every entry (120 hosts, one entry each, on every list): the first 3 of each run of
# added or removed entries are shown, then how many more.
shorten_diffs() {
  awk 'function flush() { if (n > 3) printf "%s        ... %d more (shortened by the demo)\n", sign, n - 3; n = 0 }
       /^[-+]        "/ { s = substr($0, 1, 1); if (s != sign) flush(); sign = s; if (++n <= 3) print; next }
       { flush(); print }
       END { flush() }'
}
from_summary() { sed -n '/fleet_whitelist : Summary/,$p'; }

say "Run 1a: 120 hosts -> 4 Atlas API keys, 1 service account, 2 project lists + 2 Woodcore keys, in check mode with --diff (what would change; nothing is sent)"
"${PLAY[@]}" --check --diff | from_converge | shorten_diffs
say "Run 1b: the same, applied (Atlas lists converge, project entries named after their hosts; each Woodcore key emails its owner an OTP)"
"${PLAY[@]}" | from_summary

say "SIMULATION: reading the OTP emails from the Woodcore simulator's outbox (stands in for the key owner's inbox)"
OTPS=$(control "$WOODCORE/__sim__/outbox" | python -c '
import json, sys
emails = json.load(sys.stdin)["emails"]
for e in emails:
    print("  email to %s: OTP for key %s (IP %s)" % (e["to"], e["key_name"], e["ip"]), file=sys.stderr)
print(json.dumps({"fleet_whitelist_woodcore_otps": {e["key_name"]: e["otp"] for e in emails}}))')

say "Run 2: approve the pending Woodcore keys with their OTPs"
"${PLAY[@]}" -e "$OTPS" | from_summary

say "Run 3: everything converged, nothing to do"
BEFORE_A=$(writes "$ATLAS"); BEFORE_W=$(writes "$WOODCORE")
"${PLAY[@]}" | from_summary
echo "writes during run 3: atlas $(( $(writes "$ATLAS") - BEFORE_A )), woodcore $(( $(writes "$WOODCORE") - BEFORE_W ))"

say "Final state (from the simulators), by the names of playbooks/demo/keys.yml"
control "$ATLAS/__sim__/state" | python -c '
import json, os, sys, yaml
import requests
from requests.auth import HTTPDigestAuth

def listing(entries, limit=4):
    if len(entries) <= limit:
        return ", ".join(entries) or "(empty)"
    return "%d entries: %s, ... +%d more" % (len(entries), ", ".join(entries[:limit]), len(entries) - limit)

def label(names, ident, name):  # by ID or by name, as keys.yml gives it
    return names.get(ident) or names.get(name) or "%s (not managed)" % name

demo = yaml.safe_load(open("playbooks/demo/keys.yml"))
state = json.load(sys.stdin)
keys = dict((k["api_key"], k["name"]) for k in demo["fleet_whitelist_atlas_keys"])
for org, org_keys in state["orgs"].items():
    for key_id, key in org_keys.items():
        print("atlas    %-24s %s" % (label(keys, key_id, key["publicKey"]), listing(key["access_list"])))
accounts = dict((a["service_account"], a["name"]) for a in demo["fleet_whitelist_atlas_service_accounts"])
for client_id, account in state["service_accounts"].items():
    print("atlas-sa %-24s %s" % (label(accounts, client_id, account["name"]), listing(account["access_list"])))
# the project lists through the API itself (what the Atlas UI shows): entries with their comments and expiry
projects = dict((p.get("project") or p["project_id"], p["name"]) for p in demo["fleet_whitelist_atlas_projects"])
api = requests.Session()
api.auth = HTTPDigestAuth(os.environ["MONGODB_ATLAS_PUBLIC_API_KEY"], os.environ["MONGODB_ATLAS_PRIVATE_API_KEY"])
api.headers["Accept"] = "application/vnd.atlas.2023-01-01+json"
base = os.environ["MONGODB_ATLAS_BASE_URL"] + "/api/atlas/v2/groups"
for project in api.get(base, params={"itemsPerPage": 500}).json()["results"]:
    entries = api.get("%s/%s/accessList" % (base, project["id"]), params={"itemsPerPage": 500}).json()["results"]
    expiries = set(e.get("deleteAfterDate") for e in entries)
    until = expiries.pop() if len(expiries) == 1 else None  # one expiry for all: said once
    shown = ["%s \"%s\"" % (e.get("cidrBlock") or e.get("awsSecurityGroup"), e.get("comment", ""))
             + (" until %s" % e["deleteAfterDate"] if e.get("deleteAfterDate") and not until else "") for e in entries]
    print("project  %-24s %s%s" % (label(projects, project["id"], project["name"]), listing(shown, 3),
                                   " (temporary: Atlas deletes them at %s)" % until if until else ""))'
control "$WOODCORE/__sim__/state" | python -c '
import json, sys
state = json.load(sys.stdin)
for name, key in state["keys"].items():
    print("woodcore %-24s %s" % (name, key["ip"]))
print("OTP emails sent: %d" % state["emails_sent"])'
# The last step: who can call these APIs, and from where. playbooks/audit.yml reads (never writes) every list of the
# organization, managed by the demo or not, against the fleet, and writes one report (docs/audit.md).
say "Audit: every API key, service account and project list of the organization, and the Woodcore keys (reads only)"
BEFORE_A=$(writes "$ATLAS"); BEFORE_W=$(writes "$WOODCORE")
ansible-playbook -i playbooks/demo/inventory.yml playbooks/audit.yml -e @playbooks/demo/keys.yml \
  -e "fleet_whitelist_woodcore_pending_state_path=$WORK/woodcore-pending.json" \
  -e audit_all=true -e '{"audit_org_ids": ["65a1f0c2e4b0d7a3c9e81234"]}' \
  -e audit_fail_on=never -e "audit_report_dir=$ROOT/access-report" | sed -n '/TASK \[Summary/,/^$/p' \
  | sed -n 's/^ *"\(.*\)",\{0,1\}$/  \1/p'
echo "writes during the audit: atlas $(( $(writes "$ATLAS") - BEFORE_A )), woodcore $(( $(writes "$WOODCORE") - BEFORE_W ))"
echo "open it: $ROOT/access-report/access-report.html (JSON and Markdown beside it)"

say "Simulators stopped. The same playbook runs against the real services: see README.md"
