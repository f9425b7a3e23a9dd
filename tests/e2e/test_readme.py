# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a newcomer runs first: the README's "Try it by hand" block as written, and the demo."""

from __future__ import annotations

import datetime
import os
import re
import subprocess
import sys

from ansible_collections.apiaccess.ipwhitelist.tests.e2e.conftest import ROOT


def readme_block(heading):
    text = (ROOT / 'README.md').read_text(encoding='utf-8')
    section = text.split('## %s' % heading, 1)[1].split('\n## ', 1)[0]
    return re.search(r'```bash\n(.*?)```', section, re.S).group(1)


def bash(script, tmp_path, venv):
    # a home of its own: the Woodcore module keeps its pending-request record there
    env = dict(os.environ, HOME=str(tmp_path), ANSIBLE_NOCOLOR='1',
               ANSIBLE_LOCAL_TEMP=str(tmp_path / 'ansible-local'))
    for name in ('MONGODB_ATLAS_BASE_URL', 'WOODCORE_BASE_URL', 'WOODCORE_API_KEY', 'VIRTUAL_ENV'):
        env.pop(name, None)
    # `source .venv/bin/activate` in the block: point it at the venv running this test
    script = script.replace('source .venv/bin/activate', 'source %s/bin/activate' % venv)
    return subprocess.run(['bash', '-euo', 'pipefail', '-c', script], cwd=str(ROOT), env=env, capture_output=True,
                          text=True, timeout=300, check=False)


def test_try_it_by_hand_works_as_written(tmp_path):
    proc = bash(readme_block('Try it by hand'), tmp_path, os.path.dirname(os.path.dirname(sys.executable)))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert out.count('| SUCCESS') == 1 and out.count('| CHANGED') == 2, out[-4000:]
    assert '"added": [\n        "198.51.100.0/24",\n        "203.0.113.10/32"' in out
    assert '"otp": "' in out and '"key_name": "payments"' in out  # the simulated email
    # no HTTP 403 anywhere (the digits alone also turn up in a simulator's random port: 127.0.0.1:34403)
    assert 'FAILED' not in out and not re.search(r'HTTP 403|"http_status": 403|\b403 [A-Z_]{4,}', out)


def test_demo_shows_headers_diff_full_recaps_and_one_set_of_names(tmp_path):
    started = datetime.datetime.now(datetime.timezone.utc)
    proc = subprocess.run(['bash', str(ROOT / 'scripts' / 'run.sh')], cwd=str(ROOT), capture_output=True, text=True,
                          timeout=600, check=False, env=dict(os.environ, ANSIBLE_NOCOLOR='1'))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    # issue 21: no warning lines at all (the CryptographyDeprecationWarning was five of them)
    warnings = [line for line in out.splitlines() if re.search(r'\[WARNING\]|Warning:|DeprecationWarning', line)]
    assert not warnings, '\n'.join(warnings[:10])
    # the demo's credentials (playbooks/demo/keys.yml, scripts/run.sh) never reach its output
    for secret in ('0f6e2a9c-demo-4c1b-9e2a-automation01', 'wc_test_demo0payments0key0000000001',
                   'wc_test_demo0payouts00key0000000002'):
        assert secret not in out
    check, apply = out.split('== Run 1a:')[1].split('== Run 1b:')
    assert 'check mode with --diff' in check and '--- before: atlas ci-deploy' in check
    assert '+++ after: woodcore payments' in check and 'would add' in check and 'added' not in check
    assert 'applied' in apply.splitlines()[0] and 'pending approval' in apply
    # every run ends with its full recap (the host line, not only the header)
    assert len(re.findall(r'^web001\s+: ok=\d+', out, re.M)) == 4  # runs 1a, 1b, 2, 3
    summary_names = set(re.findall(r'"atlas    (\S+)', out))
    final = out.split('== Final state')[1]
    final_names = set(re.findall(r'^atlas    (\S+)', final, re.M))
    assert summary_names == {'ci-deploy', 'analytics', 'backup', 'automation'}
    assert summary_names <= final_names
    # every kind of list (issue 21): the service account, and the project lists with per-host comments
    # ("fleet: <host>", the role's comment prefix; batch001 is 192.0.2.1 in playbooks/demo/inventory.yml)
    assert re.search(r'^atlas-sa ci-runner +120 entries: 192\.0\.2\.1/32, ', final, re.M), final
    prod = re.search(r'^project  prod +(.*)$', final, re.M).group(1)
    assert prod.startswith('121 entries: 203.0.113.192/26 "office VPN", 192.0.2.1/32 "fleet: batch001", '), prod
    assert 'temporary' not in prod
    # and the temporary one: staging's entries carry one expiry, 8 hours from the run (run.sh's demo_staging_until)
    staging = re.search(r'^project  staging +(.*)$', final, re.M).group(1)
    assert staging.startswith('120 entries: 192.0.2.1/32 "fleet: batch001", '), staging
    until = re.search(r'\(temporary: Atlas deletes them at (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)\)$', staging)
    assert until, staging
    expiry = datetime.datetime.strptime(until.group(1), '%Y-%m-%dT%H:%M:%SZ').replace(tzinfo=datetime.timezone.utc)
    finished = datetime.datetime.now(datetime.timezone.utc)
    eight_hours = datetime.timedelta(hours=8)
    assert started + eight_hours - datetime.timedelta(seconds=1) <= expiry <= finished + eight_hours, until.group(1)
    assert 'writes during run 3: atlas 0, woodcore 0' in out
    # the last step: the access audit, which writes nothing and leaves one report
    audit = out.split('== Audit:')[1]
    assert re.search(r'\d+ critical, \d+ high, \d+ medium, \d+ low, \d+ info; 11 targets read', audit), audit
    assert 'writes during the audit: atlas 0, woodcore 0' in audit
    assert (ROOT / 'access-report' / 'access-report.html').is_file()
