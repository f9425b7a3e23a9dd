# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Real ansible-playbook and ad-hoc ansible runs against the Atlas simulator."""

from __future__ import annotations

from ansible_collections.apiaccess.ipwhitelist.tests.unit.conftest import (
    CLIENT_ID, CLIENT_SECRET, KEY_ID, ORG, PRIVATE, PUBLIC, atlas_seed,
)


def creds(sim):
    return dict(sim_url=sim.url, org_id=ORG, public_key=PUBLIC, private_key=PRIVATE)


def test_playbook_scenarios(atlas, ansible_playbook):
    run = ansible_playbook('atlas.yml', '--diff', extra_vars=creds(atlas))
    assert run.rc == 0, run.output[-4000:]
    assert run.recap()['failed'] == 0
    assert '+        "203.0.113.5/32"' in run.stdout  # the diff shows the added entry
    assert sorted(atlas.access_list(ORG, KEY_ID)) == ['10.1.0.0/24', '2001:db8:1::/48', '203.0.113.5/32']


def test_check_mode_sends_only_gets(atlas, ansible_playbook):
    run = ansible_playbook('atlas_check.yml', '--check', '--diff', extra_vars=creds(atlas))
    assert run.rc == 0, run.output[-3000:]
    assert {e['method'] for e in atlas.log} == {'GET'}
    assert '-        "192.0.2.10/32",' in run.stdout or '-        "192.0.2.10/32"' in run.stdout
    assert atlas.access_list(ORG, KEY_ID) == ['192.0.2.10/32', '10.1.0.0/24']


def test_adhoc_add_and_rerun(atlas, ansible_adhoc):
    module_args = dict(base_url=atlas.url, org_id=ORG, api_key=PUBLIC, entries=['203.0.113.5'],
                       public_key=PUBLIC, private_key=PRIVATE)
    first = ansible_adhoc('atlas_apikey_whitelist', module_args)
    assert first.rc == 0 and 'CHANGED' in first.stdout and first.result()['added'] == ['203.0.113.5/32']
    writes = len(atlas.writes())
    second = ansible_adhoc('atlas_apikey_whitelist', module_args)
    assert second.rc == 0 and second.result()['changed'] is False and len(atlas.writes()) == writes


def test_adhoc_oauth_with_environment_credentials(atlas, ansible_adhoc):
    env = {'MONGODB_ATLAS_CLIENT_ID': CLIENT_ID, 'MONGODB_ATLAS_CLIENT_SECRET': CLIENT_SECRET,
           'MONGODB_ATLAS_BASE_URL': atlas.url}
    run = ansible_adhoc('atlas_apikey_whitelist_info', dict(org_id=ORG, api_key=KEY_ID), env=env)
    assert run.rc == 0, run.output
    assert [e['entry'] for e in run.result()['entries']] == ['10.1.0.0/24', '192.0.2.10/32']
    assert atlas.token_requests == 1


def test_adhoc_bad_input_sends_nothing(atlas, ansible_adhoc):
    run = ansible_adhoc('atlas_apikey_whitelist', dict(base_url=atlas.url, org_id=ORG, api_key=KEY_ID,
                                                       entries=['0.0.0.0/0'], public_key=PUBLIC, private_key=PRIVATE))
    assert run.rc != 0 and "'0.0.0.0/0': covers too much of the internet" in run.stdout
    assert atlas.log == []


def test_adhoc_lost_post_and_429_storm(atlas, ansible_adhoc):
    atlas.update_settings({'duplicate_post': 'conflict'})
    atlas.add_fault('status', status=429, times=3, headers={'Retry-After': '0'})
    atlas.add_fault('reset_after', method='POST', times=1)
    run = ansible_adhoc('atlas_apikey_whitelist', dict(base_url=atlas.url, org_id=ORG, api_key=KEY_ID,
                                                       entries=['203.0.113.5', '203.0.113.6'],
                                                       public_key=PUBLIC, private_key=PRIVATE))
    assert run.rc == 0, run.output
    assert run.result()['added'] == ['203.0.113.5/32', '203.0.113.6/32']
    assert [e['status'] for e in atlas.log if e['method'] == 'POST'] == [200]
    assert atlas.access_list(ORG, KEY_ID).count('203.0.113.5/32') == 1


def test_adhoc_1234_entries_across_pages(atlas, ansible_adhoc):
    atlas.update_settings({'rate_limit_capacity': 0})
    current = ['10.200.%d.%d' % (i // 250, i % 250 + 1) for i in range(1234)]
    atlas.reset(atlas_seed(current))
    module_args = dict(base_url=atlas.url, org_id=ORG, api_key=KEY_ID, public_key=PUBLIC, private_key=PRIVATE,
                       entries=current[2:] + ['192.0.2.1'], purge=True)
    run = ansible_adhoc('atlas_apikey_whitelist', module_args)
    assert run.rc == 0, run.output[-2000:]
    assert run.result()['removed'] == ['10.200.0.1/32', '10.200.0.2/32'] and run.result()['requests'] == 7
    methods = [e['method'] for e in atlas.log if e['status'] != 401]
    # 3 pages, and the read of the address this run calls from (it removes entries)
    assert (methods.count('GET'), methods.count('POST'), methods.count('DELETE')) == (4, 1, 2)


def test_adhoc_legacy_whitelist_api(atlas, ansible_adhoc):
    atlas.update_settings({'v1_base_path': '/api/public/v1.0'})
    run = ansible_adhoc('atlas_apikey_whitelist', dict(
        base_url=atlas.url, org_id=ORG, api_key=KEY_ID, public_key=PUBLIC, private_key=PRIVATE,
        api_version='v1_whitelist', api_path_prefix='/api/public/v1.0', entries=['203.0.113.5']))
    assert run.rc == 0 and run.result()['added'] == ['203.0.113.5/32'], run.output[-2000:]
    assert {e['path'].split('/apiKeys/')[0] for e in atlas.log} == {'/api/public/v1.0/orgs/%s' % ORG}


def test_adhoc_purge_keeps_the_callers_own_address(atlas, ansible_adhoc):
    """The calling key purged down to a new address: Atlas would refuse to remove the caller's address
    after the POST; the plan keeps it, warns, and the run succeeds."""
    atlas.update_settings({'caller_ip': '192.0.2.10'})
    run = ansible_adhoc('atlas_apikey_whitelist', dict(
        base_url=atlas.url, org_id=ORG, api_key=KEY_ID, public_key=PUBLIC, private_key=PRIVATE,
        entries=['203.0.113.5'], purge=True))
    assert run.rc == 0, run.output
    result = run.result()
    assert result['kept_for_caller'] == ['192.0.2.10/32'] and result['removed'] == ['10.1.0.0/24']
    assert 'kept 192.0.2.10/32' in run.output and '[WARNING]' in run.output
    assert sorted(atlas.access_list(ORG, KEY_ID)) == ['192.0.2.10/32', '203.0.113.5/32']
    assert [e['status'] for e in atlas.log if e['method'] == 'DELETE'] == [204]
