# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The safety model's one places (issue 19): the --limit guard is the fleet plan's, for every kind; the
action plugin only says whether the limit narrows the play; changed after a write comes from the journal,
in the fleet and in the modules; an unexpected exception in one target is that target's failure; plan-time
caps refuse before any request."""

from __future__ import annotations

import json

import pytest
import requests

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import atlas as atlas_utils
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import fleet
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.http_client import ApiClient, ApiError, BearerAuth
from ansible_collections.apiaccess.ipwhitelist.plugins.modules import (
    atlas_apikey_whitelist, atlas_project_whitelist, woodcore_ipwhitelist,
)
from ansible_collections.apiaccess.ipwhitelist.tests.unit.conftest import (
    KEY2_ID, KEY_ID, ORG, PRIVATE, PROJECT, PUBLIC, SA_ID, WC_KEY, atlas_seed, run_module,
)

LIMIT = dict(pattern='app1', hosts=1, why="the fleet is the play's hosts")


def params(atlas_url='https://cloud.mongodb.com', fleet_hosts=None, **kwargs):
    raw = dict(fleet=fleet_hosts or {'app1': '203.0.113.10'}, atlas_base_url=atlas_url, atlas_public_key=PUBLIC,
               atlas_private_key=PRIVATE, woodcore_base_url='https://woodcore.invalid/api/v2', retries=0)
    raw.update(kwargs)
    validation = ArgumentSpecValidator(fleet.argument_spec()).validate(raw)
    assert not validation.error_messages, validation.error_messages
    return validation.validated_parameters


# every kind, and each way it can remove addresses the fleet does not list
REMOVING = [
    ('atlas_keys', {'name': 'k', 'org_id': ORG, 'api_key': KEY_ID, 'purge': True}, 'Atlas key k purges'),
    ('atlas_keys', {'name': 'k', 'org_id': ORG, 'api_key': KEY_ID, 'remove_unused_after': '30d'},
     'Atlas key k removes entries unused for 30d'),
    ('atlas_service_accounts', {'name': 's', 'org_id': ORG, 'service_account': SA_ID, 'purge': True},
     'Atlas service account s purges'),
    ('atlas_service_accounts', {'name': 's', 'project_id': PROJECT, 'service_account': SA_ID,
                                'remove_unused_after': '30d'}, 'Atlas service account s removes entries unused'),
    ('atlas_projects', {'name': 'p', 'project_id': PROJECT, 'purge': True}, 'Atlas project p purges'),
    ('woodcore_keys', {'name': 'w', 'api_key': WC_KEY}, 'Woodcore key w takes its one IP from the fleet'),
]
ADDING_ONLY = [
    ('atlas_keys', {'name': 'k', 'org_id': ORG, 'api_key': KEY_ID}),
    ('atlas_service_accounts', {'name': 's', 'org_id': ORG, 'service_account': SA_ID}),
    ('atlas_projects', {'name': 'p', 'project_id': PROJECT}),
    ('woodcore_keys', {'name': 'w', 'api_key': WC_KEY, 'ip': '198.51.100.7'}),
]


@pytest.mark.parametrize('option, target, refused', REMOVING)
def test_the_plan_refuses_every_kind_that_removes_under_a_narrowing_limit(option, target, refused):
    with pytest.raises(fleet.FleetError) as exc:
        fleet.Plan(params(**{option: [target]}), limit=LIMIT)
    assert "refusing to run under --limit: the limit 'app1' narrows the play to 1 host(s)" in str(exc.value)
    assert refused in str(exc.value) and 'Nothing was sent' in str(exc.value)
    fleet.Plan(params(**{option: [target]}))  # without a narrowing limit the same target is fine


@pytest.mark.parametrize('option, target', ADDING_ONLY)
def test_the_plan_lets_targets_that_only_add_run_under_a_limit(option, target):
    plan = fleet.Plan(params(**{option: [target]}), limit=LIMIT)
    assert [t.removes_beyond_its_entries for t in plan.targets] == [None]


@pytest.mark.parametrize('play_hosts, unlimited, named, groups, narrows', [
    (['app1'], ['app1', 'app2'], None, {}, True),
    # a limit that leaves the whole play (AWX templates often carry one)
    (['app1', 'app2'], ['app1', 'app2'], None, {}, False),
    (['app1'], None, None, {}, True),  # the unlimited play cannot be told: assume the limit narrows
    # the fleet named explicitly (a group): the limit no longer decides the addresses
    (['app1'], ['app1', 'app2'], ['app1', 'app2'], {'fleet': ['app1', 'app2']}, False),
    # ansible_play_hosts_all handed in as the fleet is still the limited play
    (['app1'], ['app1', 'app2'], ['app1'], {'fleet': ['app1', 'app2']}, True),
    # ... unless it is a group of its own
    (['app1'], ['app1', 'app2'], ['app1'], {'canary': ['app1']}, False),
])
def test_when_a_limit_narrows_the_fleet(play_hosts, unlimited, named, groups, narrows):
    """What the action plugin asks before it hands the plan a narrowing limit (it imports controller code, so
    its rule lives in module_utils, where a unit test can reach it)."""
    assert bool(fleet.limit_narrows(play_hosts, unlimited, named, groups.values())) is narrows


def fleet_on(sim, **kwargs):
    return params(sim.url, fleet_hosts={'a': '203.0.113.10', 'b': '203.0.113.11'}, **kwargs)


def test_a_fleet_target_failing_after_its_post_reports_changed_and_what_was_done(atlas):
    """The fleet's own changed-on-failure path: the POST went through, a DELETE was refused."""
    atlas.add_fault('status', status=403, method='DELETE', path='/accessList/192.0.2.10$')
    result = fleet.run(fleet_on(atlas, atlas_keys=[{'name': 'one', 'org_id': ORG, 'api_key': KEY_ID, 'purge': True},
                                                   {'name': 'two', 'org_id': ORG, 'api_key': KEY2_ID}],
                                concurrency=1))
    one, two = result['atlas']
    assert one['failed'] and one['changed'] is True
    assert one['added'] == ['203.0.113.10/32', '203.0.113.11/32']
    assert one['removed'] == ['10.1.0.0/24'] and 'could not remove 192.0.2.10/32' in one['msg']
    assert 'already done: added 203.0.113.10/32, 203.0.113.11/32; removed 10.1.0.0/24' in one['msg']
    assert not two['failed'] and two['changed'] and result['changed'] and not result['converged']
    assert sorted(atlas.access_list(ORG, KEY2_ID)) == ['198.51.100.0/24', '203.0.113.10/32', '203.0.113.11/32']


def test_an_unexpected_exception_is_one_targets_failure_and_the_others_keep_their_results(atlas, monkeypatch):
    real = atlas_utils.AccessList.list_entries

    def list_entries(self):
        if KEY2_ID in self.path:
            raise RuntimeError('boom')
        return real(self)

    monkeypatch.setattr(atlas_utils.AccessList, 'list_entries', list_entries)
    result = fleet.run(fleet_on(atlas, atlas_keys=[{'name': 'one', 'org_id': ORG, 'api_key': KEY_ID},
                                                   {'name': 'two', 'org_id': ORG, 'api_key': KEY2_ID}]))
    one, two = result['atlas']
    assert not one['failed'] and one['changed'] and one['added'] == ['203.0.113.10/32', '203.0.113.11/32']
    assert two['failed'] and two['changed'] is False
    # named at the innermost frame of the collection's own code, for a bug report
    assert two['msg'].startswith('unexpected error (RuntimeError at atlas.py:') and 'boom' in two['msg']
    assert 'Traceback' not in str(result)


def test_a_fleet_larger_than_a_service_account_holds_is_refused_before_any_request():
    hosts = dict(('h%03d' % i, '10.50.%d.%d' % (i // 250, i % 250 + 1)) for i in range(201))
    with pytest.raises(fleet.FleetError) as exc:
        fleet.Plan(params(fleet_hosts=hosts, atlas_service_accounts=[
            {'name': 's', 'org_id': ORG, 'service_account': SA_ID}]))
    assert 'Atlas service account s: the wanted entries would give the service account list 201 entries' in \
        str(exc.value) and 'at most 200' in str(exc.value)


def test_project_update_then_a_failed_wait_reports_changed(capsys, atlas, monkeypatch):
    """Issue 19 item 3: a comment update that went through, then a wait that failed, said changed=false."""
    seed = atlas_seed()
    seed['projects'][0]['access_list'] = [{'address': '192.0.2.5', 'comment': 'bastion'}]
    atlas.reset(seed)
    atlas.update_settings({'status_result': 'FAILED'})
    monkeypatch.setattr(atlas_utils.time, 'sleep', lambda s: None)
    failed, result = run_module(capsys, atlas_project_whitelist.main, dict(
        base_url=atlas.url, public_key=PUBLIC, private_key=PRIVATE, project_id=PROJECT, retries=0, wait=True,
        entries=[{'cidr': '192.0.2.5', 'comment': 'bastion (jump host)'}]))
    assert failed and result['changed'] is True and result['updated'] == ['192.0.2.5/32']
    assert 'already done: added nothing; removed nothing; updated 192.0.2.5/32' in result['msg']
    assert atlas.project_access_list(PROJECT) == {'192.0.2.5/32': 'bastion (jump host)'}


def test_project_update_then_a_failed_wait_reports_changed_in_the_fleet(atlas, monkeypatch):
    seed = atlas_seed()
    seed['projects'][0]['access_list'] = [{'address': '203.0.113.10', 'comment': 'fleet: old-name'}]
    atlas.reset(seed)
    atlas.update_settings({'status_result': 'FAILED'})
    monkeypatch.setattr(atlas_utils.time, 'sleep', lambda s: None)
    result = fleet.run(params(atlas.url, fleet_hosts={'web1': '203.0.113.10'}, atlas_projects=[
        {'name': 'prod', 'project_id': PROJECT, 'wait': True}]))
    project = result['atlas'][0]
    assert project['failed'] and project['changed'] is True and result['changed']
    assert atlas.project_access_list(PROJECT) == {'203.0.113.10/32': 'fleet: web1'}


def test_two_targets_naming_one_list_the_later_is_refused_and_nothing_is_shared(atlas):
    """Review B4: a key by public key and by ID converged one list side by side and shared its journal, so the
    target with nothing to do reported the other's addition."""
    result = fleet.run(fleet_on(atlas, atlas_keys=[
        {'name': 'B', 'org_id': ORG, 'api_key': PUBLIC, 'entries': ['198.51.100.99']},
        {'name': 'A', 'org_id': ORG, 'api_key': KEY_ID}], concurrency=1))
    first, second = result['atlas']
    assert not first['failed'] and first['changed'] and '198.51.100.99/32' in first['added']
    assert second['failed'] and second['changed'] is False and second['added'] == []
    assert 'this is the list of Atlas key B too' in second['msg'] and 'nothing was sent' in second['msg']
    posts = [e for e in atlas.log if e['method'] == 'POST']
    assert len(posts) == 1


def test_one_woodcore_key_twice_is_refused_before_any_request():
    with pytest.raises(fleet.FleetError) as exc:
        fleet.Plan(params(woodcore_keys=[{'name': 'a', 'api_key': WC_KEY, 'ip': '198.51.100.7'},
                                         {'name': 'b', 'api_key': WC_KEY, 'ip': '198.51.100.8'}]))
    assert 'Woodcore keys a and b are the same API key' in str(exc.value) and WC_KEY not in str(exc.value)


def test_a_write_retried_after_a_gateway_error_reports_what_it_did(capsys, atlas):
    """Review B2: a POST answered 504 after acting, retried, then refused as a duplicate (409): the first attempt
    added the entry, and the run said changed=false."""
    atlas.update_settings({'duplicate_post': 'conflict'})
    atlas.add_fault('status_after', status=504, times=1, method='POST', path='accessList')
    failed, result = run_module(capsys, atlas_apikey_whitelist.main, dict(
        base_url=atlas.url, public_key=PUBLIC, private_key=PRIVATE, org_id=ORG, api_key=KEY_ID,
        entries=['198.51.100.7'], retries=2))
    assert '198.51.100.7/32' in atlas.access_list(ORG, KEY_ID)
    assert not failed and result['changed'] is True and result['added'] == ['198.51.100.7/32'], result


def test_a_delete_answered_404_is_not_this_runs_removal(capsys, atlas):
    """Review SF2: an entry someone else removed between the read and the DELETE is no change of this run's."""
    atlas.add_fault('status', status=404, times=1, method='DELETE', path='accessList')
    failed, result = run_module(capsys, atlas_apikey_whitelist.main, dict(
        base_url=atlas.url, public_key=PUBLIC, private_key=PRIVATE, org_id=ORG, api_key=KEY2_ID,
        entries=['198.51.100.0/24', '203.0.113.1'], purge=True, retries=0))
    assert not failed and result['removed'] == [] and result['added'] == ['203.0.113.1/32'] and result['changed']


def test_a_delete_whose_answer_was_lost_and_retried_into_a_404_is_this_runs_removal(capsys, atlas):
    atlas.add_fault('status_after', status=502, times=1, method='DELETE', path='accessList')
    failed, result = run_module(capsys, atlas_apikey_whitelist.main, dict(
        base_url=atlas.url, public_key=PUBLIC, private_key=PRIVATE, org_id=ORG, api_key=KEY2_ID,
        entries=['203.0.113.1'], purge=True, retries=2))
    assert not failed and result['removed'] == ['198.51.100.0/24'] and result['changed'], result
    assert sorted(atlas.access_list(ORG, KEY2_ID)) == ['203.0.113.1/32']


def test_a_write_answered_by_a_page_that_is_not_the_api_has_an_unknown_outcome(capsys, atlas):
    """Review SF3: a proxy's HTML page answering 200 to a POST was journaled as done."""
    atlas.add_fault('status', status=200, times=3, method='POST', path='accessList', content_type='text/html',
                    body='<html>Welcome to the hotel network</html>')
    atlas.add_fault('status', status=503, times=10, method='GET', path='accessList', skip=2)  # challenge, read
    failed, result = run_module(capsys, atlas_apikey_whitelist.main, dict(
        base_url=atlas.url, public_key=PUBLIC, private_key=PRIVATE, org_id=ORG, api_key=KEY2_ID,
        entries=['203.0.113.1'], retries=0))
    assert failed and result['changed'] is True and result['outcome_unknown'] == ['add 203.0.113.1/32'], result
    # the re-read that would settle it failed too, so the failure says so
    assert 'outcome unknown, re-read to see: add 203.0.113.1/32' in result['msg']
    assert atlas.access_list(ORG, KEY2_ID) == ['198.51.100.0/24']


def test_a_credential_holding_a_line_break_leaks_nowhere(capsys, woodcore, tmp_path):
    """Review B3: the key with a trailing newline passed validation; http.client then quoted it, escaped, in a
    ValueError that became the message."""
    failed, result = run_module(capsys, woodcore_ipwhitelist.main, dict(
        api_key=WC_KEY + '\n', base_url=woodcore.url + '/api/v2', ip='198.51.100.7',
        pending_state_path=str(tmp_path / 'p.json'), retries=0))
    assert failed and 'contains whitespace' in result['msg'] and woodcore.log == []
    assert WC_KEY[8:] not in json.dumps(result)


def test_a_request_that_cannot_be_sent_is_an_api_error_naming_no_secret():
    client = ApiClient('http://127.0.0.1:9', auth=BearerAuth('wc_test_SECRET\\nVALUE0MARKER'), retries=0)
    client.add_secret('wc_test_SECRET\\nVALUE0MARKER')
    client.session.auth = BearerAuth('wc_test_SECRET\nVALUE0MARKER')
    client.add_secret('wc_test_SECRET\nVALUE0MARKER')
    with pytest.raises(ApiError) as exc:
        client.request('GET', '/x')
    assert 'could not be sent' in str(exc.value) and 'SECRET' not in str(exc.value)


def test_an_error_excerpt_is_redacted_before_it_is_cut():
    """Review SF1: a secret straddling the 300-character cut lost only its tail to the mask."""
    client = ApiClient('https://example.invalid')
    client.add_secret(WC_KEY)
    response = requests.Response()
    response.status_code, response.url = 400, 'https://example.invalid/x'
    response._content = ('{"echo": "%s%s"}' % ('x' * 264, WC_KEY)).encode()
    response.headers['Content-Type'] = 'application/json'
    error = client._http_error('POST', 'https://example.invalid/x', response, 1)
    assert WC_KEY[:16] not in error.body_excerpt and WC_KEY[:16] not in str(error)


def test_proxy_credentials_stay_out_of_the_result(capsys, atlas):
    """Review SF5: the proxy URL's password reached module_args (-vvv, log_path) and short ones were kept."""
    failed, result = run_module(capsys, atlas_apikey_whitelist.main, dict(
        base_url=atlas.url, public_key=PUBLIC, private_key=PRIVATE, org_id=ORG, api_key=KEY_ID,
        entries=['192.0.2.10'], proxy='http://proxyuser:Pr0xy@Secret@127.0.0.1:9', retries=0))
    text = json.dumps(result)
    assert 'Pr0xy@Secret' not in text and 'proxyuser' not in text


def test_a_pending_record_held_by_another_run_is_waited_for_a_bounded_time(tmp_path):
    """Review SF7: the ledger's flock had no ceiling. Another run holds it the whole time: this one gives up,
    naming the file, and records nothing."""
    import fcntl
    import os
    from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import woodcore
    path = str(tmp_path / 'pending.json')
    ledger = woodcore.PendingLedger(path, lock_wait=0.2)
    ledger.claim('f' * 16, 'whitelist', '198.51.100.7', 900)  # creates the record and its lock file
    other = os.open(path + '.lock', os.O_RDWR)
    fcntl.flock(other, fcntl.LOCK_EX)  # another open file: conflicts even within this process
    try:
        with pytest.raises(fleet.PlanError) as exc:
            ledger.claim('e' * 16, 'whitelist', '198.51.100.8', 900)
        assert 'another run has held the pending OTP record %s for more than 0.2s' % path in str(exc.value)
    finally:
        fcntl.flock(other, fcntl.LOCK_UN)
        os.close(other)
    assert ledger.get('e' * 16) is None and ledger.get('f' * 16)['ip'] == '198.51.100.7'


def test_reading_an_absent_pending_record_creates_nothing(tmp_path):
    """Review SF7: check mode's read of the record created its directory and lock file."""
    from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import woodcore
    ledger = woodcore.PendingLedger(str(tmp_path / 'cache' / 'pending.json'))
    assert ledger.get('f' * 16) is None and not (tmp_path / 'cache').exists()


def test_a_negative_wait_timeout_is_refused_by_the_fleet_as_by_the_module():
    with pytest.raises(fleet.FleetError) as exc:
        fleet.Plan(params(atlas_projects=[{'name': 'p', 'project_id': PROJECT, 'wait_timeout': -1}]))
    assert 'Atlas project p: wait_timeout must be 0 or more, got -1' in str(exc.value)
