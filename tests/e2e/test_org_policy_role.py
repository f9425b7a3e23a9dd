# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""fleet_whitelist_atlas_org_policy (issue 20) with real ansible-playbook runs: the organization's API access-list
requirement is switched on only after the lists converged, so a first rollout locks nobody out."""

from __future__ import annotations

import json
import re

import pytest

from ansible_collections.apiaccess.ipwhitelist.tests.simulators.atlas import AtlasSimulator
from ansible_collections.apiaccess.ipwhitelist.tests.unit.conftest import (
    CLIENT_ID, KEY2_ID, KEY_ID, ORG, PRIVATE, PUBLIC, SA_ID, atlas_seed,
)

ROOT_PLAYBOOK = '../../../playbooks/fleet.yml'
SETTINGS = '/api/atlas/v2/orgs/%s/settings' % ORG
FLEET = {'app1': {'fleet_whitelist_address': '203.0.113.10'}, 'app2': {'fleet_whitelist_address': '203.0.113.11'}}


def first_rollout_seed():
    """A first rollout: the second key and the OAuth service account have no entry yet."""
    data = atlas_seed(entries=['192.0.2.10'])
    data['orgs'][0]['api_keys'][1]['access_list'] = []
    data['service_accounts'][0]['access_list'] = []  # CLIENT_ID
    return data


@pytest.fixture
def sim():
    # the controller calls from the fleet's first address, which the rollout puts on the calling key's list
    with AtlasSimulator(seed=first_rollout_seed(), caller_ip='203.0.113.10') as simulator:
        yield simulator


def inventory(tmp_path):
    path = tmp_path / 'inventory.json'
    path.write_text(json.dumps({'all': {
        'vars': {'ansible_connection': 'local', 'ansible_python_interpreter': '{{ ansible_playbook_python }}'},
        'children': {'fleet': {'hosts': FLEET}}}}))
    return str(path)


def role_vars(**policy):
    return {
        'fleet_whitelist_atlas_keys': [{'name': 'main', 'org_id': ORG, 'api_key': KEY_ID},
                                       {'name': 'reporting', 'org_id': ORG, 'api_key': KEY2_ID}],
        'fleet_whitelist_atlas_service_accounts': [
            {'name': 'automation', 'org_id': ORG, 'service_account': CLIENT_ID},
            {'name': 'runner', 'org_id': ORG, 'service_account': SA_ID}],
        'fleet_whitelist_atlas_org_policy': [dict({'org_id': ORG, 'require_api_access_list': True}, **policy)],
    }


def env_for(sim):
    return {'MONGODB_ATLAS_BASE_URL': sim.url, 'MONGODB_ATLAS_PUBLIC_API_KEY': PUBLIC,
            'MONGODB_ATLAS_PRIVATE_API_KEY': PRIVATE}


def answered(sim):
    return [e for e in sim.log if e['status'] != 401]


def recap_changed(run):
    match = re.search(r'app1\s*:\s*ok=\d+\s+changed=(\d+)', run.stdout)
    assert match, run.output[-3000:]
    return int(match.group(1))


def required(sim):
    return sim.org_settings_of(ORG)['apiAccessListRequired']


def test_a_first_rollout_converges_the_lists_before_it_requires_them(tmp_path, sim, ansible_playbook):
    run = ansible_playbook(ROOT_PLAYBOOK, '-i', inventory(tmp_path), extra_vars=role_vars(), env=env_for(sim))
    assert run.rc == 0, run.output[-3000:]
    assert required(sim) is True
    log = answered(sim)
    patches = [i for i, e in enumerate(log) if e['method'] == 'PATCH']
    posts = [i for i, e in enumerate(log) if e['method'] == 'POST' and e['path'].endswith('/accessList')]
    assert len(patches) == 1 and log[patches[0]]['path'] == SETTINGS
    # the rollout gave all four lists their entries (the two empty ones among them), every POST before the PATCH
    assert len(posts) == 4 and max(posts) < patches[0]
    assert sim.access_list(ORG, KEY2_ID) == ['203.0.113.10/32', '203.0.113.11/32']
    assert sim.sa_access_list(CLIENT_ID) == ['203.0.113.10/32', '203.0.113.11/32']
    # the second run changes nothing and writes nothing
    writes = len(sim.writes())
    run = ansible_playbook(ROOT_PLAYBOOK, '-i', inventory(tmp_path), extra_vars=role_vars(), env=env_for(sim))
    assert run.rc == 0 and len(sim.writes()) == writes, run.output[-3000:]
    assert recap_changed(run) == 0


def test_a_list_that_fails_to_converge_leaves_the_requirement_alone(tmp_path, sim, ansible_playbook):
    sim.add_fault('status', method='POST', path='/apiKeys/%s/accessList' % KEY2_ID, status=400, times=10,
                  body={'error': 400, 'errorCode': 'INVALID_ATTRIBUTE', 'detail': 'refused', 'reason': 'Bad Request',
                        'parameters': []})
    run = ansible_playbook(ROOT_PLAYBOOK, '-i', inventory(tmp_path), extra_vars=role_vars(), env=env_for(sim))
    assert run.rc != 0
    assert [e for e in sim.log if e['method'] == 'PATCH'] == [] and required(sim) is False


def test_an_unmanaged_key_without_entries_is_refused_after_the_lists(tmp_path, sim, ansible_playbook):
    data = first_rollout_seed()
    data['orgs'][0]['api_keys'].append({'id': '6a0000000000000000000009', 'publicKey': 'forgottn',
                                        'desc': 'nobody manages me', 'access_list': []})
    sim.reset(data)
    run = ansible_playbook(ROOT_PLAYBOOK, '-i', inventory(tmp_path), extra_vars=role_vars(), env=env_for(sim))
    assert run.rc != 0
    assert 'API key forgottn (6a0000000000000000000009, \\"nobody manages me\\") has an empty access list' \
        in run.stdout or 'API key forgottn (6a0000000000000000000009, "nobody manages me")' in run.stdout, \
        run.output[-3000:]
    assert [e for e in sim.log if e['method'] == 'PATCH'] == [] and required(sim) is False
    # the lists were converged all the same
    assert sim.access_list(ORG, KEY2_ID) == ['203.0.113.10/32', '203.0.113.11/32']
    # the override switches it on, and the warning names the key
    run = ansible_playbook(ROOT_PLAYBOOK, '-i', inventory(tmp_path), extra_vars=role_vars(allow_lockout=True),
                           env=env_for(sim))
    assert run.rc == 0 and required(sim) is True, run.output[-3000:]
    assert '[WARNING]' in run.output and 'allow_lockout=true' in run.output and 'forgottn' in run.output


def test_check_mode_writes_nothing_and_says_the_requirement_waits_for_the_lists(tmp_path, sim, ansible_playbook):
    run = ansible_playbook(ROOT_PLAYBOOK, '-i', inventory(tmp_path), '--check', extra_vars=role_vars(),
                           env=env_for(sim))
    assert run.rc == 0, run.output[-3000:]
    assert sim.writes() == [] and required(sim) is False
    assert 'is checked in the real run' in run.stdout
    assert not [e for e in sim.log if e['path'] == SETTINGS]


def test_check_mode_predicts_the_requirement_once_the_lists_are_right(tmp_path, sim, ansible_playbook):
    lists_only = dict(role_vars(), fleet_whitelist_atlas_org_policy=[])
    run = ansible_playbook(ROOT_PLAYBOOK, '-i', inventory(tmp_path), extra_vars=lists_only, env=env_for(sim))
    assert run.rc == 0 and required(sim) is False, run.output[-3000:]
    writes = len(sim.writes())
    run = ansible_playbook(ROOT_PLAYBOOK, '-i', inventory(tmp_path), '--check', '--diff', extra_vars=role_vars(),
                           env=env_for(sim))
    assert run.rc == 0, run.output[-3000:]
    assert len(sim.writes()) == writes and required(sim) is False
    assert recap_changed(run) == 1  # the requirement, predicted
    assert '"apiAccessListRequired": true' in run.stdout or 'apiAccessListRequired' in run.stdout
