# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""atlas_project_whitelist(_info) in-process against the Atlas simulator, for every value of the project
list's settings that stand for unknowns."""

from __future__ import annotations

import ipaddress
import time

import pytest

from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import atlas as atlas_utils
from ansible_collections.apiaccess.ipwhitelist.plugins.modules import atlas_project_whitelist as module
from ansible_collections.apiaccess.ipwhitelist.plugins.modules import atlas_project_whitelist_info as info
from ansible_collections.apiaccess.ipwhitelist.tests.unit.conftest import (
    PRIVATE, PROJECT, PUBLIC, atlas_seed, run_module, warning_texts,
)

LIST = '/api/atlas/v2/groups/%s/accessList' % PROJECT
BY_NAME = '/api/atlas/v2/groups/byName/prod'
DEFAULT = atlas_utils.DEFAULT_COMMENT


@pytest.fixture
def project(atlas):
    """The seed's project, with a bastion entry and an unmanaged one."""
    seed = atlas_seed()
    seed['projects'][0].update(access_list=[{'address': '192.0.2.5', 'comment': 'bastion'},
                                            {'address': '10.20.0.0/16', 'comment': 'old VPN'}])
    atlas.reset(seed)
    return atlas


def args(sim, **kwargs):
    base = dict(base_url=sim.url, public_key=PUBLIC, private_key=PRIVATE, project_id=PROJECT, retries=0)
    base.update(kwargs)
    return base


def calls(sim):
    return [(e['method'], e['path']) for e in sim.log if e['status'] != 401]


def writes(sim):
    return [e for e in sim.log if e['method'] != 'GET' and e['status'] != 401]


def iso(seconds_ahead):
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(time.time() + seconds_ahead))


def test_add_with_comments_then_idempotent(capsys, project):
    entries = ['203.0.113.10', {'cidr': '198.51.100.0/24', 'comment': 'office VPN'}]
    failed, result = run_module(capsys, module.main, args(project, entries=entries), diff=True)
    assert not failed and result['added'] == ['198.51.100.0/24', '203.0.113.10/32']
    assert calls(project) == [('GET', LIST), ('POST', LIST)]
    assert project.project_access_list(PROJECT) == {'192.0.2.5/32': 'bastion', '10.20.0.0/16': 'old VPN',
                                                    '203.0.113.10/32': DEFAULT, '198.51.100.0/24': 'office VPN'}
    assert result['diff']['after']['entries'] == ['10.20.0.0/16', '192.0.2.5/32', '198.51.100.0/24', '203.0.113.10/32']
    project.log.clear()
    failed, result = run_module(capsys, module.main, args(project, entries=entries))
    assert not failed and not result['changed'] and writes(project) == [] and result['drift'] == []


def test_project_by_name(capsys, project):
    by_name = args(project, project='prod', entries=['192.0.2.5'])
    del by_name['project_id']
    failed, result = run_module(capsys, module.main, by_name)
    assert not failed and result['project_id'] == PROJECT and calls(project) == [('GET', BY_NAME), ('GET', LIST)]
    failed, result = run_module(capsys, module.main, dict(by_name, project='nope'))
    assert failed and "no project named 'nope'" in result['msg']


@pytest.mark.parametrize('setting, applied', [('update', True), ('ignore', False), ('conflict', False)])
def test_comment_drift_in_every_setting(capsys, project, setting, applied):
    project.update_settings({'project_post_existing': setting})
    entries = [{'cidr': '192.0.2.5', 'comment': 'bastion (jump host)'}]
    failed, result = run_module(capsys, module.main, args(project, entries=entries), check_mode=True)
    assert not failed and result['changed'] and result['updated'] == ['192.0.2.5/32'] and writes(project) == []
    failed, result = run_module(capsys, module.main, args(project, entries=entries))
    assert not failed
    posts = [e for e in writes(project) if e['method'] == 'POST']
    assert len(posts) == 1 and [e for e in writes(project) if e['method'] == 'DELETE'] == []  # never delete+re-add
    if applied:
        assert result['changed'] and result['updated'] == ['192.0.2.5/32'] and result['drift'] == []
        assert project.project_access_list(PROJECT)['192.0.2.5/32'] == 'bastion (jump host)'
    else:
        assert not result['changed'] and result['updated'] == []
        assert result['drift'] == [{'entry': '192.0.2.5/32', 'field': 'comment', 'current': 'bastion',
                                    'wanted': 'bastion (jump host)'}]
        assert any('did not apply the update' in w for w in warning_texts(result))
        assert project.project_access_list(PROJECT)['192.0.2.5/32'] == 'bastion'
    # report mode: drift is reported, nothing is sent for it
    project.log.clear()
    failed, result = run_module(capsys, module.main, args(project, entries=entries, comment_drift='report'))
    assert not failed and writes(project) == [] and not result['changed']
    assert (result['drift'] == []) == applied


def test_entries_without_a_comment_do_not_drift(capsys, project):
    failed, result = run_module(capsys, module.main, args(project, entries=['192.0.2.5', '10.20.0.0/16']))
    assert not failed and not result['changed'] and writes(project) == []


def test_purge_with_keep(capsys, project):
    failed, result = run_module(capsys, module.main, args(project, entries=['203.0.113.10'], purge=True,
                                                          keep=['192.0.2.0/24']))
    assert not failed and result['removed'] == ['10.20.0.0/16'] and result['added'] == ['203.0.113.10/32']
    assert calls(project) == [('GET', LIST), ('POST', LIST), ('DELETE', LIST + '/10.20.0.0%2F16')]
    assert sorted(project.project_access_list(PROJECT)) == ['192.0.2.5/32', '203.0.113.10/32']


def test_temporary_entries_expire(capsys, project):
    before = time.time()
    failed, result = run_module(capsys, module.main, args(project, entries=[{'cidr': '203.0.113.20',
                                                                             'delete_after': '2h'}]))
    after = time.time()
    assert not failed and result['added'] == ['203.0.113.20/32']
    listed = dict((e['entry'], e) for e in run_module(capsys, info.main, args(project))[1]['entries'])
    expiry = atlas_utils.parse_time(listed['203.0.113.20/32']['delete_after'])
    # two hours from when the module ran, however long it took (the time on the wire is in whole seconds)
    assert int(before) + 7200 <= expiry <= after + 7200
    with project.lock:
        project.clock_offset += 7300  # the simulated clock passes the expiry
    assert '203.0.113.20/32' not in project.project_access_list(PROJECT)


def test_an_absolute_expiry_and_extending_a_temporary_entry(capsys, project):
    failed, result = run_module(capsys, module.main, args(project, entries=['203.0.113.20'], delete_after=iso(3600)))
    assert not failed and result['added'] == ['203.0.113.20/32']
    failed, result = run_module(capsys, module.main, args(project, entries=['203.0.113.20'], delete_after='5h'))
    assert not failed and result['updated'] == ['203.0.113.20/32']


# absolute times are made in the test, not at collection: pytest-xdist workers must collect the same ids
@pytest.mark.parametrize('value, message', [
    ('8d', 'more than one week ahead'),
    ('200h', 'more than one week ahead'),
    (8 * 86400, 'more than one week ahead'),
    (-60, 'is in the past'),
    ('tomorrow', 'neither an ISO 8601 time'),
])
def test_expiry_refused_before_any_request(capsys, project, value, message):
    value = iso(value) if isinstance(value, int) else value
    failed, result = run_module(capsys, module.main, args(project, entries=[{'cidr': '203.0.113.20',
                                                                             'delete_after': value}]))
    assert failed and message in result['msg'] and project.log == []


@pytest.mark.parametrize('peering', [True, False])
def test_security_groups(capsys, project, peering):
    project.projects[PROJECT]['peering'] = peering
    failed, result = run_module(capsys, module.main, args(project, entries=[{'aws_security_group': 'sg-0123456789',
                                                                             'comment': 'app tier'}]))
    if peering:
        assert not failed and result['added'] == ['sg-0123456789']
        assert project.project_access_list(PROJECT)['sg-0123456789'] == 'app tier'
        failed, result = run_module(capsys, module.main, args(project, entries=[{'aws_security_group': 'sg-0123456789'}],
                                                              purge=True, keep=['192.0.2.5']))
        assert not failed and result['removed'] == ['10.20.0.0/16'] and 'sg-0123456789' in result['entries']
        failed, result = run_module(capsys, module.main, args(project, entries=[{'aws_security_group': 'sg-0123456789'}],
                                                              state='absent'))
        assert not failed and result['removed'] == ['sg-0123456789']
        assert [e['path'] for e in project.log if e['method'] == 'DELETE'][-1] == LIST + '/sg-0123456789'
    else:
        assert failed and result['error_code'] == 'CANNOT_USE_AWS_SECURITY_GROUP_WITHOUT_VPC_PEERING_CONNECTION'
        assert result['changed'] is False


def test_a_security_group_cannot_be_temporary(capsys, project):
    failed, result = run_module(capsys, module.main, args(project, entries=[{'aws_security_group': 'sg-01',
                                                                             'delete_after': '2h'}]))
    assert failed and 'cannot be a temporary entry' in result['msg'] and project.log == []


@pytest.mark.parametrize('pending_reads', [0, 2])
def test_wait_through_pending_to_active(capsys, project, monkeypatch, pending_reads):
    slept = []
    monkeypatch.setattr(atlas_utils.time, 'sleep', slept.append)
    project.update_settings({'status_pending_reads': pending_reads})
    failed, result = run_module(capsys, module.main, args(project, entries=['203.0.113.10', '203.0.113.11'],
                                                          wait=True))
    assert not failed and result['status'] == {'203.0.113.10/32': 'ACTIVE', '203.0.113.11/32': 'ACTIVE'}
    statuses = [e for e in project.log if e['path'].endswith('/status')]
    assert len(statuses) == 2 * (pending_reads + 1) and slept == [1.0, 2.0][:pending_reads]


def test_wait_reports_failed_entries(capsys, project, monkeypatch):
    monkeypatch.setattr(atlas_utils.time, 'sleep', lambda s: None)
    project.update_settings({'status_result': 'FAILED'})
    failed, result = run_module(capsys, module.main, args(project, entries=['203.0.113.10'], wait=True))
    assert failed and result['changed'] is True and result['added'] == ['203.0.113.10/32']
    assert 'FAILED (Atlas did not apply them): 203.0.113.10/32' in result['msg']
    assert result['status'] == {'203.0.113.10/32': 'FAILED'}


def test_wait_timeout_names_the_pending_entries(capsys, project, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(atlas_utils.time, 'sleep', lambda s: clock.__setitem__(0, clock[0] + s))
    monkeypatch.setattr(atlas_utils.time, 'time', lambda: clock[0])
    project.update_settings({'status_pending_reads': 100})
    failed, result = run_module(capsys, module.main, args(project, entries=['203.0.113.10'], wait=True,
                                                          wait_timeout=20))
    assert failed and 'still PENDING after 20s: 203.0.113.10/32' in result['msg']
    assert len([e for e in project.log if e['path'].endswith('/status')]) <= 6  # 1+2+4+8+5: bounded


@pytest.mark.parametrize('answer', ['conflict', 'error'])
@pytest.mark.parametrize('meanwhile', [[], ['203.0.113.32/32'], ['203.0.113.31/32', '203.0.113.32/32']],
                         ids=['nothing', 'another', 'the same'])
def test_concurrent_posts_are_resolved_by_re_reading(capsys, project, answer, meanwhile, monkeypatch):
    """Two runs at once on one project: Atlas refuses the second POST while the first is applied; the
    second run re-reads and posts only what is still missing, and both runs' entries end on the list.
    ``meanwhile``: what the other run's POST adds while this one waits; an entry it added is not sent again."""
    # the simulator's clock stands still but for the runs' own waits: the second POST always comes while the
    # first is being applied, and the second run's wait (1 s) always outlasts it, however slow the machine is
    clock = [time.time()]
    pending = [ipaddress.ip_network(entry) for entry in meanwhile]

    def wait(seconds):
        clock[0] += seconds
        with project.lock:
            while pending:
                key = pending.pop()
                project.projects[PROJECT]['access_list'][key] = project._project_entry(key)

    monkeypatch.setattr(project, 'now', lambda: clock[0])
    monkeypatch.setattr(atlas_utils.time, 'sleep', wait)
    project.update_settings({'project_post_busy_seconds': 0.5, 'project_concurrent_post': answer})
    failed, result = run_module(capsys, module.main, args(project, entries=['203.0.113.30']))
    assert not failed and result['added'] == ['203.0.113.30/32']
    del project.log[:]
    failed, result = run_module(capsys, module.main, args(project, entries=['203.0.113.31']))
    assert not failed
    refused = 409 if answer == 'conflict' else 500
    sent_again = '203.0.113.31/32' not in meanwhile
    # the refused POST is followed by a read, and the entry is posted again only when that read lacks it
    assert [(e['method'], e['status']) for e in project.log if e['status'] != 401] == \
        [('GET', 200), ('POST', refused), ('GET', 200)] + ([('POST', 201)] if sent_again else [])
    # this run added the entry when its own POST went through, or when a 500 (which may have acted) is settled
    # by the read; a 409 refused it, so an entry the other run added is not this run's
    assert result['added'] == (['203.0.113.31/32'] if sent_again or answer == 'error' else [])
    assert {'203.0.113.30/32', '203.0.113.31/32'} <= set(project.project_access_list(PROJECT))


def test_transient_500_that_acted_is_not_re_sent(capsys, project):
    project.add_fault('status_after', method='POST', status=500, times=1)
    failed, result = run_module(capsys, module.main, args(project, entries=['203.0.113.40']))
    assert not failed and result['added'] == ['203.0.113.40/32']
    # the POST acted, its answer was a 500: one re-read shows it there, nothing is sent again
    assert [m for m, p in calls(project)] == ['GET', 'POST', 'GET']


def test_transient_500_that_did_not_act_posts_what_is_missing(capsys, project):
    project.add_fault('status', method='POST', status=500, times=1)
    failed, result = run_module(capsys, module.main, args(project, entries=['203.0.113.40']))
    assert not failed and [m for m, p in calls(project)] == ['GET', 'POST', 'GET', 'POST']
    assert '203.0.113.40/32' in project.project_access_list(PROJECT)


def test_check_mode_and_diff_send_no_write(capsys, project):
    failed, result = run_module(capsys, module.main, args(project, entries=['203.0.113.10'], purge=True),
                                check_mode=True, diff=True)
    assert not failed and result['changed'] and result['removed'] == ['10.20.0.0/16', '192.0.2.5/32']
    assert writes(project) == [] and result['diff']['after'] == {'entries': ['203.0.113.10/32']}


def test_current_ip_with_a_two_hour_expiry(capsys, project):
    project.update_settings({'caller_ip': '198.51.100.88'})
    failed, result = run_module(capsys, module.main, args(project, current_ip=True, delete_after='2h',
                                                          comment='CI job 42'))
    assert not failed and result['added'] == ['198.51.100.88/32'] and result['current_ip'] == '198.51.100.88/32'
    assert project.project_access_list(PROJECT)['198.51.100.88/32'] == 'CI job 42'


@pytest.mark.parametrize('bad, message', [
    (dict(entries=[{'cidr': '203.0.113.1', 'comment': 'x' * 81}]), 'Atlas takes at most 80'),
    (dict(entries=[{'cidr': '203.0.113.1', 'aws_security_group': 'sg-1'}]), 'exactly one of cidr and aws_security_group'),
    (dict(entries=[{'ip': '203.0.113.1'}]), "unknown keys ip"),
    (dict(entries=[{'aws_security_group': 'sgx-1'}]), "'sgx-1' is not a security group ID"),
    (dict(entries=['203.0.113.0/33']), "'203.0.113.0/33'"),
    (dict(remove_unused_after='90d'), 'needs usage data'),
    (dict(project_id='nothex'), "project_id 'nothex' is not an Atlas project ID"),
])
def test_bad_input_fails_before_any_request(capsys, project, bad, message):
    failed, result = run_module(capsys, module.main, args(project, **bad))
    assert failed and message in result['msg'] and project.log == [], result['msg']


def test_info_with_status_and_the_audit(capsys, project):
    failed, result = run_module(capsys, info.main, args(project, status=True))
    assert not failed and [(e['entry'], e['comment'], e['status']) for e in result['entries']] == [
        ('10.20.0.0/16', 'old VPN', 'PENDING'), ('192.0.2.5/32', 'bastion', 'PENDING')]
    audit = args(project)
    del audit['project_id']
    failed, result = run_module(capsys, info.main, audit)
    assert not failed and [(p['id'], p['name'], len(p['entries'])) for p in result['projects']] == [(PROJECT, 'prod', 2)]


def test_the_project_bucket_answers_with_its_own_headers(capsys, project):
    run_module(capsys, module.main, args(project, entries=['192.0.2.5']))
    assert project.log[-1]['status'] == 200
