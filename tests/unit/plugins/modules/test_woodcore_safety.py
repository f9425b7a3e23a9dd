# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Woodcore paths of issue 19, each against the simulator: a write is never reported as changed=false, an
approval whose answer was lost is re-read instead of being called refused, request_otp=false stops every
request that may email, check mode predicts the real run, an OTP given as a number works, and an unusable
WOODCORE_API_KEY_FILE is named. Each test failed on a788d62."""

from __future__ import annotations

import json

import pytest

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import fleet
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import woodcore as wc
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.common import PlanError
from ansible_collections.apiaccess.ipwhitelist.plugins.modules import woodcore_ipwhitelist as module
from ansible_collections.apiaccess.ipwhitelist.plugins.modules import woodcore_ipwhitelist_info as info_module
from ansible_collections.apiaccess.ipwhitelist.tests.unit.conftest import (
    WC_KEY, WC_LIVE_KEY, run_module, warning_texts,
)

# the seed's IP, and the one requested (one name a line: ansible-lint reads files under plugins/modules/ as
# module documentation, and warns about a tuple assignment at the top)
OLD = '203.0.113.7'
NEW = '203.0.113.8'


@pytest.fixture
def ledger(tmp_path):
    return str(tmp_path / 'pending.json')


def args(sim, ledger, **kwargs):
    base = dict(api_key=WC_KEY, base_url=sim.url + '/api/v2', ip=NEW, pending_state_path=ledger)
    base.update(kwargs)
    return base


def writes(sim):
    return [e['path'] for e in sim.log if e['method'] != 'GET']


def requested(capsys, sim, ledger, **kwargs):
    """Run 1: request NEW; returns its OTP."""
    failed, result = run_module(capsys, module.main, args(sim, ledger, **kwargs))
    assert not failed and result['otp_sent'], result
    return sim.emails()[-1]['otp']


# -- item 3: a removal whose verifying read fails still says it changed the key ---------------------------

def test_a_removal_whose_verifying_read_times_out_reports_changed(capsys, woodcore, ledger):
    # the profile read after the removal is slower than the module's timeout
    woodcore.add_fault('latency', method='GET', path='keyprofile$', seconds=4, skip=1)
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, ip=OLD, state='absent', timeout=1.0,
                                                          retries=0))
    assert failed and result['changed'] is True, result
    assert ('requested the removal of %s (the gateway acknowledged it), but the verifying read failed' % OLD
            in result['msg']), result['msg']
    assert 'timed out' in result['msg'] and 'Whether the key still whitelists %s is not known' % OLD in result['msg']
    assert 'already done: requested the removal of %s' % OLD in result['msg']
    assert result['pending_request']['action'] == 'remove'  # kept: the gateway may have emailed an OTP for it
    assert woodcore.key_state('payments-sandbox')['ip'] is None and woodcore.emails() == []
    # the re-run the message names sees the removal done, and sends nothing
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, ip=OLD, state='absent'))
    assert not failed and not result['changed'] and 'does not whitelist' in result['msg']
    assert writes(woodcore) == ['/api/v2/gateway/apiKeys/remove-whitelistedip']
    assert wc.PendingLedger(ledger).get(wc.key_fingerprint(WC_KEY)) is None  # the removal's record is done with


def test_a_live_removal_whose_verifying_read_is_refused_reports_the_lockout(capsys, woodcore, ledger):
    # a live key answers only its whitelisted IP: once the removal took effect, the read after it gets 403
    woodcore.add_fault('status', method='GET', path='keyprofile$', status=403, skip=1)
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, api_key=WC_LIVE_KEY, ip=OLD,
                                                          state='absent', allow_lockout=True))
    assert not failed and result['changed'] is True and result['locked_out'] is True, result
    assert result['msg'].startswith('removed %s (the gateway acknowledged it). This controller is now locked out'
                                    % OLD), result['msg']
    assert 'the verifying read after it was refused (HTTP 403)' in result['msg']
    assert result['ip'] is None and result['pending_request'] is None
    assert any('HTTP 403 on the verifying read' in w for w in warning_texts(result))
    assert woodcore.key_state('payments-live')['ip'] is None and WC_LIVE_KEY not in json.dumps(result)


# -- item 4: request_otp=false stops a removal request too ----------------------------------------------

@pytest.mark.parametrize('removal_requires_otp', [True, False])
def test_request_otp_false_sends_no_removal_request(capsys, woodcore, ledger, removal_requires_otp):
    woodcore.update_settings({'removal_requires_otp': removal_requires_otp})
    absent = args(woodcore, ledger, ip=OLD, state='absent', request_otp=False)
    failed, predicted = run_module(capsys, module.main, absent, check_mode=True)
    failed, result = run_module(capsys, module.main, absent)
    assert failed and result['changed'] is False, result
    assert 'refusing to request the removal of %s: request_otp=false forbids asking for an OTP email' % OLD \
        in result['msg'] and 'Nothing was sent' in result['msg']
    assert predicted['failed'] and predicted['msg'] == result['msg']  # check mode says the same
    assert woodcore.emails() == [] and writes(woodcore) == []
    assert woodcore.key_state('payments-sandbox')['ip'] == OLD


def test_request_otp_false_still_approves_a_requested_removal(capsys, woodcore, ledger):
    woodcore.update_settings({'removal_requires_otp': True})
    requested(capsys, woodcore, ledger, ip=OLD, state='absent')
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, ip=OLD, state='absent', request_otp=False,
                                                          otp=woodcore.emails()[0]['otp']))
    assert not failed and result['changed'] and result['ip'] is None and len(woodcore.emails()) == 1


# -- item 7: an approval whose answer was lost is re-read, never called refused ---------------------------

@pytest.mark.parametrize('fault', [
    dict(kind='status_after', status=502),  # the gateway approved, then its proxy failed
    dict(kind='status_after', status=504),
    dict(kind='slow_response', seconds=4),  # approved, the answer came after the read timeout
])
def test_an_approval_whose_answer_was_lost_but_was_applied_is_a_success(capsys, woodcore, ledger, fault):
    otp = requested(capsys, woodcore, ledger)
    woodcore.add_fault(method='POST', path='/approve/', **fault)
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, otp=otp, timeout=1.0, retries=0))
    assert not failed and result['changed'] is True and result['ip'] == NEW, result
    assert 'the answer to the approval was lost' in result['msg']
    assert 'the key profile read afterwards shows it was applied' in result['msg']
    assert 'refused' not in result['msg'] and 'new OTP' not in result['msg'] and 'outcome_unknown' not in result
    assert result['pending_request'] is None and otp not in json.dumps(result) and len(woodcore.emails()) == 1
    assert wc.PendingLedger(ledger).get(wc.key_fingerprint(WC_KEY)) is None


@pytest.mark.parametrize('pending_visible', [False, True])
def test_an_approval_whose_answer_was_lost_and_not_applied_says_so(capsys, woodcore, ledger, pending_visible):
    woodcore.update_settings({'pending_visible': pending_visible})
    otp = requested(capsys, woodcore, ledger)
    woodcore.add_fault('status', method='POST', path='/approve/', status=504)  # not acted on
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, otp=otp, retries=0))
    assert failed and result['changed'] is False and 'outcome_unknown' not in result, result
    assert 'the answer to the approval of whitelisting %s was lost' % NEW in result['msg']
    assert 'still shows the key whitelisting %s: the approval was not applied' % OLD in result['msg']
    assert 'The OTP may have been used up by that attempt' in result['msg']
    assert 're-run with the same otp first' in result['msg'] and 'refused the OTP' not in result['msg']
    assert ('still shows %s pending' % NEW in result['msg']) is pending_visible
    assert result['pending_request']['ip'] == NEW and otp not in json.dumps(result)
    # the way out it names works: the same OTP, no new email
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, otp=otp))
    assert not failed and result['ip'] == NEW and len(woodcore.emails()) == 1


def test_an_approval_whose_outcome_stays_unknown_says_so_and_changed(capsys, woodcore, ledger):
    otp = requested(capsys, woodcore, ledger)
    woodcore.add_fault('status_after', method='POST', path='/approve/', status=502)
    woodcore.add_fault('status', method='GET', path='keyprofile$', status=500, skip=1)  # the re-read fails too
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, otp=otp, retries=0))
    assert failed and result['changed'] is True and result['outcome_unknown'] == ['approve %s' % NEW], result
    assert 'the answer to the approval of whitelisting %s was lost' % NEW in result['msg']
    assert 'whether the approval was applied is unknown' in result['msg']
    assert 'Do not request a new OTP: re-run with the same otp' in result['msg']
    assert 'resend_after' not in result['msg'] and 'refused the OTP' not in result['msg']
    assert result['pending_request']['ip'] == NEW and otp not in json.dumps(result)
    # the re-run it advises: reads the key, sees the approval applied, sends nothing
    woodcore.log.clear()
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, otp=otp))
    assert not failed and not result['changed'] and 'already whitelists %s' % NEW in result['msg']
    assert writes(woodcore) == [] and len(woodcore.emails()) == 1


@pytest.mark.parametrize('status', [503, 429])
def test_an_approval_the_gateway_never_processed_is_not_called_a_refused_otp(capsys, woodcore, ledger, status):
    otp = requested(capsys, woodcore, ledger)
    woodcore.add_fault('status', method='POST', path='/approve/', status=status)
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, otp=otp, retries=0))
    assert failed and result['changed'] is False, result
    assert 'the approval of whitelisting %s was not processed' % NEW in result['msg']
    assert 're-run with the same otp' in result['msg'] and 'refused the OTP' not in result['msg']
    assert 'new OTP' not in result['msg'] and otp not in json.dumps(result)
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, otp=otp))
    assert not failed and result['ip'] == NEW and len(woodcore.emails()) == 1


# -- item 8: an OTP given as a number ----------------------------------------------------------------------

@pytest.mark.parametrize('value, expected', [
    (123456, '123456'), ('123456', '123456'), (' w5iaf83wnfn\n', 'w5iaf83wnfn'), (None, None),
])
def test_an_otp_given_as_a_number_or_a_pasted_line_is_its_text(value, expected):
    assert wc.validate_otp(value) == expected and wc.normalise_otp(value) == expected


@pytest.mark.parametrize('value, words', [
    (True, 'the OTP given must be text (letters and digits), got a bool'),
    (1234.5, 'got a float'),
    ([123456], 'got a list'),
    (-123456, 'must be 4 to 64 letters or digits'),
    (123, 'must be 4 to 64 letters or digits'),
])
def test_an_otp_of_another_type_is_refused_naming_the_type_not_the_value(value, words):
    with pytest.raises(PlanError) as caught:
        wc.validate_otp(value, label='the OTP given')
    assert words in str(caught.value) and str(value).strip('[]') not in str(caught.value)


def digit_otp(capsys, sim, ledger):
    """A digits6 OTP that survives int(): a number has no leading zero (one in ten OTPs has one)."""
    sim.update_settings({'otp_format': 'digits6'})
    otp = requested(capsys, sim, ledger)
    while otp.startswith('0'):
        otp = requested(capsys, sim, ledger, resend_after=0)  # replaces the pending request
    return otp


def test_an_integer_otp_option_approves(capsys, woodcore, ledger):
    otp = digit_otp(capsys, woodcore, ledger)
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, otp=int(otp)))
    assert not failed and result['ip'] == NEW and otp not in json.dumps(result)


def test_a_refused_all_digit_otp_says_a_number_loses_leading_zeros(capsys, woodcore, ledger):
    woodcore.update_settings({'otp_format': 'digits6'})
    requested(capsys, woodcore, ledger)
    failed, result = run_module(capsys, module.main, args(woodcore, ledger, otp=12345))  # 012345, as YAML gave it
    assert failed and 'refused the OTP (Invalid OTP)' in result['msg']
    assert 'written unquoted (YAML, extra vars) or in a survey integer field has lost any leading zeros: quote it' \
        in result['msg']


@pytest.mark.parametrize('shape', ['{}', ' {}\n'])
def test_a_digit_otp_from_the_environment_approves(capsys, woodcore, ledger, monkeypatch, shape):
    woodcore.update_settings({'otp_format': 'digits6'})
    otp = requested(capsys, woodcore, ledger)
    monkeypatch.setenv('WOODCORE_OTP', shape.format(otp))  # as typed, or pasted with the line's whitespace
    failed, result = run_module(capsys, module.main, args(woodcore, ledger))
    assert not failed and result['ip'] == NEW and otp not in json.dumps(result)


def fleet_params(sim, tmp_path, **kwargs):
    raw = dict(fleet={'nat': NEW}, atlas_keys=[], woodcore_base_url=sim.url + '/api/v2',
               woodcore_pending_state_path=str(tmp_path / 'pending.json'),
               woodcore_keys=[{'name': 'payments', 'api_key': WC_KEY}])
    raw.update(kwargs)
    result = ArgumentSpecValidator(fleet.argument_spec()).validate(raw)
    assert not result.error_messages, result.error_messages
    return result.validated_parameters


def test_the_fleet_takes_an_integer_otp(woodcore, tmp_path):
    """``woodcore_otps: {payments: 123456}`` in YAML, extra vars or a survey is an int (a TypeError before)."""
    woodcore.update_settings({'otp_format': 'digits6'})
    result = fleet.run(fleet_params(woodcore, tmp_path))
    assert not result['failed'] and result['pending'] == ['payments'], result['msg']
    while woodcore.emails()[-1]['otp'].startswith('0'):  # a number has no leading zero
        fleet.run(fleet_params(woodcore, tmp_path, woodcore_resend_after=0))
    otp = woodcore.emails()[-1]['otp']
    result = fleet.run(fleet_params(woodcore, tmp_path, woodcore_otps={'payments': int(otp)}))
    assert not result['failed'] and result['changed'], result['msg']
    assert woodcore.key_state('payments-sandbox') == {'ip': NEW, 'pending_ip': None}
    assert otp not in json.dumps(result)


def test_the_fleet_refuses_an_otp_of_another_type_before_any_request(woodcore, tmp_path):
    with pytest.raises(fleet.FleetError) as caught:
        fleet.run(fleet_params(woodcore, tmp_path, woodcore_otps={'payments': 1234.5}))
    assert 'Woodcore key payments: the OTP given must be text (letters and digits), got a float' in str(caught.value)
    assert '1234' not in str(caught.value) and woodcore.log == []


# -- item 11: check mode predicts the real run -----------------------------------------------------------

def _pending_fresh(capsys, sim, ledger):
    requested(capsys, sim, ledger)
    return args(sim, ledger)


def _pending_visible(capsys, sim, ledger):
    sim.update_settings({'pending_visible': True})
    requested(capsys, sim, ledger, pending_state_path='')
    return args(sim, ledger, pending_state_path='')


def _pending_handed_in(capsys, sim, ledger):
    failed, first = run_module(capsys, module.main, args(sim, ledger + '.job1'))
    return args(sim, ledger + '.job2', pending_request=first['pending_request'])


def _removal_pending(capsys, sim, ledger):
    sim.update_settings({'removal_requires_otp': True})
    requested(capsys, sim, ledger, ip=OLD, state='absent')
    return args(sim, ledger, ip=OLD, state='absent')


def _otp_for_another_ip(capsys, sim, ledger):
    otp = requested(capsys, sim, ledger, ip='203.0.113.9')
    return args(sim, ledger, otp=otp)


def _request_otp_false(capsys, sim, ledger):
    return args(sim, ledger, request_otp=False)


def _nothing_pending(capsys, sim, ledger):
    return args(sim, ledger)


def _stale_pending(capsys, sim, ledger):
    requested(capsys, sim, ledger)
    return args(sim, ledger, resend_after=0)


def _approve(capsys, sim, ledger):
    return args(sim, ledger, otp=requested(capsys, sim, ledger))


def _already(capsys, sim, ledger):
    return args(sim, ledger, ip=OLD)


SCENARIOS = dict(pending_fresh=_pending_fresh, pending_visible=_pending_visible, pending_handed_in=_pending_handed_in,
                 removal_pending=_removal_pending, otp_for_another_ip=_otp_for_another_ip,
                 request_otp_false=_request_otp_false, nothing_pending=_nothing_pending, stale_pending=_stale_pending,
                 approve=_approve, already=_already)


@pytest.mark.parametrize('scenario', sorted(SCENARIOS))
def test_check_mode_predicts_the_real_run(capsys, woodcore, ledger, scenario):
    run_args = SCENARIOS[scenario](capsys, woodcore, ledger)
    emails, sent = len(woodcore.emails()), len(writes(woodcore))
    check_failed, check = run_module(capsys, module.main, run_args, check_mode=True)
    assert len(writes(woodcore)) == sent and len(woodcore.emails()) == emails  # check mode writes nothing
    real_failed, real = run_module(capsys, module.main, run_args)
    assert (check_failed, check['changed']) == (real_failed, real['changed']), (check['msg'], real['msg'])
    if real_failed or not real['changed']:
        # a refusal or a no-op: check mode says exactly what the real run says
        assert check['msg'] == real['msg']
        assert check.get('pending_request') == real.get('pending_request')
    else:
        assert check['msg'].startswith('would ') and check['msg'].endswith('(check mode)'), check['msg']
        assert check['diff']['after'] == real['diff']['after']


# -- item 12: an unusable WOODCORE_API_KEY_FILE is named ---------------------------------------------------

@pytest.mark.parametrize('problem', ['missing', 'unreadable', 'empty'])
@pytest.mark.parametrize('main', [module.main, info_module.main], ids=['module', 'info'])
def test_an_unusable_api_key_file_is_named_with_its_path(capsys, woodcore, ledger, monkeypatch, tmp_path, problem,
                                                         main):
    path = tmp_path / 'woodcore-key'
    if problem == 'unreadable':
        path.mkdir()  # a directory cannot be read as a file, whoever runs the test (root reads 0000 files)
    elif problem == 'empty':
        path.write_text('\n')
    monkeypatch.delenv('WOODCORE_API_KEY', raising=False)
    monkeypatch.setenv('WOODCORE_API_KEY_FILE', str(path))
    given = dict(base_url=woodcore.url + '/api/v2', pending_state_path=ledger)
    if main is module.main:
        given['ip'] = NEW
    failed, result = run_module(capsys, main, given)
    assert failed and 'WOODCORE_API_KEY_FILE names %s, which ' % path in result['msg'], result['msg']
    assert ('is empty' if problem == 'empty' else 'cannot be read') in result['msg']
    assert 'missing required arguments' not in result['msg'] and woodcore.log == [] and result['requests'] == 0
    path = tmp_path / 'readable-key'
    path.write_text(WC_KEY + '\n')
    monkeypatch.setenv('WOODCORE_API_KEY_FILE', str(path))  # once readable, it works, and its content stays hidden
    failed, result = run_module(capsys, main, given)
    assert not failed and WC_KEY not in json.dumps(result)


def test_an_unusable_otp_file_is_named_and_nothing_is_sent(capsys, woodcore, ledger, monkeypatch, tmp_path):
    requested(capsys, woodcore, ledger)
    woodcore.log.clear()
    monkeypatch.delenv('WOODCORE_OTP', raising=False)
    monkeypatch.setenv('WOODCORE_OTP_FILE', str(tmp_path / 'no-such-otp'))
    failed, result = run_module(capsys, module.main, args(woodcore, ledger))
    assert failed and 'WOODCORE_OTP_FILE names %s' % (tmp_path / 'no-such-otp') in result['msg']
    assert woodcore.log == [] and len(woodcore.emails()) == 1


# -- the Converger's changed is the journal's --------------------------------------------------------------

def converge(sim, ledger, **kwargs):
    params = dict(api_key=WC_KEY, base_url=sim.url + '/api/v2', ip=NEW, state='present', otp=None, request_otp=True,
                  resend_after=900, allow_lockout=False, timeout=5.0, validate_certs=True, ca_path=None, proxy=None,
                  retries=0, retry_max_wait=0.0, allow_http=False)
    params.update(kwargs)
    api = wc.build_api(params)
    try:
        result = wc.Converger(api, params, ledger=wc.PendingLedger(ledger)).run()
    except (wc.ApiError, PlanError):
        result = None
    return result, api.client.journal.changed(api.scope)


@pytest.mark.parametrize('fault', [None, dict(kind='reset_after'), dict(kind='status', status=500),
                                   dict(kind='status', status=503), dict(kind='status', status=400)])
def test_a_real_run_says_changed_exactly_when_the_journal_does(woodcore, ledger, fault):
    """The flow's own view of changed (what check mode and the diff show) must be the journal's, from which the
    error boundary reports a real run. (A 503 answering the whitelist POST was reported as an emailed OTP,
    changed=true, though the gateway did not act on it.)"""
    if fault:
        woodcore.add_fault(method='POST', path='ipwhitelist$', **fault)
    result, journal_changed = converge(woodcore, ledger)
    assert result is None or result['changed'] == journal_changed
    assert journal_changed is (len(woodcore.emails()) == 1 or fault == dict(kind='status', status=500))
    result, journal_changed = converge(woodcore, ledger)  # nothing more to do, or a second try
    assert result is None or result['changed'] == journal_changed
