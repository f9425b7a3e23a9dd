# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Service accounts with real ansible-playbook runs: the module, the migration playbook and the role
with API-key and service-account targets in one run. Requests are counted by the simulator."""

from __future__ import annotations

import json

from ansible_collections.apiaccess.ipwhitelist.tests.e2e.conftest import ROOT
from ansible_collections.apiaccess.ipwhitelist.tests.unit.conftest import (
    CLIENT_ID, CLIENT_SECRET, KEY2_ID, KEY_ID, ORG, PRIVATE, PUBLIC, SA_ID, SA_NAME, atlas_seed,
)

MIGRATE = '../../../playbooks/migrate-apikey-to-service-account.yml'
FLEET = '../../../playbooks/fleet.yml'
SA_LIST = '/api/atlas/v2/orgs/%s/serviceAccounts/%s/accessList' % (ORG, SA_ID)


def oauth_env(atlas):
    return {'MONGODB_ATLAS_BASE_URL': atlas.url, 'MONGODB_ATLAS_CLIENT_ID': CLIENT_ID,
            'MONGODB_ATLAS_CLIENT_SECRET': CLIENT_SECRET}


def writes(atlas):
    return [e for e in atlas.log if e['method'] != 'GET' and e['path'] != '/api/oauth/token']


def test_playbook_flow(atlas, ansible_playbook):
    """add -> idempotent -> purge with keep -> absent, check mode and diff, name resolution, current_ip."""
    atlas.update_settings({'caller_ip': '198.51.100.77'})
    run = ansible_playbook('service_account.yml', '--diff', extra_vars={'org_id': ORG, 'sa_name': SA_NAME},
                           env=oauth_env(atlas))
    assert run.rc == 0, run.output[-4000:]
    assert run.recap()['failed'] == 0
    assert sorted(atlas.sa_access_list(SA_ID)) == ['198.51.100.77/32', '203.0.113.5/32']
    assert '+        "203.0.113.5/32"' in run.stdout  # the diff of the first task


def test_migration_playbook_copies_the_union_and_removes_nothing(atlas, ansible_playbook):
    extra = {'migrate_org_id': ORG, 'migrate_api_keys': [PUBLIC, KEY2_ID], 'migrate_service_account': SA_NAME}
    env = {'MONGODB_ATLAS_BASE_URL': atlas.url, 'MONGODB_ATLAS_PUBLIC_API_KEY': PUBLIC,
           'MONGODB_ATLAS_PRIVATE_API_KEY': PRIVATE}
    keys_before = (atlas.access_list(ORG, KEY_ID), atlas.access_list(ORG, KEY2_ID))
    plan = ansible_playbook(MIGRATE, '--check', '--diff', extra_vars=extra, env=env)
    assert plan.rc == 0, plan.output[-4000:]
    assert 'would add 3 of 3 entries from 2 key(s): 10.1.0.0/24, 192.0.2.10/32, 198.51.100.0/24' in plan.stdout
    assert writes(atlas) == []
    run = ansible_playbook(MIGRATE, extra_vars=extra, env=env)
    assert run.rc == 0 and 'added 3 of 3 entries' in run.stdout, run.output[-4000:]
    assert sorted(atlas.sa_access_list(SA_ID)) == ['10.1.0.0/24', '10.3.0.0/24', '192.0.2.10/32', '192.0.2.20/32',
                                                   '198.51.100.0/24']
    assert (atlas.access_list(ORG, KEY_ID), atlas.access_list(ORG, KEY2_ID)) == keys_before
    assert [e['method'] for e in writes(atlas)] == ['POST']
    again = ansible_playbook(MIGRATE, extra_vars=extra, env=env)
    assert again.rc == 0 and 'nothing to add' in again.stdout and len(writes(atlas)) == 1


def test_migration_refuses_more_than_an_account_holds(atlas, ansible_playbook):
    atlas.reset(atlas_seed(entries=['10.50.%d.%d' % (i // 200, i % 200 + 1) for i in range(250)]))
    extra = {'migrate_org_id': ORG, 'migrate_api_keys': [KEY_ID], 'migrate_service_account': SA_ID}
    env = {'MONGODB_ATLAS_BASE_URL': atlas.url, 'MONGODB_ATLAS_PUBLIC_API_KEY': PUBLIC,
           'MONGODB_ATLAS_PRIVATE_API_KEY': PRIVATE}
    run = ansible_playbook(MIGRATE, extra_vars=extra, env=env)
    assert run.rc != 0 and 'a service account takes at most 200' in run.stdout and writes(atlas) == []


def test_migration_needs_its_variables(atlas, ansible_playbook):
    run = ansible_playbook(MIGRATE, extra_vars={'migrate_org_id': ORG}, env=oauth_env(atlas))
    assert run.rc != 0 and 'migrate_api_keys' in run.stdout and atlas.log == []


def test_role_with_api_key_and_service_account_targets(tmp_path, atlas, woodcore, ansible_playbook):
    inventory = tmp_path / 'inventory.json'
    inventory.write_text(json.dumps({'all': {
        'vars': {'ansible_connection': 'local', 'ansible_python_interpreter': '{{ ansible_playbook_python }}'},
        'children': {'fleet': {'hosts': {'app1': {'fleet_whitelist_address': '203.0.113.10'},
                                         'app2': {'fleet_whitelist_address': '203.0.113.11'}}}}}}))
    extra = {
        'fleet_whitelist_atlas_keys': [{'name': 'deploy-key', 'org_id': ORG, 'api_key': KEY2_ID, 'purge': True}],
        'fleet_whitelist_atlas_service_accounts': [
            {'name': 'ci', 'org_id': ORG, 'service_account': SA_NAME, 'purge': True, 'keep': ['10.0.0.0/8']},
            {'name': 'automation', 'org_id': ORG, 'service_account': CLIENT_ID}],
    }
    run = ansible_playbook(FLEET, '-i', str(inventory), extra_vars=extra, env=oauth_env(atlas))
    assert run.rc == 0, run.output[-4000:]
    assert 'atlas    deploy-key               added 203.0.113.10/32, 203.0.113.11/32; removed 198.51.100.0/24' \
        in run.stdout
    assert 'atlas-sa ci                       added 203.0.113.10/32, 203.0.113.11/32; removed 192.0.2.20/32' \
        in run.stdout
    assert 'atlas-sa automation               added 203.0.113.10/32, 203.0.113.11/32; removed nothing' in run.stdout
    assert atlas.token_requests == 1  # one OAuth token for the whole run
    assert sorted(atlas.sa_access_list(SA_ID)) == ['10.3.0.0/24', '203.0.113.10/32', '203.0.113.11/32']
    assert sorted(atlas.access_list(ORG, KEY2_ID)) == ['203.0.113.10/32', '203.0.113.11/32']
    count = len(writes(atlas))
    again = ansible_playbook(FLEET, '-i', str(inventory), extra_vars=extra, env=oauth_env(atlas))
    assert again.rc == 0 and again.stdout.count('unchanged') == 3 and len(writes(atlas)) == count
    assert CLIENT_SECRET not in run.output + again.output and ROOT


def test_playbook_paging_caller_protection_and_stale_entries(atlas, ansible_playbook):
    import time
    current = ['10.200.%d.%d' % (i // 250, i % 250 + 1) for i in range(1234)]
    old = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(time.time() - 100 * 86400))
    recent = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(time.time() - 5 * 86400))
    seed = atlas_seed(sa_entries=current)
    seed['service_accounts'][0]['access_list'] = ['198.51.100.0/24', '10.9.0.0/16']  # the caller's own
    seed['service_accounts'].append({'client_id': 'mdb_sa_id_5a0000000000000000000002', 'client_secret': 's',
                                     'name': 'stale', 'orgs': [ORG], 'access_list': [
                                         {'address': '192.0.2.30', 'created': old, 'last_used': old},
                                         {'address': '192.0.2.31', 'created': old, 'last_used': recent}]})
    atlas.reset(seed)
    atlas.update_settings({'rate_limit_capacity': 0, 'sa_max_entries': 5000, 'caller_ip': '198.51.100.77',
                           'sa_caller_ip_enforcement': 'ip_not_on_list'})
    extra = {'org_id': ORG, 'big_account': SA_ID, 'big_absent': current[:10],
             'own_account': CLIENT_ID, 'stale_account': 'stale'}
    run = ansible_playbook('service_account_more.yml', extra_vars=extra, env=oauth_env(atlas))
    assert run.rc == 0, run.output[-4000:]
    big_gets = [e for e in atlas.log if e['method'] == 'GET' and e['path'] == SA_LIST and e['status'] == 200]
    assert [e['query']['pageNum'] for e in big_gets] == ['1', '2', '3']
    assert sorted(atlas.sa_access_list(CLIENT_ID)) == ['198.51.100.0/24', '203.0.113.5/32']
    assert atlas.sa_access_list('mdb_sa_id_5a0000000000000000000002') == ['192.0.2.31/32']
