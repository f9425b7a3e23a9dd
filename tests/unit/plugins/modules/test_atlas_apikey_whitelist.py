# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""atlas_apikey_whitelist in-process against the Atlas simulator: exact ordered HTTP calls."""

from __future__ import annotations

import ipaddress
import json

import pytest

from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import atlas as atlas_utils
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import http_client
from ansible_collections.apiaccess.ipwhitelist.plugins.modules import atlas_apikey_whitelist as module
from ansible_collections.apiaccess.ipwhitelist.tests.simulators.base import TokenBucket
from ansible_collections.apiaccess.ipwhitelist.tests.unit.conftest import (
    CLIENT_ID, CLIENT_SECRET, KEY2_ID, KEY_ID, ORG, PRIVATE, PUBLIC, FakeClock, atlas_seed, run_module, warning_texts,
)

LIST = '/api/atlas/v2/orgs/%s/apiKeys/%s/accessList' % (ORG, KEY_ID)
KEYS = '/api/atlas/v2/orgs/%s/apiKeys' % ORG
IPINFO = '/api/private/ipinfo'
PAGE1 = {'pageNum': '1', 'itemsPerPage': '500'}


def args(sim, **kwargs):
    base = dict(base_url=sim.url, org_id=ORG, api_key=KEY_ID, public_key=PUBLIC, private_key=PRIVATE)
    base.update(kwargs)
    return base


def calls(sim):
    """(method, path) of every request that got past digest auth."""
    return [(e['method'], e['path']) for e in sim.log if e['status'] != 401]


def queries(sim):
    return [e['query'] for e in sim.log if e['status'] != 401 and e['method'] == 'GET']


def writes(sim):
    return [e for e in sim.log if e['method'] not in ('GET', 'HEAD')]


def test_add_sends_one_get_and_one_post(capsys, atlas):
    failed, result = run_module(capsys, module.main, args(atlas, entries=['192.0.2.10', '203.0.113.5', '203.0.113.6']))
    assert not failed and result['changed']
    assert calls(atlas) == [('GET', LIST), ('POST', LIST)]
    assert queries(atlas) == [PAGE1]
    assert result['added'] == ['203.0.113.5/32', '203.0.113.6/32']
    assert result['removed'] == []
    assert result['entries'] == ['10.1.0.0/24', '192.0.2.10/32', '203.0.113.5/32', '203.0.113.6/32']
    assert atlas.access_list(ORG, KEY_ID) == ['192.0.2.10/32', '10.1.0.0/24', '203.0.113.5/32', '203.0.113.6/32']
    assert result['api_key_id'] == KEY_ID and result['requests'] == 2


def test_second_run_changes_nothing_and_writes_nothing(capsys, atlas):
    run_module(capsys, module.main, args(atlas, entries=['203.0.113.5'], purge=True))
    atlas.log.clear()
    failed, result = run_module(capsys, module.main, args(atlas, entries=['203.0.113.5'], purge=True))
    assert not failed and not result['changed']
    assert calls(atlas) == [('GET', LIST)] and writes(atlas) == []


def test_cidr_and_host_spellings_are_one_entry(capsys, atlas):
    failed, result = run_module(capsys, module.main, args(atlas, entries=['192.0.2.10/32', '10.1.0.0/255.255.255.0'],
                                                          purge=True))
    assert not failed and not result['changed'] and writes(atlas) == []


def test_purge_with_keep_posts_before_deleting(capsys, atlas):
    atlas.reset(atlas_seed(['192.0.2.10', '10.1.0.0/24', '10.2.0.0/16', '198.51.100.3']))
    failed, result = run_module(capsys, module.main, args(atlas, entries=['203.0.113.5'], purge=True,
                                                          keep=['10.0.0.0/8']))
    assert not failed
    # removing from a key's list: from where does this run call (ipinfo)? No removal holds that address,
    # so whose key it is does not matter (no key-list read)
    made = calls(atlas)
    assert made[:3] == [('GET', LIST), ('GET', IPINFO), ('POST', LIST)]
    # the DELETEs come after the POST, in parallel (any order)
    assert sorted(made[3:]) == [('DELETE', LIST + '/192.0.2.10'), ('DELETE', LIST + '/198.51.100.3')]
    assert result['removed'] == ['192.0.2.10/32', '198.51.100.3/32']
    assert sorted(atlas.access_list(ORG, KEY_ID)) == ['10.1.0.0/24', '10.2.0.0/16', '203.0.113.5/32']


def test_delete_of_a_cidr_is_encoded_exactly_once(capsys, atlas):
    failed, result = run_module(capsys, module.main, args(atlas, entries=['10.1.0.0/24'], state='absent'))
    assert not failed and result['removed'] == ['10.1.0.0/24']
    assert calls(atlas) == [('GET', LIST), ('GET', IPINFO), ('DELETE', LIST + '/10.1.0.0%2F24')]


def test_absent_removes_only_listed_entries(capsys, atlas):
    failed, result = run_module(capsys, module.main, args(atlas, entries=['192.0.2.10', '203.0.113.77'],
                                                          state='absent'))
    assert not failed and result['changed'] and result['removed'] == ['192.0.2.10/32']
    assert atlas.access_list(ORG, KEY_ID) == ['10.1.0.0/24']


def test_check_mode_sends_only_gets_and_predicts(capsys, atlas):
    failed, result = run_module(capsys, module.main, args(atlas, entries=['203.0.113.5'], purge=True),
                                check_mode=True, diff=True)
    assert not failed and result['changed']
    assert {e['method'] for e in atlas.log} == {'GET'}
    assert result['diff'] == {'before': {'entries': ['10.1.0.0/24', '192.0.2.10/32']},
                              'after': {'entries': ['203.0.113.5/32']}}
    assert atlas.access_list(ORG, KEY_ID) == ['192.0.2.10/32', '10.1.0.0/24']


@pytest.mark.parametrize('render', ['full', 'compressed'])
def test_ipv6_converges_without_churn_for_each_rendering(capsys, atlas, render):
    atlas.update_settings({'ipv6_render': render})
    wanted = ['2001:DB8::1', '2001:db8:1::/48', '192.0.2.10']
    failed, result = run_module(capsys, module.main, args(atlas, entries=wanted, purge=True))
    assert not failed and result['added'] == ['2001:db8::1/128', '2001:db8:1::/48']
    post = [e for e in atlas.log if e['method'] == 'POST']
    assert len(post) == 1
    atlas.log.clear()
    failed, result = run_module(capsys, module.main, args(atlas, entries=['2001:db8:0:0:0:0:0:1', '2001:db8:1::/48',
                                                                          '192.0.2.10'], purge=True))
    assert not failed and not result['changed'] and writes(atlas) == []
    failed, result = run_module(capsys, module.main, args(atlas, entries=['2001:db8::1', '2001:db8:1::/48'],
                                                          state='absent'))
    assert not failed and result['removed'] == ['2001:db8::1/128', '2001:db8:1::/48']
    assert atlas.access_list(ORG, KEY_ID) == ['192.0.2.10/32']


def test_ipv6_refused_by_the_service(capsys, atlas):
    atlas.update_settings({'ipv6': 'reject'})
    failed, result = run_module(capsys, module.main, args(atlas, entries=['2001:db8::1']))
    assert failed and 'IPV6_UNSUPPORTED' in result['msg'] and result['error_code'] == 'IPV6_UNSUPPORTED'
    assert result['added'] == [] and result['removed'] == []


def big_list(count):
    return [str(ipaddress.ip_address('10.0.0.0') + i) for i in range(count)]


@pytest.mark.parametrize('total, gets', [(0, 1), (1, 1), (499, 1), (500, 2), (1234, 3), (1500, 4)])
def test_reads_every_page_at_the_floor(capsys, atlas, total, gets):
    atlas.update_settings({'rate_limit_capacity': 0})
    atlas.reset(atlas_seed(big_list(total)))
    failed, result = run_module(capsys, module.main, args(atlas, entries=big_list(total) or ['192.0.2.1']))
    assert not failed
    assert [e['query']['pageNum'] for e in atlas.log if e['method'] == 'GET' and e['status'] == 200] == \
        [str(n) for n in range(1, gets + 1)]


def test_1234_entries_purge_counts(capsys, atlas):
    atlas.update_settings({'rate_limit_capacity': 0})
    current = big_list(1234)
    atlas.reset(atlas_seed(current))
    wanted = current[10:] + ['192.0.2.%d' % i for i in range(1, 6)]
    failed, result = run_module(capsys, module.main, args(atlas, entries=wanted, purge=True))
    assert not failed and len(result['added']) == 5 and len(result['removed']) == 10
    methods = [e['method'] for e in atlas.log if e['status'] != 401]
    # 3 pages of the list and the read of the caller's address (the run removes from a key's list)
    assert (methods.count('GET'), methods.count('POST'), methods.count('DELETE')) == (4, 1, 10)
    assert result['requests'] == 15
    assert len(atlas.access_list(ORG, KEY_ID)) == 1229


def test_public_key_is_resolved_through_the_key_list(capsys, atlas):
    failed, result = run_module(capsys, module.main, args(atlas, api_key=PUBLIC, entries=['192.0.2.10']))
    assert not failed and result['api_key_id'] == KEY_ID
    assert calls(atlas) == [('GET', KEYS), ('GET', LIST)]


def test_unknown_public_key_fails_clearly(capsys, atlas):
    failed, result = run_module(capsys, module.main, args(atlas, api_key='nokey123', entries=['192.0.2.10']))
    assert failed and "no API key with public key 'nokey123'" in result['msg'] and '2 keys checked' in result['msg']


@pytest.mark.parametrize('api_version, prefix, collection', [
    ('v1_whitelist', '/api/atlas/v1.0', 'whitelist'),
    ('v1_access_list', '/api/atlas/v1.0', 'accessList'),
    ('v1_whitelist', '/api/public/v1.0', 'whitelist'),
])
def test_legacy_v1_apis(capsys, atlas, api_version, prefix, collection):
    # the cloud's /whitelist answers 404 since 2021 (the simulator's default); 'served' is the API as it was
    atlas.update_settings({'v1_base_path': prefix, 'v1_whitelist': 'served'})
    failed, result = run_module(capsys, module.main, args(atlas, api_version=api_version, api_path_prefix=prefix,
                                                          entries=['203.0.113.5'], purge=True, keep=['10.0.0.0/8']))
    assert not failed, result
    path = '%s/orgs/%s/apiKeys/%s/%s' % (prefix, ORG, KEY_ID, collection)
    assert calls(atlas) == [('GET', path), ('GET', IPINFO), ('POST', path), ('DELETE', path + '/192.0.2.10')]
    assert atlas.access_list(ORG, KEY_ID) == ['10.1.0.0/24', '203.0.113.5/32']


def test_oauth_service_account(capsys, atlas):
    failed, result = run_module(capsys, module.main, dict(
        base_url=atlas.url, org_id=ORG, api_key=KEY_ID, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
        entries=['203.0.113.5']))
    assert not failed and result['added'] == ['203.0.113.5/32']
    assert calls(atlas) == [('POST', '/api/oauth/token'), ('GET', LIST), ('POST', LIST)]
    assert atlas.token_requests == 1


def test_credentials_from_environment(capsys, atlas, monkeypatch):
    monkeypatch.setenv('MONGODB_ATLAS_PUBLIC_KEY', PUBLIC)  # the older names work too
    monkeypatch.setenv('MONGODB_ATLAS_PRIVATE_API_KEY', PRIVATE)
    monkeypatch.setenv('MONGODB_ATLAS_BASE_URL', atlas.url)
    failed, result = run_module(capsys, module.main, dict(org_id=ORG, api_key=KEY_ID, entries=['192.0.2.10']))
    assert not failed and not result['changed']


def test_private_key_from_a_file_named_by_the_environment(capsys, atlas, monkeypatch, tmp_path):
    # how the AWX credential hands the secret over: a file, so no job environment dump holds it
    secret = tmp_path / 'private_key'
    secret.write_text(PRIVATE + '\n')
    monkeypatch.setenv('MONGODB_ATLAS_PUBLIC_API_KEY', PUBLIC)
    monkeypatch.setenv('MONGODB_ATLAS_PRIVATE_API_KEY_FILE', str(secret))
    monkeypatch.setenv('MONGODB_ATLAS_BASE_URL', atlas.url)
    failed, result = run_module(capsys, module.main, dict(org_id=ORG, api_key=KEY_ID, entries=['192.0.2.10']))
    assert not failed and not result['changed'] and PRIVATE not in json.dumps(result)


@pytest.mark.parametrize('problem', ['missing', 'unreadable', 'empty'])
def test_unreadable_key_file_fails_naming_variable_and_path(capsys, atlas, monkeypatch, tmp_path, problem):
    path = tmp_path / 'private-key'
    if problem == 'unreadable':
        path.mkdir()  # a directory cannot be read as a file, whoever runs the test (root reads 0000 files)
    elif problem == 'empty':
        path.write_text('\n')
    monkeypatch.setenv('MONGODB_ATLAS_PUBLIC_API_KEY', PUBLIC)
    monkeypatch.setenv('MONGODB_ATLAS_PRIVATE_API_KEY_FILE', str(path))
    monkeypatch.setenv('MONGODB_ATLAS_BASE_URL', atlas.url)
    failed, result = run_module(capsys, module.main, dict(org_id=ORG, api_key=KEY_ID, entries=['192.0.2.10']))
    assert failed and 'MONGODB_ATLAS_PRIVATE_API_KEY_FILE names %s' % path in result['msg'], result['msg']
    assert ('empty' if problem == 'empty' else 'cannot be read') in result['msg']
    assert atlas.log == [] and result['requests'] == 0
    monkeypatch.setenv('MONGODB_ATLAS_PRIVATE_API_KEY', PRIVATE)  # the variable itself wins over the file
    failed, result = run_module(capsys, module.main, dict(org_id=ORG, api_key=KEY_ID, entries=['192.0.2.10']))
    assert not failed


def test_key_file_content_never_shown(capsys, atlas, monkeypatch, tmp_path):
    path = tmp_path / 'private-key'
    path.write_text(PRIVATE + '\n')
    monkeypatch.setenv('MONGODB_ATLAS_PUBLIC_API_KEY', PUBLIC)
    monkeypatch.setenv('MONGODB_ATLAS_PRIVATE_API_KEY_FILE', str(path))
    failed, result = run_module(capsys, module.main, dict(org_id=ORG, api_key=KEY_ID, entries=['192.0.2.10'],
                                                          base_url=atlas.url))
    assert not failed and PRIVATE not in json.dumps(result)


def test_429_storm_is_ridden_out(capsys, atlas, monkeypatch):
    slept = []
    monkeypatch.setattr(http_client.time, 'sleep', slept.append)
    atlas.add_fault('status', status=429, times=4, headers={'Retry-After': '2'})
    failed, result = run_module(capsys, module.main, args(atlas, entries=['203.0.113.5']))
    assert not failed and result['added'] == ['203.0.113.5/32'] and slept == [2.0] * 4
    assert len([e for e in atlas.log if e['method'] == 'POST' and e['status'] == 200]) == 1


def test_real_token_bucket_is_paced_not_slammed(capsys, atlas, monkeypatch):
    """A bucket of 2 at Atlas's documented refill, and a run that needs 3 of its tokens (the read, two
    DELETEs): the client learns the bucket from RateLimit-Limit/-Remaining and waits for the third token
    instead of collecting a 429. The bucket, the pacer and the retries share a fake clock that moves only
    when the run sleeps, so this does not depend on the machine's speed: a run that does not pace finds the
    bucket empty at its second DELETE (a 429, whatever it does next)."""
    fake = FakeClock()
    monkeypatch.setattr(atlas_utils, 'Pacer',
                        lambda classify: http_client.Pacer(classify, clock=fake.clock, sleep=fake.sleep))
    monkeypatch.setattr(http_client.time, 'sleep', fake.sleep)  # the retries' waits
    atlas.update_settings({'rate_limit_capacity': 2})
    atlas.reset(atlas_seed(['192.0.2.10', '10.1.0.0/24', '10.2.0.0/24']))
    atlas.buckets[('Programmatic API Keys', ORG)] = TokenBucket(2, 250 / 60.0, clock=fake.clock)
    failed, result = run_module(capsys, module.main, args(atlas, entries=['192.0.2.10'], purge=True))
    assert not failed, result
    assert atlas.access_list(ORG, KEY_ID) == ['192.0.2.10/32']
    # every request once, none refused (the 401 is the digest challenge)
    assert [(e['method'], e['status']) for e in atlas.log] == [
        ('GET', 401), ('GET', 200), ('GET', 200), ('DELETE', 204), ('DELETE', 204)]
    assert sum(fake.slept) >= 0.2  # it waited for the third token: one at 250 per 60 s is 0.24 s away


def test_a_429_storm_is_bounded_by_the_retries_not_the_wait_budget(capsys, atlas, monkeypatch):
    """Waiting for a token bucket is progress, not failure: 429 waits are not charged to retry_max_wait
    (here 100 s against 5 x 40 s); a server that never refills still ends, after the retries."""
    monkeypatch.setattr(http_client.time, 'sleep', lambda s: None)
    atlas.add_fault('status', status=429, times=50, headers={'Retry-After': '40'})
    failed, result = run_module(capsys, module.main, args(atlas, entries=['203.0.113.5'], retry_max_wait=100))
    assert failed and 'gave up after 6 tries: HTTP 429' in result['msg'] and 'nothing was changed' in result['msg']
    assert writes(atlas) == []


def test_lost_post_response_converges_without_duplicates(capsys, atlas):
    atlas.update_settings({'duplicate_post': 'conflict'})  # a duplicate POST would fail loudly
    atlas.add_fault('reset_after', method='POST', times=1)
    failed, result = run_module(capsys, module.main, args(atlas, entries=['203.0.113.5', '203.0.113.6']))
    assert not failed and result['changed'] and result['added'] == ['203.0.113.5/32', '203.0.113.6/32']
    assert calls(atlas) == [('GET', LIST), ('POST', LIST), ('GET', LIST)]
    assert atlas.access_list(ORG, KEY_ID)[-2:] == ['203.0.113.5/32', '203.0.113.6/32']


def test_conflict_on_post_is_replanned(capsys, atlas):
    atlas.update_settings({'duplicate_post': 'conflict'})
    atlas.add_fault('status', method='POST', status=409, times=1, body={
        'error': 409, 'errorCode': 'ADDRESS_ALREADY_IN_ACCESS_LIST', 'detail': 'already there', 'reason': 'Conflict'})
    failed, result = run_module(capsys, module.main, args(atlas, entries=['203.0.113.5']))
    assert not failed
    assert calls(atlas) == [('GET', LIST), ('POST', LIST), ('GET', LIST), ('POST', LIST)]
    assert [e['status'] for e in atlas.log if e['method'] == 'POST'] == [409, 200]


def test_conflict_mode_never_sees_a_duplicate(capsys, atlas):
    atlas.update_settings({'duplicate_post': 'conflict'})
    failed, result = run_module(capsys, module.main, args(atlas, entries=['192.0.2.10', '203.0.113.5']))
    assert not failed and [e['status'] for e in atlas.log if e['method'] == 'POST'] == [200]


def test_the_callers_own_address_is_kept_at_plan_time(capsys, atlas):
    """Purging the calling key's own list would remove the address it calls from, which Atlas refuses
    after the POST: the plan keeps it, says so, and the run succeeds with nothing half-done."""
    atlas.update_settings({'caller_ip': '192.0.2.10'})
    failed, result = run_module(capsys, module.main, args(atlas, entries=['203.0.113.9'], purge=True), check_mode=True)
    assert not failed and result['kept_for_caller'] == ['192.0.2.10/32'] and result['removed'] == ['10.1.0.0/24']
    assert writes(atlas) == []
    failed, result = run_module(capsys, module.main, args(atlas, entries=['203.0.113.9'], purge=True))
    assert not failed and result['changed']
    assert result['added'] == ['203.0.113.9/32'] and result['removed'] == ['10.1.0.0/24']
    assert result['kept_for_caller'] == ['192.0.2.10/32']
    assert any('kept 192.0.2.10/32' in w and 'calls Atlas from' in w for w in warning_texts(result))
    assert atlas.access_list(ORG, KEY_ID) == ['192.0.2.10/32', '203.0.113.9/32']
    assert [e['status'] for e in atlas.log if e['method'] == 'DELETE'] == [204]


def test_a_removal_holding_the_callers_address_on_another_key_is_not_kept(capsys, atlas):
    atlas.update_settings({'caller_ip': '198.51.100.7'})  # inside KEY2's 198.51.100.0/24, but KEY2 is not the caller
    failed, result = run_module(capsys, module.main, args(atlas, api_key=KEY2_ID, entries=['203.0.113.9'], purge=True))
    assert not failed and result['removed'] == ['198.51.100.0/24'] and result['kept_for_caller'] == []
    two = '/api/atlas/v2/orgs/%s/apiKeys/%s/accessList' % (ORG, KEY2_ID)
    assert calls(atlas) == [('GET', two), ('GET', IPINFO), ('GET', KEYS), ('POST', two),
                            ('DELETE', two + '/198.51.100.0%2F24')]


def test_a_service_account_caller_never_checks_api_key_lists(capsys, atlas):
    failed, result = run_module(capsys, module.main, dict(
        base_url=atlas.url, org_id=ORG, api_key=KEY_ID, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
        entries=['203.0.113.5'], purge=True))
    assert not failed and IPINFO not in [c[1] for c in calls(atlas)]


def test_caller_given_by_public_key_needs_no_key_list_read_twice(capsys, atlas):
    atlas.update_settings({'caller_ip': '192.0.2.10'})
    failed, result = run_module(capsys, module.main, args(atlas, api_key=PUBLIC, entries=['203.0.113.9'], purge=True))
    assert not failed and result['kept_for_caller'] == ['192.0.2.10/32']
    assert calls(atlas) == [('GET', KEYS), ('GET', LIST), ('GET', IPINFO), ('POST', LIST), ('DELETE', LIST + '/10.1.0.0%2F24')]


def test_ipinfo_unavailable_warns_and_goes_on(capsys, atlas):
    atlas.add_fault('status', status=404, path='ipinfo', times=1)
    failed, result = run_module(capsys, module.main, args(atlas, entries=['203.0.113.9'], purge=True,
                                                          keep=['10.0.0.0/8']))
    assert not failed and result['removed'] == ['192.0.2.10/32'] and result['kept_for_caller'] == []
    assert any('not protected' in w and '/api/private/ipinfo' in w for w in warning_texts(result))


def test_moving_the_controller_in_one_run(capsys, atlas):
    # the caller must stay on its own key's list: the new address is added, the old one kept while it calls
    atlas.update_settings({'caller_ip_enforcement': 'ip_not_on_list', 'caller_ip': '192.0.2.10'})
    failed, result = run_module(capsys, module.main, args(atlas, entries=['192.0.2.11'], purge=True,
                                                          keep=['10.0.0.0/8']))
    assert not failed and result['added'] == ['192.0.2.11/32'] and result['kept_for_caller'] == ['192.0.2.10/32']
    atlas.update_settings({'caller_ip': '192.0.2.11'})  # the controller now calls from its new address
    failed, result = run_module(capsys, module.main, args(atlas, entries=['192.0.2.11'], purge=True,
                                                          keep=['10.0.0.0/8']))
    assert not failed and result['removed'] == ['192.0.2.10/32']


def test_caller_not_on_the_list(capsys, atlas):
    atlas.update_settings({'caller_ip_enforcement': 'ip_not_on_list', 'caller_ip': '203.0.113.200'})
    failed, result = run_module(capsys, module.main, args(atlas, entries=['203.0.113.5']))
    assert failed and result['http_status'] == 403 and result['error_code'] == 'IP_ADDRESS_NOT_ON_ACCESS_LIST'
    assert '203.0.113.200' in result['msg']


def test_refuses_to_empty_the_list(capsys, atlas):
    failed, result = run_module(capsys, module.main, args(atlas, entries=['192.0.2.10', '10.1.0.0/24'],
                                                          state='absent'))
    assert failed and 'allow_empty' in result['msg'] and writes(atlas) == []
    failed, result = run_module(capsys, module.main, args(atlas, entries=['192.0.2.10', '10.1.0.0/24'],
                                                          state='absent', allow_empty=True))
    assert not failed and atlas.access_list(ORG, KEY_ID) == []


BAD_INPUTS = [
    (dict(entries=['1.2.3.4/24']), "'1.2.3.4/24': has host bits set; the network is 1.2.3.0/24"),
    (dict(entries=['010.0.0.1']), "'010.0.0.1'"),
    (dict(entries=['db.example.com']), "'db.example.com': looks like a hostname"),
    (dict(entries=['0.0.0.0/0']), "'0.0.0.0/0': covers too much"),
    (dict(entries=['::/0']), "'::/0'"),
    (dict(entries=['1.2.3.4', 'x', '5.6.7.8:22']), "'x'"),
    (dict(keep=['not-an-ip']), "'not-an-ip'"),
    (dict(org_id='5f00'), "org_id '5f00' is not an organization ID"),
    (dict(org_id='5F0000000000000000000001'), "org_id '5F0000000000000000000001'"),
    (dict(api_key='abc'), "api_key 'abc' is neither"),
    (dict(api_key='6a000000000000000000000G'), "api_key '6a000000000000000000000G'"),
    (dict(public_key='short'), "public_key 'short' is not an Atlas public key"),
    (dict(client_id=CLIENT_ID, client_secret=CLIENT_SECRET), 'not both'),
    (dict(public_key=None, private_key=None), 'no Atlas credentials'),
    (dict(private_key=None), 'private_key is required together with public_key'),
    (dict(base_url='cloud.mongodb.com'), "base_url 'cloud.mongodb.com' is not an http(s) URL"),
    (dict(state='absent', entries=['10.1.0.0/24'], keep=['10.0.0.0/8']), 'also protected by keep'),
    (dict(timeout=0), 'timeout must be greater than 0'),
    (dict(retries=-1), 'retries must be 0 or more'),
]


@pytest.mark.parametrize('bad, message', BAD_INPUTS)
def test_bad_input_fails_before_any_request(capsys, atlas, bad, message):
    params = args(atlas, entries=['192.0.2.10'])
    params.update(bad)
    failed, result = run_module(capsys, module.main, params)
    assert failed and message in result['msg'], result['msg']
    assert atlas.log == [] and result['requests'] == 0


# Malformed entries, IPv6 edge forms and too-wide ranges: each refused naming the value, 0 requests.
BAD_ENTRIES = ['2001:db8::1/129', '2001:db8::1::2', 'fe80::1%eth0', '::ffff:1.2.3.4', '2001:db8::/32x',
               '1.2.3.4/33', '1.2.3', '1.2.3.4.5', '256.1.1.1', '1.2.3.-1', ' 1.2.3.4', '1.2.3.4/ 24',
               '0x7f.0.0.1', '127.1', '2001:db8::1/64', '10.0.0.0/7', '1.2.3.4/-1', '::1:2:3:4:5:6:7:8',
               '[2001:db8::1]', '2001:DB8::G', '192.168.001.1', '10.0.0.0/8;10.1.0.0/16']


@pytest.mark.parametrize('entry', BAD_ENTRIES)
def test_bad_entry_is_named_and_nothing_is_sent(capsys, atlas, entry):
    failed, result = run_module(capsys, module.main, args(atlas, entries=['192.0.2.10', entry]))
    assert failed and repr(entry) in result['msg'], result['msg']
    assert atlas.log == [] and result['requests'] == 0


# Fault matrix for a purge run that must GET, POST one entry and DELETE one: every fault either
# converges to exactly the wanted list (nothing lost, nothing duplicated) or fails saying what was done.
WANTED = ['10.1.0.0/24', '203.0.113.5/32']


@pytest.mark.parametrize('status', [502, 503, 504])
@pytest.mark.parametrize('method', ['GET', 'POST', 'DELETE'])
def test_gateway_error_bursts_are_retried_to_the_right_list(capsys, atlas, monkeypatch, status, method):
    slept = []
    monkeypatch.setattr(http_client.time, 'sleep', slept.append)
    atlas.add_fault('status', status=status, method=method, path='/accessList', times=2)
    failed, result = run_module(capsys, module.main, args(atlas, entries=WANTED, purge=True))
    assert not failed, result['msg']
    assert sorted(atlas.access_list(ORG, KEY_ID)) == WANTED
    assert 1 <= len(slept) <= 2 and all(0 <= s <= 60 for s in slept)  # bounded waits (urllib3: no wait before the first retry)
    on_the_list = [c[0] for c in calls(atlas) if '/accessList' in c[1]]
    assert on_the_list.count(method) == {'GET': 1, 'POST': 1, 'DELETE': 1}[method] + 2


@pytest.mark.parametrize('method, done', [
    ('POST', 'already done: added nothing; removed nothing'),
    ('DELETE', 'already done: added 203.0.113.5/32; removed nothing'),
])
def test_a_500_is_not_retried_and_the_message_says_what_was_done(capsys, atlas, monkeypatch, method, done):
    monkeypatch.setattr(http_client.time, 'sleep', lambda s: None)
    atlas.add_fault('status', status=500, method=method, path='/accessList', times=5)
    failed, result = run_module(capsys, module.main, args(atlas, entries=WANTED, purge=True))
    assert failed and 'HTTP 500' in result['msg'] and done in result['msg'], result['msg']
    assert [call[0] for call in calls(atlas)].count(method) == 1
    if method == 'DELETE':
        # the POST before the failed DELETE was a change, and the 500 (which did not act) removed nothing
        assert result['changed'] is True and result['added'] == ['203.0.113.5/32'] and result['removed'] == []
        assert atlas.access_list(ORG, KEY_ID) == ['192.0.2.10/32', '10.1.0.0/24', '203.0.113.5/32']


def test_reset_before_a_post_is_not_blindly_retried_and_a_rerun_converges(capsys, atlas):
    atlas.add_fault('reset_before', method='POST', path='/accessList')
    failed, result = run_module(capsys, module.main, args(atlas, entries=WANTED, purge=True))
    assert atlas.access_list(ORG, KEY_ID) in (['192.0.2.10/32', '10.1.0.0/24'], WANTED,
                                              ['192.0.2.10/32', '10.1.0.0/24', '203.0.113.5/32'])
    if failed:
        assert 'POST' in result['msg']
    failed, result = run_module(capsys, module.main, args(atlas, entries=WANTED, purge=True))
    assert not failed and sorted(atlas.access_list(ORG, KEY_ID)) == WANTED


def test_reset_after_a_delete_was_applied_converges(capsys, atlas):
    atlas.add_fault('reset_after', method='DELETE', path='/accessList')
    failed, result = run_module(capsys, module.main, args(atlas, entries=WANTED, purge=True))
    assert not failed, result['msg']
    assert sorted(atlas.access_list(ORG, KEY_ID)) == WANTED


def test_slow_server_within_the_timeout_converges(capsys, atlas):
    atlas.add_fault('latency', method='GET', path='/accessList', times=2, seconds=0.5)
    failed, result = run_module(capsys, module.main, args(atlas, entries=WANTED, purge=True, timeout=5))
    assert not failed and sorted(atlas.access_list(ORG, KEY_ID)) == WANTED


def test_read_timeouts_beyond_the_retries_fail_before_any_write(capsys, atlas):
    # (no patched sleep here: the simulator's latency uses time.sleep too)
    atlas.add_fault('latency', method='GET', path='/accessList', times=10, seconds=0.6)
    failed, result = run_module(capsys, module.main, args(atlas, entries=WANTED, purge=True, timeout=0.2,
                                                          retries=2))
    assert failed and 'gave up after 3 tries' in result['msg'] and 'nothing was changed' in result['msg'], \
        result['msg']
    assert writes(atlas) == [] and atlas.access_list(ORG, KEY_ID) == ['192.0.2.10/32', '10.1.0.0/24']


def test_legacy_whitelist_api_against_atlas_cloud_warns(capsys):
    # the default cloud URL, through a refusing loopback proxy: the warning comes before any request
    failed, result = run_module(capsys, module.main, dict(
        org_id=ORG, api_key=KEY_ID, public_key=PUBLIC, private_key=PRIVATE, api_version='v1_whitelist', retries=0,
        proxy='http://127.0.0.1:9', entries=['203.0.113.5']))
    assert any('switched off in 2021' in w and 'api_version=v2' in w for w in warning_texts(result))


def test_legacy_whitelist_api_against_ops_manager_does_not_warn(capsys, atlas):
    atlas.update_settings({'v1_base_path': '/api/public/v1.0'})
    failed, result = run_module(capsys, module.main, args(atlas, api_version='v1_whitelist',
                                                          api_path_prefix='/api/public/v1.0', entries=['192.0.2.10']))
    assert not failed and not [w for w in warning_texts(result) if '2021' in w]
