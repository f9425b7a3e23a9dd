# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every module from the ad-hoc ``ansible`` command, as docs/README.md shows it. (More ad-hoc cases
for the Atlas and Woodcore modules are in test_atlas_e2e.py and test_woodcore_e2e.py.)"""

from __future__ import annotations

import json
from pathlib import Path

from ansible_collections.apiaccess.ipwhitelist.tests.unit.conftest import (
    CLIENT_ID, CLIENT_SECRET, KEY_ID, MODULES, ORG, PRIVATE, PROJECT, PUBLIC, SA_ID, SA_NAME, WC_KEY,
)


def test_atlas_info_then_manage(atlas, ansible_adhoc):
    env = {'MONGODB_ATLAS_PUBLIC_API_KEY': PUBLIC, 'MONGODB_ATLAS_PRIVATE_API_KEY': PRIVATE,
           'MONGODB_ATLAS_BASE_URL': atlas.url}
    info = ansible_adhoc('atlas_apikey_whitelist_info', dict(org_id=ORG), env=env)
    assert info.rc == 0, info.output
    keys = {k['id']: k for k in info.result()['api_keys']}
    assert [e['entry'] for e in keys[KEY_ID]['entries']] == ['10.1.0.0/24', '192.0.2.10/32']
    module_args = dict(org_id=ORG, api_key=KEY_ID, entries=['203.0.113.5'], purge=True, keep=['10.0.0.0/8'])
    run = ansible_adhoc('atlas_apikey_whitelist', module_args, '--diff', env=env)
    assert run.rc == 0 and run.result()['removed'] == ['192.0.2.10/32'], run.output
    assert sorted(atlas.access_list(ORG, KEY_ID)) == ['10.1.0.0/24', '203.0.113.5/32']


def test_woodcore_request_approve_and_read(woodcore, ansible_adhoc, tmp_path):
    env = {'WOODCORE_API_KEY': WC_KEY, 'WOODCORE_BASE_URL': woodcore.url + '/api/v2'}
    ledger = str(tmp_path / 'pending.json')
    first = ansible_adhoc('woodcore_ipwhitelist', dict(ip='203.0.113.9', pending_state_path=ledger), env=env)
    assert first.rc == 0 and first.result()['pending_approval'] is True, first.output
    otp = woodcore.emails()[0]['otp']
    second = ansible_adhoc('woodcore_ipwhitelist', dict(ip='203.0.113.9', otp=otp, pending_state_path=ledger),
                           env=env)
    assert second.rc == 0 and second.result()['changed'] is True, second.output
    info = ansible_adhoc('woodcore_ipwhitelist_info', dict(timeout=30), env=env)
    assert info.rc == 0 and info.result()['ip'] == '203.0.113.9', info.output
    assert WC_KEY not in first.output + second.output + info.output and otp not in second.output


def test_service_account_info_then_manage(atlas, ansible_adhoc):
    env = {'MONGODB_ATLAS_CLIENT_ID': CLIENT_ID, 'MONGODB_ATLAS_CLIENT_SECRET': CLIENT_SECRET,
           'MONGODB_ATLAS_BASE_URL': atlas.url}
    info = ansible_adhoc('atlas_service_account_whitelist_info', dict(org_id=ORG), env=env)
    assert info.rc == 0, info.output
    assert [a['name'] for a in info.result()['service_accounts']] == ['automation', SA_NAME]
    run = ansible_adhoc('atlas_service_account_whitelist', dict(org_id=ORG, service_account=SA_NAME,
                                                                entries=['203.0.113.5'], purge=True), '--diff', env=env)
    assert run.rc == 0 and run.result()['removed'] == ['10.3.0.0/24', '192.0.2.20/32'], run.output
    assert atlas.sa_access_list(SA_ID) == ['203.0.113.5/32'] and CLIENT_SECRET not in run.output


def test_project_info_then_manage(atlas, ansible_adhoc):
    env = {'MONGODB_ATLAS_PUBLIC_API_KEY': PUBLIC, 'MONGODB_ATLAS_PRIVATE_API_KEY': PRIVATE,
           'MONGODB_ATLAS_BASE_URL': atlas.url}
    run = ansible_adhoc('atlas_project_whitelist', dict(project='prod', entries=['203.0.113.5'], delete_after='2h'),
                        '--diff', env=env)
    assert run.rc == 0 and run.result()['added'] == ['203.0.113.5/32'], run.output
    info = ansible_adhoc('atlas_project_whitelist_info', dict(project_id=PROJECT), env=env)
    assert info.rc == 0, info.output
    entry = info.result()['entries'][0]
    assert entry['entry'] == '203.0.113.5/32' and entry['comment'] == 'managed by apiaccess.ipwhitelist'
    assert entry['delete_after']


def test_fleet_converge_for_an_inventory_group(atlas, ansible_adhoc, tmp_path):
    inventory = tmp_path / 'inventory.json'
    inventory.write_text(json.dumps({'all': {
        'vars': {'ansible_connection': 'local', 'ansible_python_interpreter': '{{ ansible_playbook_python }}'},
        'children': {'fleet': {'hosts': {'app1': {'fleet_whitelist_address': '203.0.113.10'},
                                         'app2': {'ansible_host': '203.0.113.11'}}}}}}))
    env = {'MONGODB_ATLAS_PUBLIC_API_KEY': PUBLIC, 'MONGODB_ATLAS_PRIVATE_API_KEY': PRIVATE,
           'MONGODB_ATLAS_BASE_URL': atlas.url}
    # run on localhost once; the fleet's addresses come from the hostvars of the hosts named
    args = dict(hosts=['app1', 'app2'], atlas_keys=[{'org_id': ORG, 'api_key': KEY_ID, 'purge': True}])
    run = ansible_adhoc('fleet_converge', args, '-i', str(inventory), env=env)
    assert run.rc == 0 and run.result()['converged'] is True, run.output
    assert sorted(atlas.access_list(ORG, KEY_ID)) == ['203.0.113.10/32', '203.0.113.11/32']
    writes = len(atlas.writes())
    again = ansible_adhoc('fleet_converge', args, '-i', str(inventory), env=env)
    assert again.rc == 0 and again.result()['changed'] is False and len(atlas.writes()) == writes


def test_org_access_policy_refuses_a_lockout_then_overrides_it(atlas, ansible_adhoc):
    env = {'MONGODB_ATLAS_PUBLIC_API_KEY': PUBLIC, 'MONGODB_ATLAS_PRIVATE_API_KEY': PRIVATE,
           'MONGODB_ATLAS_BASE_URL': atlas.url}
    # the seed's service account CLIENT_ID has an empty list, and 127.0.0.1 is not on the calling key's list
    refused = ansible_adhoc('atlas_org_access_policy', dict(org_id=ORG, require_api_access_list=True), env=env)
    assert refused.rc != 0 and CLIENT_ID in refused.output and 'Nothing was changed' in refused.output
    assert atlas.writes() == []
    run = ansible_adhoc('atlas_org_access_policy', dict(org_id=ORG, require_api_access_list=True, allow_lockout=True),
                        '--diff', env=env)
    assert run.rc == 0 and run.result()['changed'] is True, run.output
    assert 'allow_lockout=true' in run.output and atlas.org_settings_of(ORG)['apiAccessListRequired'] is True


def test_every_module_is_run_ad_hoc_here():
    source = Path(__file__).read_text(encoding='utf-8')
    assert [m for m in MODULES if "ansible_adhoc('%s'" % m not in source] == []


def test_access_audit_of_an_organization(atlas, ansible_adhoc, tmp_path):
    env = {'MONGODB_ATLAS_PUBLIC_API_KEY': PUBLIC, 'MONGODB_ATLAS_PRIVATE_API_KEY': PRIVATE,
           'MONGODB_ATLAS_BASE_URL': atlas.url}
    run = ansible_adhoc('access_audit', dict(audit_all=True, org_ids=[ORG], report_dir=str(tmp_path / 'report')),
                        env=env)
    assert run.rc == 0, run.output
    result = run.result()
    # the service account CLIENT_ID has no entries; the organization does not require lists
    assert [(f['code'], f['target']['name']) for f in result['findings'] if f['severity'] != 'info'][:2] == [
        ('open-to-internet', 'automation'), ('org-policy-off', ORG)]
    assert (tmp_path / 'report' / 'access-report.html').is_file() and atlas.writes() == []
    assert PRIVATE not in run.output
