# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The project IP access list with real ansible-playbook runs: the module through its features, and the
role with API-key, service-account and project targets in one run. Requests are counted by the simulator."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ansible_collections.apiaccess.ipwhitelist.tests.e2e.conftest import BIN, PLAYBOOKS, ROOT, _env
from ansible_collections.apiaccess.ipwhitelist.tests.unit.conftest import (
    CLIENT_ID, CLIENT_SECRET, KEY2_ID, ORG, PRIVATE, PROJECT, PUBLIC, SA_NAME, atlas_seed,
)

FLEET = '../../../playbooks/fleet.yml'
LIST = '/api/atlas/v2/groups/%s/accessList' % PROJECT


def digest_env(atlas):
    return {'MONGODB_ATLAS_BASE_URL': atlas.url, 'MONGODB_ATLAS_PUBLIC_API_KEY': PUBLIC,
            'MONGODB_ATLAS_PRIVATE_API_KEY': PRIVATE}


@pytest.fixture
def project(atlas):
    seed = atlas_seed()
    seed['projects'][0]['access_list'] = [{'address': '192.0.2.5', 'comment': 'bastion'}]
    atlas.reset(seed)
    atlas.update_settings({'status_pending_reads': 1})
    return atlas


@pytest.mark.parametrize('drift_setting', ['update', 'ignore', 'conflict'])
def test_playbook_through_every_feature(project, ansible_playbook, drift_setting):
    run = ansible_playbook('project.yml', extra_vars={'project_id': PROJECT, 'sim_url': project.url,
                                                      'drift_setting': drift_setting}, env=digest_env(project))
    assert run.rc == 0, run.output[-4000:]
    assert run.recap()['failed'] == 0
    posts = [e for e in project.log if e['method'] == 'POST' and e['path'] == LIST]
    # add, rename (the drift update), temporary, the refused security group, wait: one POST each; the check
    # mode run and the refusal past a week send none
    assert len(posts) == 5
    deletes = [e for e in project.log if e['method'] == 'DELETE']
    assert [e['path'] for e in deletes] == [LIST + '/198.51.100.0%2F24']  # never a delete to change a comment


def test_role_with_key_service_account_and_project_targets(tmp_path, project, woodcore, ansible_playbook):
    inventory = tmp_path / 'inventory.json'
    hosts = dict(('web%03d' % i, {'fleet_whitelist_address': '203.0.113.%d' % i}) for i in range(1, 5))
    hosts['db1'] = {'fleet_whitelist_address': '198.51.100.9'}
    inventory.write_text(json.dumps({'all': {
        'vars': {'ansible_connection': 'local', 'ansible_python_interpreter': '{{ ansible_playbook_python }}'},
        'children': {'fleet': {'hosts': hosts}}}}))
    extra = {
        'fleet_whitelist_merge_cidrs': True,
        'fleet_whitelist_atlas_keys': [{'name': 'deploy-key', 'org_id': ORG, 'api_key': KEY2_ID}],
        'fleet_whitelist_atlas_service_accounts': [{'name': 'ci', 'org_id': ORG, 'service_account': SA_NAME}],
        'fleet_whitelist_atlas_projects': [{'name': 'prod', 'project': 'prod', 'purge': True,
                                            'keep': ['192.0.2.0/24'], 'wait': True}],
    }
    env = {'MONGODB_ATLAS_BASE_URL': project.url, 'MONGODB_ATLAS_CLIENT_ID': CLIENT_ID,
           'MONGODB_ATLAS_CLIENT_SECRET': CLIENT_SECRET}
    run = ansible_playbook(FLEET, '-i', str(inventory), extra_vars=extra, env=env)
    assert run.rc == 0, run.output[-4000:]
    assert 'atlas    deploy-key               added' in run.stdout
    assert 'atlas-sa ci                       added' in run.stdout
    assert 'project  prod                     added 198.51.100.9/32, 203.0.113.1/32, 203.0.113.2/31, ' \
           '203.0.113.4/32; removed nothing' in run.stdout
    comments = project.project_access_list(PROJECT)
    assert comments == {'192.0.2.5/32': 'bastion', '198.51.100.9/32': 'fleet: db1', '203.0.113.1/32': 'fleet: web001',
                        '203.0.113.2/31': 'fleet: 2 hosts (web002, web003)', '203.0.113.4/32': 'fleet: web004'}
    assert project.token_requests == 1
    writes = len([e for e in project.log if e['method'] != 'GET' and e['path'] != '/api/oauth/token'])
    again = ansible_playbook(FLEET, '-i', str(inventory), extra_vars=extra, env=env)
    assert again.rc == 0 and again.stdout.count('unchanged') == 3, again.output[-3000:]
    assert len([e for e in project.log if e['method'] != 'GET' and e['path'] != '/api/oauth/token']) == writes


def test_two_runs_at_once_on_one_project_end_with_both(tmp_path, project):
    """The API takes no concurrent POSTs: the second run's POST conflicts, it re-reads, waits and posts what is
    still missing. Two real processes."""
    project.update_settings({'project_post_busy_seconds': 0.5, 'project_concurrent_post': 'conflict'})
    project.add_fault('slow_response', method='POST', path='accessList$', seconds=1.0, times=1)
    procs = []
    for ip in ('203.0.113.50', '203.0.113.51'):
        cmd = [str(BIN / 'ansible'), 'localhost', '-m', 'apiaccess.ipwhitelist.atlas_project_whitelist', '-a',
               json.dumps(dict(project_id=PROJECT, entries=[ip]))]
        procs.append(subprocess.Popen(cmd, env=_env(tmp_path, dict(digest_env(project),
                                                                   ANSIBLE_STDOUT_CALLBACK='ansible.builtin.minimal')),
                                      cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert {'203.0.113.50/32', '203.0.113.51/32'} <= set(project.project_access_list(PROJECT))
    assert sys.executable and PLAYBOOKS


def test_playbook_security_groups_transient_500_and_failed_status(project, ansible_playbook):
    project.projects[PROJECT]['peering'] = True
    run = ansible_playbook('project_more.yml', '--diff', extra_vars={'project_id': PROJECT, 'sim_url': project.url},
                           env=digest_env(project))
    assert run.rc == 0, run.output[-4000:]
    assert run.recap()['failed'] == 0
    assert '+        "sg-0123456789"' in run.stdout  # the diff shows it
    posts = [e['status'] for e in project.log if e['method'] == 'POST' and e['path'] == LIST]
    assert posts == [201, 500, 201, 201]  # the 500 was followed by a re-read, then one POST of what was missing
    assert 'sg-0123456789' in project.project_access_list(PROJECT)
