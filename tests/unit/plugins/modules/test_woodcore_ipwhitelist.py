# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""woodcore_ipwhitelist(_info) in-process against the Woodcore simulator, for every unknown setting."""

from __future__ import annotations

import json

import pytest

from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import http_client
from ansible_collections.apiaccess.ipwhitelist.plugins.modules import woodcore_ipwhitelist as module
from ansible_collections.apiaccess.ipwhitelist.plugins.modules import woodcore_ipwhitelist_info as info_module
from ansible_collections.apiaccess.ipwhitelist.tests.unit.conftest import (
    WC_KEY, WC_LIVE_KEY, run_module, warning_texts,
)

P = '/api/v2/gateway'
PROFILE = ('GET', P + '/keyprofile')
WHITELIST = ('POST', P + '/apiKeys/ipwhitelist')
REMOVE = ('POST', P + '/apiKeys/remove-whitelistedip')


@pytest.fixture
def ledger(tmp_path):
    return str(tmp_path / 'pending.json')


def args(sim, ledger, **kwargs):
    base = dict(api_key=WC_KEY, base_url=sim.url + '/api/v2', ip='203.0.113.8', pending_state_path=ledger)
    base.update(kwargs)
    return base


def calls(sim):
    return [(e['method'], e['path']) for e in sim.log]


def approve(otp):
    return ('POST', P + '/apiKeys/ipwhitelist/approve/' + otp)


def test_already_whitelisted_sends_nothing(capsys, woodcore, ledger):
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, ip='203.0.113.7'))
    assert not failed and not result['changed'] and result['ip'] == '203.0.113.7'
    assert calls(woodcore) == [PROFILE] and woodcore.emails() == []


def test_request_then_approve_with_the_otp_from_the_outbox(capsys, woodcore, ledger):
    failed, result = run_module(capsys, module.main, args(woodcore, ledger), diff=True)
    assert not failed and result['changed'] and result['pending_approval'] and result['otp_sent']
    assert result['ip'] == '203.0.113.7' and result['pending_ip'] == '203.0.113.8'
    assert result['diff'] == {'before': {'ip': '203.0.113.7'}, 'after': {'ip': '203.0.113.8'}}
    assert 'Re-run with otp' in result['msg']
    emails = woodcore.emails()
    assert len(emails) == 1 and emails[0]['ip'] == '203.0.113.8' and emails[0]['to'] == 'ops@example.com'
    otp = emails[0]['otp']
    assert len(otp) == 11 and otp.isalnum() and otp == otp.lower()
    woodcore.log.clear()
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, otp=otp))
    assert not failed and result['changed'] and result['ip'] == '203.0.113.8' and not result['pending_approval']
    assert calls(woodcore) == [PROFILE, approve(otp), PROFILE]
    assert woodcore.key_state('payments-sandbox') == {'ip': '203.0.113.8', 'pending_ip': None}
    woodcore.log.clear()
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, otp=otp))
    assert not failed and not result['changed'] and calls(woodcore) == [PROFILE]
    assert len(woodcore.emails()) == 1  # the whole flow sent exactly one email


@pytest.mark.parametrize('pending_visible', [True, False])
def test_a_pending_request_is_not_resent(capsys, woodcore, ledger, pending_visible):
    woodcore.update_settings({'pending_visible': pending_visible})
    run_module(capsys, module.main, args(woodcore, ledger))
    woodcore.log.clear()
    failed, result = run_module(capsys, module.main, args(woodcore, ledger))
    assert not failed and not result['changed'] and result['pending_approval'] and not result['otp_sent']
    assert calls(woodcore) == [PROFILE] and len(woodcore.emails()) == 1
    assert 'already awaits approval' in result['msg']


def test_visible_pending_is_honoured_without_a_ledger(capsys, woodcore, ledger):
    woodcore.update_settings({'pending_visible': True})
    run_module(capsys, module.main, args(woodcore, ledger, pending_state_path=''))
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, pending_state_path=''))
    assert not result['changed'] and len(woodcore.emails()) == 1


def test_a_different_ip_replaces_the_pending_request(capsys, woodcore, ledger):
    run_module(capsys, module.main, args(woodcore, ledger))
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, ip='203.0.113.9'))
    assert not failed and result['otp_sent'] and result['pending_ip'] == '203.0.113.9'
    assert [e['ip'] for e in woodcore.emails()] == ['203.0.113.8', '203.0.113.9']


def test_second_post_rejected_while_pending(capsys, woodcore, ledger):
    woodcore.update_settings({'second_post_while_pending': 'reject'})
    run_module(capsys, module.main, args(woodcore, ledger))
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, ip='203.0.113.9'))
    assert failed and 'already awaiting approval' in result['msg'] and result['http_status'] == 400
    assert len(woodcore.emails()) == 1


def test_old_otp_is_void_after_replacement(capsys, woodcore, ledger):
    run_module(capsys, module.main, args(woodcore, ledger))
    first = woodcore.emails()[0]['otp']
    run_module(capsys, module.main, args(woodcore, ledger, ip='203.0.113.9'))
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, ip='203.0.113.9', otp=first))
    assert failed and 'refused the OTP (Invalid OTP)' in result['msg'] and 're-run with the correct OTP' in result['msg']


def test_wrong_otp(capsys, woodcore, ledger):
    run_module(capsys, module.main, args(woodcore, ledger))
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, otp='wrongotp123'))
    assert failed and 'refused the OTP (Invalid OTP)' in result['msg'] and not result['changed']
    assert 'wrongotp123' not in json.dumps(result)
    assert woodcore.key_state('payments-sandbox')['ip'] == '203.0.113.7'


def test_attempt_limit(capsys, woodcore, ledger):
    woodcore.update_settings({'otp_attempt_limit': 2})
    run_module(capsys, module.main, args(woodcore, ledger))
    otp = woodcore.emails()[0]['otp']
    run_module(capsys, module.main, args(woodcore, ledger, otp='wrongotp123'))
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, otp='wrongotp124'))
    assert failed and 'Too many invalid OTP attempts' in result['msg']
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, otp=otp))
    assert failed and 'No pending' in result['msg']


def test_expired_otp(capsys, woodcore, ledger):
    run_module(capsys, module.main, args(woodcore, ledger))
    otp = woodcore.emails()[0]['otp']
    woodcore.expire_otps()
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, otp=otp))
    assert failed and 'OTP has expired' in result['msg'] and 'Re-run without otp' in result['msg']


def test_digit_otps(capsys, woodcore, ledger):
    woodcore.update_settings({'otp_format': 'digits6'})
    run_module(capsys, module.main, args(woodcore, ledger))
    otp = woodcore.emails()[0]['otp']
    assert len(otp) == 6 and otp.isdigit()
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, otp=otp))
    assert not failed and result['ip'] == '203.0.113.8'


def test_request_otp_false_refuses_to_email(capsys, woodcore, ledger):
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, request_otp=False))
    assert failed and 'request_otp=false' in result['msg'] and woodcore.emails() == []


def test_check_mode_only_reads(capsys, woodcore, ledger):
    failed, result = run_module(capsys, module.main, args(woodcore, ledger), check_mode=True, diff=True)
    assert not failed and result['changed'] and result['diff']['after'] == {'ip': '203.0.113.8'}
    assert {m for m, p in calls(woodcore)} == {'GET'} and woodcore.emails() == []


def test_absent_without_otp_requirement(capsys, woodcore, ledger):
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, ip='203.0.113.7', state='absent'))
    assert not failed and result['changed'] and result['ip'] is None
    assert calls(woodcore) == [PROFILE, REMOVE, PROFILE]
    woodcore.log.clear()
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, ip='203.0.113.7', state='absent'))
    assert not failed and not result['changed'] and calls(woodcore) == [PROFILE]


def test_absent_leaves_another_ip_alone(capsys, woodcore, ledger):
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, ip='198.51.100.1', state='absent'))
    assert not failed and not result['changed'] and calls(woodcore) == [PROFILE]


def test_absent_when_removal_needs_an_otp(capsys, woodcore, ledger):
    woodcore.update_settings({'removal_requires_otp': True})
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, ip='203.0.113.7', state='absent'))
    assert not failed and result['pending_approval'] and result['otp_sent'] and result['ip'] == '203.0.113.7'
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, ip='203.0.113.7', state='absent'))
    assert not result['changed'] and len(woodcore.emails()) == 1  # not re-sent
    otp = woodcore.emails()[0]['otp']
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, ip='203.0.113.7', state='absent',
                                                          otp=otp))
    assert not failed and result['changed'] and result['ip'] is None


def test_absent_check_mode(capsys, woodcore, ledger):
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, ip='203.0.113.7', state='absent'),
                                check_mode=True)
    assert result['changed'] and result['ip'] is None and calls(woodcore) == [PROFILE]
    assert woodcore.key_state('payments-sandbox')['ip'] == '203.0.113.7'


@pytest.mark.parametrize('field', ['whitelistedIp', 'ips', 'security.ipWhitelist', 'allowed_ip'])
def test_profile_ip_field_detection(capsys, woodcore, ledger, field):
    woodcore.update_settings({'profile_ip_field': field})
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, ip='203.0.113.7'))
    assert not failed and not result['changed'] and result['profile_ip_field'] == field


def test_profile_ip_field_given_explicitly(capsys, woodcore, ledger):
    woodcore.update_settings({'profile_ip_field': 'meta.current'})
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, ip='203.0.113.7'))
    assert failed and 'cannot find the whitelisted IP' in result['msg'] and 'meta.current' in result['msg']
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, ip='203.0.113.7',
                                                          profile_ip_field='meta.current'))
    assert not failed and not result['changed']


def test_ambiguous_profile_fails_listing_candidates(capsys, woodcore, ledger):
    woodcore.update_settings({'profile_ip_field': 'whitelistedIp', 'pending_visible': True,
                              'profile_pending_field': 'ipWhitelist'})  # named like an IP field, not pending
    failed, result = run_module(capsys, module.main, args(woodcore, ledger))
    assert failed and 'several fields' in result['msg'] and 'whitelistedIp' in result['msg']
    assert 'ipWhitelist' in result['msg'] and woodcore.emails() == []


def test_live_key_change_is_refused_without_allow_lockout(capsys, woodcore, ledger):
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, api_key=WC_LIVE_KEY))
    assert failed and not result['changed'] and 'allow_lockout=true' in result['msg']
    assert 'only 203.0.113.8 can call the key' in result['msg'] and WC_LIVE_KEY not in json.dumps(result)
    assert calls(woodcore) == [PROFILE] and woodcore.emails() == []
    # removal too
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, api_key=WC_LIVE_KEY, ip='203.0.113.7',
                                                          state='absent'))
    assert failed and 'no address can call the key' in result['msg']
    assert calls(woodcore) == [PROFILE, PROFILE] and woodcore.key_state('payments-live')['ip'] == '203.0.113.7'


def test_live_key_change_with_allow_lockout_warns(capsys, woodcore, ledger):
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, api_key=WC_LIVE_KEY, allow_lockout=True))
    assert not failed and result['otp_sent'] and any('locked out' in w for w in warning_texts(result))


def test_live_key_unchanged_needs_no_opt_in(capsys, woodcore, ledger):
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, api_key=WC_LIVE_KEY, ip='203.0.113.7'))
    assert not failed and not result['changed']


def test_production_enforcement_blocks_other_sources(capsys, woodcore, ledger):
    woodcore.update_settings({'enforce_source_ip': 'live', 'caller_ip': '198.51.100.50'})
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, api_key=WC_LIVE_KEY, allow_lockout=True))
    assert failed and result['http_status'] == 403 and 'must come from its whitelisted IP' in result['msg']
    woodcore.update_settings({'caller_ip': '203.0.113.7'})
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, api_key=WC_LIVE_KEY, allow_lockout=True))
    assert not failed and result['otp_sent']


def test_ipv6_accepted_when_allowed(capsys, woodcore, ledger):
    woodcore.update_settings({'ipv6': 'accept'})
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, ip='2001:db8::5', allow_ipv6=True))
    assert not failed and woodcore.emails()[0]['ip'] == '2001:db8::5'


def test_ipv6_refused_by_the_gateway(capsys, woodcore, ledger):
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, ip='2001:db8::5', allow_ipv6=True))
    assert failed and 'Invalid IP format' in result['msg'] and woodcore.emails() == []


def test_rate_limit_429_waits_for_reset(capsys, woodcore, ledger, monkeypatch):
    slept = []
    monkeypatch.setattr(http_client.time, 'sleep', lambda s: (slept.append(s), woodcore.settings_changed()))
    woodcore.update_settings({'rate_limit': 1, 'rate_limit_window': 5})
    failed, result = run_module(capsys, module.main, args(woodcore, ledger))
    assert not failed and result['otp_sent'] and len(woodcore.emails()) == 1
    assert [e['status'] for e in woodcore.log] == [200, 429, 200]
    assert len(slept) == 1 and 0 < slept[0] <= 5


def test_lost_whitelist_response_sends_no_second_email(capsys, woodcore, ledger):
    woodcore.add_fault('reset_after', method='POST', path='/ipwhitelist$', times=1)
    failed, result = run_module(capsys, module.main, args(woodcore, ledger))
    assert not failed and result['pending_approval'] and result['otp_sent']
    assert any('response to the whitelist request was lost' in w for w in warning_texts(result))
    assert [m for m, p in calls(woodcore)].count('POST') == 1 and len(woodcore.emails()) == 1
    failed, result = run_module(capsys, module.main, args(woodcore, ledger))
    assert not result['changed'] and len(woodcore.emails()) == 1
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, otp=woodcore.emails()[0]['otp']))
    assert not failed and result['ip'] == '203.0.113.8'


def test_gateway_error_on_whitelist_post_is_not_retried(capsys, woodcore, ledger):
    woodcore.add_fault('status', method='POST', path='/ipwhitelist$', status=504, times=1)
    failed, result = run_module(capsys, module.main, args(woodcore, ledger))
    assert not failed and result['pending_approval']
    assert [e['status'] for e in woodcore.log if e['method'] == 'POST'] == [504]


def test_5xx_on_profile_read_is_retried(capsys, woodcore, ledger, monkeypatch):
    monkeypatch.setattr(http_client.time, 'sleep', lambda s: None)
    woodcore.add_fault('status', method='GET', status=503, times=2)
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, ip='203.0.113.7'))
    assert not failed and [e['status'] for e in woodcore.log] == [503, 503, 200]


def test_key_from_environment_and_default_url_by_prefix(capsys, woodcore, ledger, monkeypatch):
    monkeypatch.setenv('WOODCORE_API_KEY', WC_KEY)
    monkeypatch.setenv('WOODCORE_BASE_URL', woodcore.url + '/api/v2')
    failed, result = run_module(capsys, module.main, dict(ip='203.0.113.7', pending_state_path=ledger))
    assert not failed and not result['changed']


BAD_INPUTS = [
    (dict(ip='203.0.113.0/24'), "'203.0.113.0/24': is a range"),
    (dict(ip='2001:db8::1'), "'2001:db8::1': is IPv6"),
    (dict(ip='gateway.example.com'), "'gateway.example.com': looks like a hostname"),
    (dict(ip='203.0.113.7,203.0.113.8'), 'one address per list item'),
    (dict(ip='203.0.113.7 203.0.113.8'), 'one address per list item'),
    (dict(ip=''), "'': is empty"),
    (dict(ip='203.0.113.07'), 'leading zero'),
    (dict(ip='203.0.113.7:443'), 'port'),
    (dict(otp='abc-123!x'), 'otp must be 4 to 64 letters or digits'),
    (dict(otp='ab'), 'otp must be'),
    (dict(api_key='sk_live_abcdef0123456789'), 'must start with wc_test_ (sandbox) or wc_live_'),
    (dict(base_url='spark.test.woodcore.co'), "base_url 'spark.test.woodcore.co' is not an http(s) URL"),
    (dict(resend_after=-5), 'resend_after must be 0 or more'),
    (dict(ip='256.1.1.1'), "'256.1.1.1'"),
    (dict(ip='203.0.113'), "'203.0.113'"),
    (dict(ip='::ffff:203.0.113.7'), "'::ffff:203.0.113.7'"),
    (dict(ip='fe80::1%eth0'), "'fe80::1%eth0'"),
    (dict(ip='0xcb.0.113.7'), "'0xcb.0.113.7'"),
    (dict(ip=' 203.0.113.7'), "' 203.0.113.7'"),
    (dict(otp='abc 123'), 'otp must be 4 to 64 letters or digits'),
    (dict(otp='x' * 65), 'otp must be 4 to 64 letters or digits'),
    (dict(api_key='wc_test_'), 'api_key is only a key prefix'),
    (dict(api_key='wc_live_abc def'), 'api_key is only a key prefix, or contains whitespace'),
]


@pytest.mark.parametrize('bad, message', BAD_INPUTS)
def test_bad_input_fails_before_any_request(capsys, woodcore, ledger, bad, message):
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, **bad))
    assert failed and message in result['msg'], result['msg']
    assert woodcore.log == [] and result['requests'] == 0
    assert 'sk_live_abcdef0123456789' not in result['msg'] and 'abc-123!x' not in json.dumps(result)


def test_info_masks_secrets(capsys, woodcore):
    failed, result = run_module(capsys, info_module.main, dict(api_key=WC_KEY, base_url=woodcore.url + '/api/v2'))
    assert not failed and result['ip'] == '203.0.113.7' and result['profile_ip_field'] == 'whitelistedIp'
    assert WC_KEY not in json.dumps(result)
    assert result['profile']['apiKey'] == 'wc_test_****6789'
    assert result['profile']['email'] == 'ops@example.com'
    assert {m for m, p in calls(woodcore)} == {'GET'}


def test_info_shows_pending_when_the_gateway_does(capsys, woodcore, ledger):
    woodcore.update_settings({'pending_visible': True})
    run_module(capsys, module.main, args(woodcore, ledger))
    failed, result = run_module(capsys, info_module.main, dict(api_key=WC_KEY, base_url=woodcore.url + '/api/v2'))
    assert result['pending_ip'] == '203.0.113.8' and result['ip'] == '203.0.113.7'
