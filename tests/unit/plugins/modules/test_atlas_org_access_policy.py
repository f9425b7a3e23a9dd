# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""atlas_org_access_policy in-process against the Atlas simulator: the lockout guards refuse before any write, the
override works and warns, idempotency, check mode, diff, the warning when the requirement is turned off, and both
values of the [U] setting access_list_required_binds_service_accounts."""

from __future__ import annotations

import pytest

from ansible_collections.apiaccess.ipwhitelist.plugins.modules import atlas_org_access_policy as module
from ansible_collections.apiaccess.ipwhitelist.tests.simulators.atlas import AtlasSimulator
from ansible_collections.apiaccess.ipwhitelist.tests.unit.conftest import (
    CLIENT_ID, CLIENT_SECRET, KEY2_ID, KEY_ID, ORG, PRIVATE, PUBLIC, PUBLIC2, SA_ID, SA_NAME, atlas_seed, run_module,
    warning_texts,
)

SETTINGS = '/api/atlas/v2/orgs/%s/settings' % ORG
TOKEN = '/api/oauth/token'
CALLER_IP = '192.0.2.10'  # on the calling key's list (KEY_ID: 192.0.2.10, 10.1.0.0/24)


def seed(required=False, key2=('198.51.100.0/24',), client=('192.0.2.10',), caller=('192.0.2.10', '10.1.0.0/24')):
    """Every credential with entries by default; the keyword arguments empty one list or another."""
    data = atlas_seed(entries=caller)
    data['orgs'][0]['api_keys'][1]['access_list'] = list(key2)
    data['service_accounts'][0]['access_list'] = list(client)  # CLIENT_ID, the OAuth caller
    data['orgs'][0]['settings'] = {'apiAccessListRequired': required}
    return data


@pytest.fixture
def sim():
    with AtlasSimulator(seed=seed(), caller_ip=CALLER_IP) as simulator:
        yield simulator


def args(sim, want=True, **kwargs):
    base = dict(base_url=sim.url, org_id=ORG, public_key=PUBLIC, private_key=PRIVATE, require_api_access_list=want)
    base.update(kwargs)
    return base


def oauth(sim, want=True, **kwargs):
    base = dict(base_url=sim.url, org_id=ORG, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                require_api_access_list=want)
    base.update(kwargs)
    return base


def writes(sim):
    return [(e['method'], e['path'], e['status']) for e in sim.log if e['method'] != 'GET' and e['path'] != TOKEN]


def required(sim):
    return sim.org_settings_of(ORG)['apiAccessListRequired']


def test_turning_the_requirement_on_then_idempotent(capsys, sim):
    failed, result = run_module(capsys, module.main, args(sim), diff=True)
    assert not failed, result['msg']
    assert result['changed'] and result['previous'] is False and result['require_api_access_list'] is True
    assert result['settings']['apiAccessListRequired'] is True
    assert result['diff'] == {'before': {'apiAccessListRequired': False}, 'after': {'apiAccessListRequired': True}}
    assert result['empty_lists'] == []
    assert writes(sim) == [('PATCH', SETTINGS, 200)]
    assert required(sim) is True
    # every list was read before the PATCH
    paths = [e['path'] for e in sim.log if e['status'] != 401]
    patch_at = paths.index(SETTINGS, 1)
    for key in (KEY_ID, KEY2_ID):
        assert paths.index('/api/atlas/v2/orgs/%s/apiKeys/%s/accessList' % (ORG, key)) < patch_at
    for account in (CLIENT_ID, SA_ID):
        assert paths.index('/api/atlas/v2/orgs/%s/serviceAccounts/%s/accessList' % (ORG, account)) < patch_at
    assert paths.index('/api/private/ipinfo') < patch_at
    sim.log.clear()
    failed, result = run_module(capsys, module.main, args(sim))
    assert not failed and not result['changed'] and writes(sim) == []
    # idempotent: the settings, and nothing else
    assert [e['path'] for e in sim.log if e['status'] != 401] == [SETTINGS]


@pytest.mark.parametrize('case', ['api_key', 'service_account', 'caller_empty', 'caller_not_covered',
                                  'caller_address_unknown'])
def test_each_lockout_is_refused_before_any_write(capsys, case):
    kwargs = dict(api_key=dict(key2=()), service_account=dict(client=()), caller_empty=dict(caller=()),
                  caller_not_covered={}, caller_address_unknown={})[case]
    with AtlasSimulator(seed=seed(**kwargs), caller_ip=CALLER_IP) as sim:
        if case == 'caller_not_covered':
            sim.update_settings({'caller_ip': '203.0.113.99'})
        if case == 'caller_address_unknown':
            sim.add_fault('status', method='GET', path='/api/private/ipinfo', status=404, times=10)
        failed, result = run_module(capsys, module.main, args(sim))
        assert failed
        assert 'refusing to require API access lists in organization %s' % ORG in result['msg']
        assert 'Nothing was changed' in result['msg'] and 'allow_lockout' in result['msg']
        assert writes(sim) == [] and required(sim) is False
        assert not result['changed']
        msg = result['msg']
        if case == 'api_key':
            assert 'API key %s (%s, "reporting") has an empty access list' % (PUBLIC2, KEY2_ID) in msg
        elif case == 'service_account':
            # the service account is named, and the binding is said to be undocumented
            assert 'service account automation (%s) has an empty access list' % CLIENT_ID in msg
            assert 'not documented' in msg
        elif case == 'caller_empty':
            assert 'API key %s (%s, "automation", the one this run calls with) has an empty access list' \
                % (PUBLIC, KEY_ID) in msg
        elif case == 'caller_not_covered':
            assert 'does not cover 203.0.113.99/32' in msg and 'the one this run calls with' in msg
        else:
            assert 'cannot tell whether its access list covers this controller' in msg


def test_every_offender_is_named_in_one_refusal(capsys):
    with AtlasSimulator(seed=seed(key2=(), client=()), caller_ip=CALLER_IP) as sim:
        failed, result = run_module(capsys, module.main, args(sim))
        assert failed and PUBLIC2 in result['msg'] and CLIENT_ID in result['msg'] and writes(sim) == []


def test_allow_lockout_overrides_and_warns_naming_each(capsys):
    with AtlasSimulator(seed=seed(key2=(), client=()), caller_ip='203.0.113.99') as sim:
        failed, result = run_module(capsys, module.main, args(sim, allow_lockout=True))
        assert not failed and result['changed'] and required(sim) is True
        assert writes(sim) == [('PATCH', SETTINGS, 200)]
        warnings = [w for w in warning_texts(result) if w.startswith('allow_lockout=true')]
        assert len(warnings) == 1
        for name in (PUBLIC2, CLIENT_ID, 'does not cover 203.0.113.99/32'):
            assert name in warnings[0]
        assert sorted(c['id'] for c in result['empty_lists']) == sorted([KEY2_ID, CLIENT_ID])


def test_check_mode_predicts_and_sends_no_write(capsys, sim):
    failed, result = run_module(capsys, module.main, args(sim), check_mode=True, diff=True)
    assert not failed and result['changed'] and result['settings']['apiAccessListRequired'] is True
    assert result['diff']['after'] == {'apiAccessListRequired': True}
    assert writes(sim) == [] and required(sim) is False


def test_check_mode_refuses_as_a_real_run_would(capsys):
    with AtlasSimulator(seed=seed(key2=()), caller_ip=CALLER_IP) as sim:
        failed, result = run_module(capsys, module.main, args(sim), check_mode=True)
        assert failed and PUBLIC2 in result['msg'] and writes(sim) == []


def test_turning_it_off_warns_naming_every_empty_list(capsys):
    with AtlasSimulator(seed=seed(required=True, key2=(), client=()), caller_ip=CALLER_IP) as sim:
        failed, result = run_module(capsys, module.main, args(sim, want=False), diff=True)
        assert not failed and result['changed'] and required(sim) is False
        assert result['diff'] == {'before': {'apiAccessListRequired': True}, 'after': {'apiAccessListRequired': False}}
        warnings = [w for w in warning_texts(result) if 'no longer requires API access lists' in w]
        assert len(warnings) == 1
        assert 'from any address on the internet' in warnings[0]
        assert PUBLIC2 in warnings[0] and KEY2_ID in warnings[0] and CLIENT_ID in warnings[0]
        assert writes(sim) == [('PATCH', SETTINGS, 200)]
        sim.log.clear()
        failed, result = run_module(capsys, module.main, args(sim, want=False))
        assert not failed and not result['changed'] and writes(sim) == [] and not warning_texts(result)


def test_turning_it_off_with_every_list_set_does_not_warn(capsys):
    with AtlasSimulator(seed=seed(required=True), caller_ip=CALLER_IP) as sim:
        failed, result = run_module(capsys, module.main, args(sim, want=False))
        assert not failed and result['changed'] and not warning_texts(result)


@pytest.mark.parametrize('binds', [True, False])
def test_the_service_account_binding_in_both_values(capsys, binds):
    """The module is conservative whatever the truth is: an empty service-account list refuses the requirement in
    both values of the setting. What the value changes is what happens to that account afterwards."""
    with AtlasSimulator(seed=seed(client=()), caller_ip=CALLER_IP,
                        access_list_required_binds_service_accounts=binds) as sim:
        failed, result = run_module(capsys, module.main, oauth(sim))
        assert failed and 'service account automation (%s, the one this run calls with) has an empty access list' \
            % CLIENT_ID in result['msg'] and writes(sim) == []
        assert 'binds service accounts is not documented' in result['msg']
        failed, result = run_module(capsys, module.main, oauth(sim, allow_lockout=True))
        assert not failed and result['changed'] and required(sim) is True
        # afterwards: the empty-listed service account is locked out, or not, as the setting says
        failed, result = run_module(capsys, module.main, oauth(sim, want=False))
        if binds:
            assert failed and result.get('error_code') == 'ORG_REQUIRES_ACCESS_LIST' and required(sim) is True
            assert 'not on the access list of the service account %s' % CLIENT_ID in result['msg']
        else:
            assert not failed and result['changed'] and required(sim) is False


@pytest.mark.parametrize('code', ['ORG_REQUIRES_ACCESS_LIST', 'RESOURCE_REQUIRES_ACCESS_LIST',
                                  'IP_ADDRESS_NOT_ON_ACCESS_LIST'])
def test_a_locked_out_key_cannot_read_and_is_told_why(capsys, code):
    with AtlasSimulator(seed=seed(required=True, caller=()), caller_ip=CALLER_IP,
                        access_list_required_error=code) as sim:
        failed, result = run_module(capsys, module.main, args(sim, want=False))
        assert failed and result['http_status'] == 403 and result['error_code'] == code and writes(sim) == []
        assert 'Add %s to that list first' % CALLER_IP in result['msg']


def test_a_lost_patch_answer_is_settled_by_reading_the_settings(capsys, sim):
    sim.add_fault('reset_after', method='PATCH', path='/settings$')
    failed, result = run_module(capsys, module.main, args(sim))
    assert failed and required(sim) is True
    assert result['changed'] is True
    assert 'already done: changed the organization setting apiAccessListRequired=true' in result['msg']
    assert 'outcome_unknown' not in result


def test_a_failed_patch_says_nothing_was_done(capsys, sim):
    sim.add_fault('status', method='PATCH', path='/settings$', status=403,
                  body={'error': 403, 'errorCode': 'USER_UNAUTHORIZED', 'detail': 'not an owner', 'reason': 'Forbidden',
                        'parameters': []})
    failed, result = run_module(capsys, module.main, args(sim))
    assert failed and not result['changed'] and 'already done: nothing' in result['msg'] and required(sim) is False


def test_a_reader_cannot_change_the_setting(capsys):
    data = seed()
    data['orgs'][0]['api_keys'][0]['roles'] = ['ORG_READ_ONLY']
    with AtlasSimulator(seed=data, caller_ip=CALLER_IP) as sim:
        failed, result = run_module(capsys, module.main, args(sim))
        assert failed and result['http_status'] == 403 and required(sim) is False


def test_bad_options_fail_before_any_request(capsys, sim):
    failed, result = run_module(capsys, module.main, args(sim, org_id='nothex'))
    assert failed and 'org_id' in result['msg'] and sim.log == []
    failed, result = run_module(capsys, module.main, args(sim, concurrency=0))
    assert failed and 'concurrency' in result['msg'] and sim.log == []


@pytest.mark.parametrize('concurrency', [1, 8])
def test_the_lists_are_read_at_any_concurrency(capsys, concurrency):
    data = seed()
    data['orgs'][0]['api_keys'] += [{'id': '6a00000000000000000001%02x' % i, 'publicKey': 'key%05d' % i,
                                     'access_list': ['203.0.113.%d' % i]} for i in range(20)]
    with AtlasSimulator(seed=data, caller_ip=CALLER_IP) as sim:
        failed, result = run_module(capsys, module.main, args(sim, concurrency=concurrency))
        assert not failed and result['changed']
        reads = [e for e in sim.log if e['path'].endswith('/accessList') and e['status'] == 200]
        assert len(reads) == 22 + 2
        assert SA_NAME  # the seed's other account is read too (its list is among the 24)
