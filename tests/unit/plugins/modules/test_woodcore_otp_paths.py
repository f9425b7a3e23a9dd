# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every way an OTP approval can fail has a way out that works, against every value of the
simulator's OTP settings: an OTP approves only its own IP, a mistyped OTP keeps the request, a void
one (expired, too many attempts, nothing pending) is cleared so one re-run sends exactly one new
email, and handed-in pending requests (AWX) count like the local record."""

from __future__ import annotations

import itertools
import json

import pytest

from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import woodcore as wc
from ansible_collections.apiaccess.ipwhitelist.plugins.modules import woodcore_ipwhitelist as module
from ansible_collections.apiaccess.ipwhitelist.plugins.modules import woodcore_ipwhitelist_info as info_module
from ansible_collections.apiaccess.ipwhitelist.tests.unit.conftest import (
    WC_KEY, WC_LIVE_KEY, run_module, warning_texts,
)

SETTINGS = [dict(otp_format=f, second_post_while_pending=s, pending_visible=v, otp_error_texts=t)
            for f, s, v, t in itertools.product(('alnum11', 'digits6'), ('replace', 'reject'), (False, True),
                                                ('distinct', 'combined'))]


def ids(settings):
    return '-'.join(str(v) for v in settings.values())


@pytest.fixture
def ledger(tmp_path):
    return str(tmp_path / 'pending.json')


def args(sim, ledger, **kwargs):
    base = dict(api_key=WC_KEY, base_url=sim.url + '/api/v2', ip='203.0.113.8', pending_state_path=ledger)
    base.update(kwargs)
    return base


def writes(sim):
    return [e for e in sim.log if e['method'] != 'GET']


def last_otp(sim):
    return sim.emails()[-1]['otp']


@pytest.mark.parametrize('settings', SETTINGS, ids=ids)
def test_wrong_otp_keeps_the_request(capsys, woodcore, ledger, settings):
    woodcore.update_settings(settings)
    run_module(capsys, module.main, args(woodcore, ledger))
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, otp='wrong0otp12'))
    assert failed and not result['changed']
    if settings['otp_error_texts'] == 'distinct':
        assert 'stays pending: re-run with the correct OTP' in result['msg']
    else:  # the gateway's text does not say which: both ways out are named
        assert 'If the OTP was mistyped, re-run with the correct one' in result['msg']
    assert result['pending_request']['ip'] == '203.0.113.8'
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, otp=last_otp(woodcore)))
    assert not failed and result['changed'] and result['ip'] == '203.0.113.8' and result['approval_checked']
    assert len(woodcore.emails()) == 1


@pytest.mark.parametrize('settings', SETTINGS, ids=ids)
@pytest.mark.parametrize('void', ['expired', 'too_many_attempts', 'nothing_pending'])
def test_a_void_request_is_cleared_and_one_rerun_sends_one_new_otp(capsys, woodcore, ledger, settings, void):
    woodcore.update_settings(dict(settings, otp_attempt_limit=2))
    run_module(capsys, module.main, args(woodcore, ledger))
    first = last_otp(woodcore)
    if void == 'expired':
        woodcore.expire_otps()
        failed, result = run_module(capsys, module.main, args(woodcore, ledger, otp=first))
    elif void == 'too_many_attempts':
        run_module(capsys, module.main, args(woodcore, ledger, otp='wrong0otp12'))
        failed, result = run_module(capsys, module.main, args(woodcore, ledger, otp='wrong0otp13'))
    else:  # the gateway no longer has the request the local record knows of
        for key in woodcore.keys.values():
            key['pending'] = None
        failed, result = run_module(capsys, module.main, args(woodcore, ledger, otp=first))
    assert failed and not result['changed'] and woodcore.key_state('payments-sandbox')['ip'] == '203.0.113.7'
    rerun = args(woodcore, ledger)
    if settings['otp_error_texts'] == 'distinct':
        assert 'is void, and the pending record was cleared' in result['msg'] and 'Re-run without otp' in result['msg']
        assert result['pending_request'] is None
    else:
        assert 're-run without otp and with resend_after=0' in result['msg']
        rerun['resend_after'] = 0  # the way out the message names
    emails = len(woodcore.emails())
    failed, result = run_module(capsys, module.main, rerun)
    assert not failed and result['otp_sent'] and len(woodcore.emails()) == emails + 1
    failed, result = run_module(capsys, module.main, args(woodcore, ledger))  # and no second one
    assert not failed and not result['otp_sent'] and len(woodcore.emails()) == emails + 1
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, otp=last_otp(woodcore)))
    assert not failed and result['ip'] == '203.0.113.8'


@pytest.mark.parametrize('pending_visible', [False, True])
def test_an_otp_for_another_ip_is_refused_before_any_request(capsys, woodcore, ledger, pending_visible):
    woodcore.update_settings({'pending_visible': pending_visible})
    run_module(capsys, module.main, args(woodcore, ledger, ip='203.0.113.9'))
    otp = last_otp(woodcore)
    woodcore.log.clear()
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, ip='203.0.113.10', otp=otp))
    assert failed and not result['changed'] and result['requests'] == 0 and woodcore.log == []
    assert 'whitelisting 203.0.113.9' in result['msg'] and 'not whitelisting 203.0.113.10' in result['msg']
    assert 're-run with ip=203.0.113.9 and the OTP' in result['msg'] and otp not in json.dumps(result)
    assert woodcore.key_state('payments-sandbox') == {'ip': '203.0.113.7', 'pending_ip': '203.0.113.9'}
    # the record is intact: the right IP still approves
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, ip='203.0.113.9', otp=otp))
    assert not failed and result['ip'] == '203.0.113.9'


def test_the_key_profile_pending_field_is_checked_before_the_approval(capsys, woodcore, ledger):
    woodcore.update_settings({'pending_visible': True})
    run_module(capsys, module.main, args(woodcore, ledger, ip='203.0.113.9', pending_state_path=''))
    woodcore.log.clear()
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, ip='203.0.113.10', otp=last_otp(woodcore),
                                                          pending_state_path=''))
    assert failed and 'known from the key profile' in result['msg']
    assert [e['method'] for e in woodcore.log] == ['GET']  # the profile read, no approval


def test_approval_without_any_known_request_says_it_was_not_checked(capsys, woodcore, ledger):
    run_module(capsys, module.main, args(woodcore, ledger, pending_state_path=''))
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, otp=last_otp(woodcore),
                                                          pending_state_path=''))
    assert not failed and result['changed'] and result['approval_checked'] is False
    assert 'could not be checked before approving' in result['msg']


def test_accepted_otp_that_approved_another_ip_reports_changed(capsys, woodcore, ledger):
    # the OTP was for .9 (requested elsewhere: nothing known here), the run wanted .10
    run_module(capsys, module.main, args(woodcore, ledger, ip='203.0.113.9', pending_state_path=''))
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, ip='203.0.113.10', otp=last_otp(woodcore),
                                                          pending_state_path=''))
    assert failed and result['changed'] is True and result['ip'] == '203.0.113.9'
    assert 'whitelists 203.0.113.9, not 203.0.113.10' in result['msg']


def test_live_approval_that_locks_this_controller_out_is_a_success(capsys, woodcore, ledger):
    woodcore.update_settings({'enforce_source_ip': 'live', 'caller_ip': '203.0.113.7'})
    live = dict(api_key=WC_LIVE_KEY, allow_lockout=True)
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, **live))
    assert not failed and result['otp_sent']
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, otp=last_otp(woodcore), **live))
    assert not failed and result['changed'] and result['locked_out'] is True and result['ip'] == '203.0.113.8'
    assert 'locked out of the key' in result['msg']
    assert any('HTTP 403 on the verifying read' in w for w in warning_texts(result))
    assert woodcore.key_state('payments-live')['ip'] == '203.0.113.8'


def test_warnings_reach_the_user_on_failure(capsys, woodcore, ledger):
    woodcore.update_settings({'second_post_while_pending': 'reject'})
    live = dict(api_key=WC_LIVE_KEY, allow_lockout=True)
    run_module(capsys, module.main, args(woodcore, ledger, **live))
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, ip='203.0.113.9', **live))
    assert failed and any('allow_lockout=true' in w for w in warning_texts(result))


def test_verifying_read_failure_after_approval_reports_changed(capsys, woodcore, ledger):
    run_module(capsys, module.main, args(woodcore, ledger))
    woodcore.add_fault('status', method='GET', status=500, times=1, skip=1)  # the read after the approval
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, otp=last_otp(woodcore), retries=0))
    assert failed and result['changed'] is True and 'the OTP was accepted, so the key has changed' in result['msg']


def test_handed_in_pending_request_stands_in_for_the_local_record(capsys, woodcore, tmp_path):
    job1, job2 = str(tmp_path / 'job1.json'), str(tmp_path / 'job2.json')  # fresh environments
    failed, first = run_module(capsys, module.main, args(woodcore, job1))
    record = first['pending_request']
    assert set(record) == {'key_fingerprint', 'action', 'ip', 'requested_at'} and WC_KEY not in json.dumps(record)
    assert record['ip'] == '203.0.113.8' and record['key_fingerprint'] == wc.key_fingerprint(WC_KEY)
    # a re-run of job 1 elsewhere, with its artifact: no second email
    failed, again = run_module(capsys, module.main, args(woodcore, job2, pending_request=record))
    assert not failed and not again['otp_sent'] and len(woodcore.emails()) == 1
    assert 'the pending_request handed in' in again['msg']
    # the approval job: the IP check works from the artifact alone
    woodcore.log.clear()
    failed, wrong = run_module(capsys, module.main, args(woodcore, str(tmp_path / 'job3.json'), ip='203.0.113.10',
                                                         otp=last_otp(woodcore), pending_request=record))
    assert failed and woodcore.log == [] and 'the pending_request handed in' in wrong['msg']
    failed, approved = run_module(capsys, module.main, args(woodcore, str(tmp_path / 'job4.json'),
                                                            otp=last_otp(woodcore), pending_request=record))
    assert not failed and approved['approval_checked'] and approved['pending_request'] is None


def test_handed_in_request_for_another_key_is_ignored_with_a_warning(capsys, woodcore, ledger):
    record = dict(key_fingerprint='0' * 16, action='whitelist', ip='203.0.113.8', requested_at='2026-12-02T10:00:00Z')
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, pending_request=record))
    assert not failed and result['otp_sent'] and any('for another key' in w for w in warning_texts(result))


@pytest.mark.parametrize('record, message', [
    (dict(key_fingerprint='ab', action='whitelist', ip='203.0.113.8', requested_at='yesterday'),
     "requested_at 'yesterday' is not a UTC time"),
    (dict(key_fingerprint='ab', action='whitelist', ip='203.0.113.0/24', requested_at='2026-12-02T10:00:00Z'),
     "pending_request.ip: invalid address '203.0.113.0/24'"),
])
def test_bad_handed_in_request_fails_before_any_request(capsys, woodcore, ledger, record, message):
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, pending_request=record))
    assert failed and message in result['msg'] and woodcore.log == []


@pytest.mark.parametrize('ip, reason', [
    ('0.0.0.0', 'is the unspecified address'),
    ('255.255.255.255', 'is the broadcast address'),
    ('127.0.0.1', 'is a loopback address'),
    ('169.254.10.1', 'is a link-local address'),
    ('224.0.0.5', 'is a multicast address'),
    ('240.0.0.1', 'is a reserved address'),
    ('10.0.0.1', 'is a private address'),
    ('172.16.5.4', 'is a private address'),
    ('192.168.1.1', 'is a private address'),
    ('100.64.0.1', 'is a private address'),
])
def test_addresses_that_are_never_an_egress_ip_are_refused(capsys, woodcore, ledger, ip, reason):
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, ip=ip))
    assert failed and "ip '%s' %s" % (ip, reason) in result['msg'] and woodcore.log == []


def test_private_addresses_with_allow_private(capsys, woodcore, ledger):
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, ip='10.0.0.1', allow_private=True))
    assert not failed and woodcore.emails()[0]['ip'] == '10.0.0.1'
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, ip='127.0.0.1', allow_private=True))
    assert failed and 'loopback' in result['msg']


@pytest.mark.parametrize('ip', ['192.0.2.1', '198.51.100.1', '203.0.113.1'])
def test_documentation_ranges_stay_allowed(capsys, woodcore, ledger, ip):
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, ip=ip))
    assert not failed and result['otp_sent']


def test_otp_from_the_environment(capsys, woodcore, ledger, monkeypatch):
    run_module(capsys, module.main, args(woodcore, ledger))
    monkeypatch.setenv('WOODCORE_OTP', last_otp(woodcore))
    failed, result = run_module(capsys, module.main, args(woodcore, ledger))
    assert not failed and result['ip'] == '203.0.113.8'


@pytest.mark.parametrize('source', ['local', 'handed_in', 'profile'])
def test_info_shows_the_known_pending_request(capsys, woodcore, ledger, source):
    woodcore.update_settings({'pending_visible': source == 'profile'})
    failed, first = run_module(capsys, module.main, args(woodcore, ledger if source == 'local' else ''))
    info_args = dict(api_key=WC_KEY, base_url=woodcore.url + '/api/v2',
                     pending_state_path=ledger if source == 'local' else '')
    if source == 'handed_in':
        info_args['pending_request'] = first['pending_request']
    failed, result = run_module(capsys, info_module.main, info_args)
    known = result['pending_request']
    assert not failed and known['ip'] == '203.0.113.8' and known['action'] == 'whitelist'
    assert known['source'].startswith({'local': 'the local record', 'handed_in': 'the pending_request handed in',
                                       'profile': 'the key profile'}[source])
    assert 0 <= known['age_seconds'] < 60 and last_otp(woodcore) not in json.dumps(result)


def test_ledger_claim_is_one_step(tmp_path):
    ledger = wc.PendingLedger(str(tmp_path / 'l.json'))
    record, claimed = ledger.claim('fp', 'whitelist', '203.0.113.8', 900)
    assert claimed and record['ip'] == '203.0.113.8'
    again, claimed = ledger.claim('fp', 'whitelist', '203.0.113.8', 900)
    assert not claimed and again == record
    other, claimed = ledger.claim('fp', 'whitelist', '203.0.113.9', 900)
    assert claimed and ledger.get('fp') == other
    ledger.clear('fp', only=record)  # not the one recorded any more: left alone
    assert ledger.get('fp') == other
    ledger.clear('fp', only=other)
    assert ledger.get('fp') is None


@pytest.mark.parametrize('text, kind', [
    ('Invalid OTP', 'wrong'), ('OTP has expired', 'void'), ('Too many invalid OTP attempts; request a new OTP', 'void'),
    ('No pending IP whitelist request', 'void'), ('Invalid or expired OTP', 'unknown'), ('Bad Request', 'unknown'),
    (None, 'unknown'),
])
def test_otp_refusal_kinds(text, kind):
    assert wc.otp_refusal_kind(text) == kind
