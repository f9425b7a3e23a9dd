# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""atlas_service_account_whitelist(_info) in-process against the Atlas simulator, for every value of the
service-account settings that stand for unknowns."""

from __future__ import annotations

import itertools
import json
import time

import pytest

from ansible_collections.apiaccess.ipwhitelist.plugins.modules import atlas_service_account_whitelist as module
from ansible_collections.apiaccess.ipwhitelist.plugins.modules import atlas_service_account_whitelist_info as info
from ansible_collections.apiaccess.ipwhitelist.tests.unit.conftest import (
    CLIENT_ID, CLIENT_SECRET, ORG, PRIVATE, PROJECT, PUBLIC, SA_ID, SA_NAME, atlas_seed, run_module, warning_texts,
)

LIST = '/api/atlas/v2/orgs/%s/serviceAccounts/%s/accessList' % (ORG, SA_ID)
OWN = '/api/atlas/v2/orgs/%s/serviceAccounts/%s/accessList' % (ORG, CLIENT_ID)
PROJECT_LIST = '/api/atlas/v2/groups/%s/serviceAccounts/%s/accessList' % (PROJECT, SA_ID)
ACCOUNTS = '/api/atlas/v2/orgs/%s/serviceAccounts' % ORG
IPINFO = '/api/private/ipinfo'
TOKEN = '/api/oauth/token'

# every combination of the settings that stand for unknowns of these lists
SETTINGS = [dict(duplicate_post=d, sa_host_render=r, accept_later_version=a)
            for d, r, a in itertools.product(('noop', 'conflict'), ('both', 'ip_only'), ('406', 'serve-latest-not-after'))]


def oauth(sim, **kwargs):
    base = dict(base_url=sim.url, org_id=ORG, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                service_account=SA_ID)
    base.update(kwargs)
    return base


def digest(sim, **kwargs):
    base = dict(base_url=sim.url, org_id=ORG, public_key=PUBLIC, private_key=PRIVATE, service_account=SA_ID)
    base.update(kwargs)
    return base


def calls(sim):
    return [(e['method'], e['path']) for e in sim.log if e['status'] != 401]


def writes(sim):
    return [e for e in sim.log if e['method'] not in ('GET',) and e['path'] != TOKEN]


@pytest.mark.parametrize('settings', SETTINGS, ids=lambda s: '-'.join(s.values()))
def test_add_then_idempotent_for_every_setting(capsys, atlas, settings):
    atlas.update_settings(settings)
    failed, result = run_module(capsys, module.main, oauth(atlas, entries=['203.0.113.5', '198.51.100.0/24']),
                                diff=True)
    assert not failed and result['changed'] and result['client_id'] == SA_ID
    assert result['added'] == ['198.51.100.0/24', '203.0.113.5/32']
    assert result['diff']['before'] == {'entries': ['10.3.0.0/24', '192.0.2.20/32']}
    assert calls(atlas) == [('POST', TOKEN), ('GET', LIST), ('POST', LIST)]
    assert sorted(atlas.sa_access_list(SA_ID)) == ['10.3.0.0/24', '192.0.2.20/32', '198.51.100.0/24',
                                                   '203.0.113.5/32']
    atlas.log.clear()
    failed, result = run_module(capsys, module.main, oauth(atlas, entries=['203.0.113.5', '198.51.100.0/24']))
    assert not failed and not result['changed'] and writes(atlas) == []
    assert calls(atlas) == [('POST', TOKEN), ('GET', LIST)]


def test_every_request_carries_the_2024_08_05_media_type(capsys, atlas):
    atlas.update_settings({'accept_later_version': '406'})
    failed, result = run_module(capsys, module.main, oauth(atlas, entries=['203.0.113.5'], purge=True,
                                                           keep=['10.0.0.0/8']))
    assert not failed and result['removed'] == ['192.0.2.20/32']


def test_purge_with_keep_posts_before_deleting(capsys, atlas):
    failed, result = run_module(capsys, module.main, digest(atlas, entries=['203.0.113.5'], purge=True,
                                                            keep=['10.0.0.0/8']))
    assert not failed and result['removed'] == ['192.0.2.20/32'] and result['added'] == ['203.0.113.5/32']
    # digest caller: no service-account list is its own, so no caller check at all
    assert calls(atlas) == [('GET', LIST), ('POST', LIST), ('DELETE', LIST + '/192.0.2.20')]


def test_absent_and_cidr_encoded_once(capsys, atlas):
    failed, result = run_module(capsys, module.main, digest(atlas, entries=['10.3.0.0/24'], state='absent'))
    assert not failed and result['removed'] == ['10.3.0.0/24']
    assert calls(atlas) == [('GET', LIST), ('DELETE', LIST + '/10.3.0.0%2F24')]
    assert atlas.sa_access_list(SA_ID) == ['192.0.2.20/32']


def test_check_mode_sends_no_write(capsys, atlas):
    failed, result = run_module(capsys, module.main, oauth(atlas, entries=['203.0.113.5'], purge=True),
                                check_mode=True, diff=True)
    assert not failed and result['changed'] and result['removed'] == ['10.3.0.0/24', '192.0.2.20/32']
    assert writes(atlas) == [] and result['diff']['after'] == {'entries': ['203.0.113.5/32']}


def test_name_is_resolved_to_the_client_id(capsys, atlas):
    failed, result = run_module(capsys, module.main, digest(atlas, service_account=SA_NAME, entries=['192.0.2.20']))
    assert not failed and result['client_id'] == SA_ID and not result['changed']
    assert calls(atlas) == [('GET', ACCOUNTS), ('GET', LIST)]
    failed, result = run_module(capsys, module.main, digest(atlas, service_account='nobody', entries=['1.2.3.4']))
    assert failed and "no service account named 'nobody'" in result['msg'] and '2 accounts checked' in result['msg']


def test_a_name_needs_the_organization(capsys, atlas):
    args = digest(atlas, service_account=SA_NAME, entries=['192.0.2.20'], project_id=PROJECT)
    del args['org_id']
    failed, result = run_module(capsys, module.main, args)
    assert failed and 'give org_id, or the client ID' in result['msg'] and atlas.log == []


@pytest.mark.parametrize('lists', ['separate', 'shared'])
def test_project_level_list(capsys, atlas, lists):
    atlas.update_settings({'sa_project_lists': lists})
    args = digest(atlas, project_id=PROJECT, entries=['203.0.113.7'])
    del args['org_id']
    failed, result = run_module(capsys, module.main, args)
    assert not failed and result['added'] == ['203.0.113.7/32']
    assert calls(atlas) == [('GET', PROJECT_LIST), ('POST', PROJECT_LIST)]
    org_list = atlas.sa_access_list(SA_ID)
    assert ('203.0.113.7/32' in org_list) == (lists == 'shared')
    assert '203.0.113.7/32' in atlas.sa_access_list(SA_ID, PROJECT)


def test_paging_over_1234_entries(capsys, atlas):
    """A list seeded beyond the documented limit is still read whole, across pages (removals only)."""
    atlas.update_settings({'rate_limit_capacity': 0, 'sa_max_entries': 5000})
    current = ['10.200.%d.%d' % (i // 250, i % 250 + 1) for i in range(1234)]
    atlas.reset(atlas_seed(sa_entries=current))
    failed, result = run_module(capsys, module.main, digest(atlas, entries=current[1230:], state='absent'))
    assert not failed and result['removed'] == ['10.200.4.231/32', '10.200.4.232/32', '10.200.4.233/32',
                                                '10.200.4.234/32']
    methods = [m for m, p in calls(atlas)]
    assert (methods.count('GET'), methods.count('POST'), methods.count('DELETE')) == (3, 0, 4)
    assert [e['query']['pageNum'] for e in atlas.log if e['method'] == 'GET' and e['status'] == 200] == ['1', '2', '3']


def test_more_entries_than_an_account_holds_are_refused_before_any_request(capsys, atlas):
    """[V] 200 entries per service account: 201 wanted is refused at plan time, naming the limit, nothing sent."""
    wanted = ['10.201.%d.%d' % (i // 250, i % 250 + 1) for i in range(201)]
    failed, result = run_module(capsys, module.main, digest(atlas, entries=wanted))
    assert failed and result['changed'] is False and result['requests'] == 0 and atlas.log == []
    assert '201 entries' in result['msg'] and 'at most 200' in result['msg']


def test_the_account_limit_refuses_the_post_and_nothing_is_half_done(capsys, atlas):
    wanted = ['10.202.0.%d' % i for i in range(1, 201)]
    failed, result = run_module(capsys, module.main, digest(atlas, entries=wanted, purge=True))
    # 2 there + 200 to add before the 2 are removed: over the limit at its peak, refused after the one read
    assert failed and result['changed'] is False and '202 entries' in result['msg'], result['msg']
    assert [e['method'] for e in atlas.log if e['status'] != 401] == ['GET']
    assert sorted(atlas.sa_access_list(SA_ID)) == ['10.3.0.0/24', '192.0.2.20/32']


def test_current_ip_adds_the_callers_address(capsys, atlas):
    atlas.update_settings({'caller_ip': '198.51.100.77'})
    failed, result = run_module(capsys, module.main, oauth(atlas, entries=['203.0.113.5'], current_ip=True))
    assert not failed and result['current_ip'] == '198.51.100.77/32'
    assert result['added'] == ['198.51.100.77/32', '203.0.113.5/32']
    assert calls(atlas) == [('POST', TOKEN), ('GET', IPINFO), ('GET', LIST), ('POST', LIST)]


def test_current_ip_unavailable_fails_before_any_write(capsys, atlas):
    atlas.add_fault('status', status=404, path='ipinfo', times=1)
    failed, result = run_module(capsys, module.main, oauth(atlas, entries=['203.0.113.5'], current_ip=True))
    assert failed and 'cannot learn the address Atlas sees this controller call from' in result['msg']
    assert 'private, undocumented' in result['msg'] and writes(atlas) == []


def test_the_calling_accounts_own_address_is_kept_under_purge(capsys, atlas):
    """The service account purges its own list: the address it calls from stays (Atlas would refuse the
    DELETE after the POST); the caller must also be on its list to call at all."""
    atlas.update_settings({'caller_ip': '198.51.100.77', 'sa_caller_ip_enforcement': 'ip_not_on_list'})
    atlas.service_accounts[CLIENT_ID]['access_list'].clear()
    run_module(capsys, module.main, oauth(atlas, service_account=CLIENT_ID, entries=['198.51.100.0/24', '10.9.0.0/16']))
    atlas.log.clear()
    failed, result = run_module(capsys, module.main, oauth(atlas, service_account=CLIENT_ID, entries=['203.0.113.5'],
                                                           purge=True))
    assert not failed and result['kept_for_caller'] == ['198.51.100.0/24'] and result['removed'] == ['10.9.0.0/16']
    assert any('kept 198.51.100.0/24' in w for w in warning_texts(result))
    # the caller's own list: no key-list read needed (the client ID says it), one ipinfo read
    assert calls(atlas) == [('POST', TOKEN), ('GET', OWN), ('GET', IPINFO), ('POST', OWN),
                            ('DELETE', OWN + '/10.9.0.0%2F16')]
    assert sorted(atlas.sa_access_list(CLIENT_ID)) == ['198.51.100.0/24', '203.0.113.5/32']


def test_calls_from_outside_the_accounts_list_are_refused(capsys, atlas):
    atlas.update_settings({'caller_ip': '198.51.100.77', 'sa_caller_ip_enforcement': 'ip_not_on_list'})
    atlas.service_accounts[CLIENT_ID]['access_list'].clear()
    run_module(capsys, module.main, oauth(atlas, service_account=CLIENT_ID, entries=['10.9.0.0/16']))
    failed, result = run_module(capsys, module.main, oauth(atlas, entries=['203.0.113.5']))
    assert failed and result['error_code'] == 'IP_ADDRESS_NOT_ON_ACCESS_LIST'
    assert 'calling from 198.51.100.77' in result['msg'] and 'service account %s' % CLIENT_ID in result['msg']


def iso(days_ago):
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(time.time() - days_ago * 86400))


def test_remove_unused_after(capsys, atlas):
    atlas.reset(atlas_seed(sa_entries=[
        {'address': '192.0.2.30', 'created': iso(400), 'last_used': iso(100)},   # stale
        {'address': '192.0.2.31', 'created': iso(400), 'last_used': iso(5)},     # in use
        {'address': '192.0.2.32', 'created': iso(120)},                          # never used, old
        {'address': '192.0.2.33', 'created': iso(10)},                           # never used, new
        {'address': '192.0.2.34', 'created': iso(400), 'last_used': iso(200)},   # stale but wanted
        {'address': '10.0.0.0/24', 'created': iso(400), 'last_used': iso(300)},  # stale but kept
    ]))
    args = digest(atlas, entries=['192.0.2.34'], keep=['10.0.0.0/8'], remove_unused_after='90d')
    failed, result = run_module(capsys, info.main, digest(atlas))
    days = dict((e['entry'], e['days_unused']) for e in result['entries'])
    assert days == {'10.0.0.0/24': 300, '192.0.2.30/32': 100, '192.0.2.31/32': 5, '192.0.2.32/32': 120,
                    '192.0.2.33/32': 10, '192.0.2.34/32': 200}
    failed, result = run_module(capsys, module.main, args, check_mode=True)
    assert not failed and result['removed'] == ['192.0.2.30/32', '192.0.2.32/32'] and writes(atlas) == []
    failed, result = run_module(capsys, module.main, args)
    assert not failed and result['removed'] == ['192.0.2.30/32', '192.0.2.32/32']
    assert sorted(atlas.sa_access_list(SA_ID)) == ['10.0.0.0/24', '192.0.2.31/32', '192.0.2.33/32', '192.0.2.34/32']


def test_remove_unused_after_refuses_to_empty_the_list(capsys, atlas):
    atlas.reset(atlas_seed(sa_entries=[{'address': '192.0.2.30', 'created': iso(400)}]))
    failed, result = run_module(capsys, module.main, digest(atlas, remove_unused_after='30d'))
    assert failed and 'allow_empty' in result['msg'] and writes(atlas) == []


@pytest.mark.parametrize('value', ['90', 'ninety days', '0d', '-5d', '3y'])
def test_bad_durations_fail_before_any_request(capsys, atlas, value):
    failed, result = run_module(capsys, module.main, digest(atlas, remove_unused_after=value))
    assert failed and "remove_unused_after %r is not a duration" % value in result['msg'] and atlas.log == []


@pytest.mark.parametrize('bad, message', [
    (dict(service_account='mdb_sa_id_XYZ'), "no service account named 'mdb_sa_id_XYZ'"),
    (dict(project_id='nothex'), "project_id 'nothex' is not an Atlas project ID"),
    (dict(entries=['10.0.0.0/33']), "'10.0.0.0/33'"),
    (dict(state='absent', current_ip=True), 'current_ip and remove_unused_after go with state=present'),
])
def test_bad_input(capsys, atlas, bad, message):
    args = digest(atlas, **bad)
    if 'project_id' in bad:
        del args['org_id']
    failed, result = run_module(capsys, module.main, args)
    assert failed and message in result['msg'], result['msg']


def test_info_one_account_and_the_audit(capsys, atlas):
    failed, result = run_module(capsys, info.main, digest(atlas, service_account=SA_NAME))
    assert not failed and result['client_id'] == SA_ID
    assert [e['entry'] for e in result['entries']] == ['10.3.0.0/24', '192.0.2.20/32']
    assert set(result['entries'][0]) == {'entry', 'ip_address', 'cidr_block', 'created', 'last_used',
                                         'last_used_address', 'count', 'days_unused'}
    args = digest(atlas)
    del args['service_account']
    failed, result = run_module(capsys, info.main, args)
    assert not failed and [a['name'] for a in result['service_accounts']] == ['automation', SA_NAME]
    assert {m for m, p in calls(atlas)} == {'GET'}
    assert CLIENT_SECRET not in json.dumps(result) and 'mdb_sa_sk_other' not in json.dumps(result)
