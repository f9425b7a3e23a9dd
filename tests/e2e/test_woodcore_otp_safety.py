# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Woodcore OTP flow from the real ``ansible`` command, the way docs/woodcore-otp-flow.md shows it:
the key and the OTP come from the environment, never from ``-a``. Requests and emails are counted
through the simulator's control path (``/__sim__/log``, ``/__sim__/outbox``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import requests

from ansible_collections.apiaccess.ipwhitelist.tests.e2e.conftest import BIN, ROOT, _env
from ansible_collections.apiaccess.ipwhitelist.tests.unit.conftest import WC_KEY, WC_LIVE_KEY


def control(sim, action, method='GET', body=None):
    return requests.request(method, '%s/__sim__/%s' % (sim.url, action), json=body, timeout=10).json()


def request_count(sim):
    return control(sim, 'log')['count']


def emails(sim):
    return control(sim, 'outbox')['emails']


def env_for(sim, key=WC_KEY, otp=None):
    env = {'WOODCORE_API_KEY': key, 'WOODCORE_BASE_URL': sim.url + '/api/v2'}
    if otp:
        env['WOODCORE_OTP'] = otp
    return env


def test_an_otp_for_one_ip_does_not_approve_another(woodcore, ansible_adhoc, tmp_path):
    ledger = str(tmp_path / 'pending.json')
    first = ansible_adhoc('woodcore_ipwhitelist', dict(ip='203.0.113.9', pending_state_path=ledger),
                          env=env_for(woodcore))
    assert first.rc == 0 and first.result()['pending_ip'] == '203.0.113.9', first.output
    otp = emails(woodcore)[0]['otp']
    before = request_count(woodcore)
    wrong = ansible_adhoc('woodcore_ipwhitelist', dict(ip='203.0.113.10', pending_state_path=ledger),
                          env=env_for(woodcore, otp=otp))
    assert wrong.rc != 0 and wrong.result()['changed'] is False, wrong.output
    assert 'whitelisting 203.0.113.9' in wrong.result()['msg'] and '203.0.113.10' in wrong.result()['msg']
    assert request_count(woodcore) == before  # refused before any request
    assert woodcore.key_state('payments-sandbox') == {'ip': '203.0.113.7', 'pending_ip': '203.0.113.9'}
    assert otp not in wrong.output and WC_KEY not in wrong.output


def test_after_an_expired_otp_one_rerun_requests_exactly_one_new_otp(woodcore, ansible_adhoc, tmp_path):
    ledger = str(tmp_path / 'pending.json')
    args = dict(ip='203.0.113.8', pending_state_path=ledger)
    assert ansible_adhoc('woodcore_ipwhitelist', args, env=env_for(woodcore)).rc == 0
    control(woodcore, 'expire-otps', 'POST')
    expired = ansible_adhoc('woodcore_ipwhitelist', args, env=env_for(woodcore, otp=emails(woodcore)[0]['otp']))
    assert expired.rc != 0 and 'Re-run without otp to request a new OTP' in expired.result()['msg'], expired.output
    rerun = ansible_adhoc('woodcore_ipwhitelist', args, env=env_for(woodcore))
    assert rerun.rc == 0 and rerun.result()['otp_sent'] is True, rerun.output
    assert len(emails(woodcore)) == 2
    approved = ansible_adhoc('woodcore_ipwhitelist', args, env=env_for(woodcore, otp=emails(woodcore)[1]['otp']))
    assert approved.rc == 0 and approved.result()['ip'] == '203.0.113.8', approved.output
    assert len(emails(woodcore)) == 2


def test_a_live_approval_that_locks_the_controller_out_is_reported_as_a_success(woodcore, ansible_adhoc, tmp_path):
    control(woodcore, 'settings', 'POST', {'enforce_source_ip': 'live', 'caller_ip': '203.0.113.7'})
    args = dict(ip='203.0.113.8', pending_state_path=str(tmp_path / 'pending.json'), allow_lockout=True)
    first = ansible_adhoc('woodcore_ipwhitelist', args, env=env_for(woodcore, WC_LIVE_KEY))
    assert first.rc == 0 and 'allow_lockout=true' in first.output, first.output
    otp = emails(woodcore)[0]['otp']
    approved = ansible_adhoc('woodcore_ipwhitelist', args, env=env_for(woodcore, WC_LIVE_KEY, otp))
    result = approved.result()
    assert approved.rc == 0 and result['changed'] is True and result['locked_out'] is True, approved.output
    assert 'locked out' in result['msg'] and '[WARNING]' in approved.output and 'HTTP 403' in approved.output
    assert woodcore.key_state('payments-live')['ip'] == '203.0.113.8'
    assert otp not in approved.output and WC_LIVE_KEY not in approved.output


def test_a_live_key_is_not_moved_without_allow_lockout(woodcore, ansible_adhoc, tmp_path):
    run = ansible_adhoc('woodcore_ipwhitelist', dict(ip='203.0.113.8', pending_state_path=str(tmp_path / 'p.json')),
                        env=env_for(woodcore, WC_LIVE_KEY))
    assert run.rc != 0 and 'allow_lockout=true' in run.result()['msg'], run.output
    assert [e['method'] for e in control(woodcore, 'log')['requests']] == ['GET'] and emails(woodcore) == []


def test_pending_request_handed_to_a_fresh_environment(woodcore, ansible_adhoc, tmp_path):
    """Two 'jobs' that share no file: the first's pending_request is the second's input."""
    job1 = ansible_adhoc('woodcore_ipwhitelist', dict(ip='203.0.113.9', pending_state_path=''),
                         env=env_for(woodcore))
    record = job1.result()['pending_request']
    assert job1.rc == 0 and record['ip'] == '203.0.113.9', job1.output
    again = ansible_adhoc('woodcore_ipwhitelist', dict(ip='203.0.113.9', pending_state_path='',
                                                       pending_request=record), env=env_for(woodcore))
    assert again.rc == 0 and again.result()['otp_sent'] is False and len(emails(woodcore)) == 1, again.output
    before = request_count(woodcore)
    wrong = ansible_adhoc('woodcore_ipwhitelist', dict(ip='203.0.113.10', pending_state_path='',
                                                       pending_request=record),
                          env=env_for(woodcore, otp=emails(woodcore)[0]['otp']))
    assert wrong.rc != 0 and request_count(woodcore) == before, wrong.output


def test_addresses_that_are_never_an_egress_ip_send_nothing(woodcore, ansible_adhoc, tmp_path):
    for ip in ('0.0.0.0', '255.255.255.255', '127.0.0.1', '10.0.0.1'):
        run = ansible_adhoc('woodcore_ipwhitelist', dict(ip=ip, pending_state_path=str(tmp_path / 'p.json')),
                            env=env_for(woodcore))
        assert run.rc != 0 and "ip '%s' is " % ip in run.result()['msg'] and 'lock' in run.result()['msg'], run.output
    assert request_count(woodcore) == 0 and emails(woodcore) == []


def test_a_failed_adhoc_approval_done_the_documented_way_leaks_nothing(woodcore, ansible_adhoc, tmp_path):
    """ansible-core 2.19+ prints a failed ad hoc task's arguments unmasked; the documented way keeps the
    OTP and the key out of -a, so whatever Ansible prints of them holds neither."""
    ledger = str(tmp_path / 'pending.json')
    ansible_adhoc('woodcore_ipwhitelist', dict(ip='203.0.113.8', pending_state_path=ledger), env=env_for(woodcore))
    otp = emails(woodcore)[0]['otp']
    wrong_otp = otp[::-1] if otp[::-1] != otp else 'zz' + otp[2:]
    runs = [ansible_adhoc('woodcore_ipwhitelist', dict(ip='203.0.113.8', pending_state_path=ledger), '-vvvv',
                          env=env_for(woodcore, otp=wrong_otp)),
            ansible_adhoc('woodcore_ipwhitelist', dict(ip='203.0.113.10', pending_state_path=ledger), '-vvvv',
                          env=env_for(woodcore, otp=otp))]
    for run in runs:
        assert run.rc != 0 and 'Origin: <adhoc' in run.output, run.output[-2000:]
        for secret in (otp, wrong_otp, WC_KEY):
            assert secret not in run.output


def test_an_unusable_api_key_file_is_named_not_called_a_missing_argument(woodcore, ansible_adhoc, tmp_path):
    """The argspec's required=True used to fire first: "missing required arguments: api_key"."""
    path = tmp_path / 'woodcore-key'
    path.mkdir()  # cannot be read as a file, whoever runs the test
    run = ansible_adhoc('woodcore_ipwhitelist', dict(ip='203.0.113.8', pending_state_path=str(tmp_path / 'p.json')),
                        env={'WOODCORE_API_KEY_FILE': str(path), 'WOODCORE_BASE_URL': woodcore.url + '/api/v2'})
    assert run.rc != 0 and 'WOODCORE_API_KEY_FILE names %s, which cannot be read' % path in run.result()['msg'], \
        run.output
    assert 'missing required arguments' not in run.output and request_count(woodcore) == 0


def test_two_processes_on_one_key_send_one_email(woodcore, tmp_path):
    """The record is claimed under a file lock before the request is sent: of two runs at once, one
    sends, the other sees the claim. The POST is slowed so that both runs really overlap."""
    woodcore.add_fault('slow_response', method='POST', path='ipwhitelist$', seconds=3, times=2)
    ledger = str(tmp_path / 'pending.json')
    cmd = [str(BIN / 'ansible'), 'localhost', '-m', 'apiaccess.ipwhitelist.woodcore_ipwhitelist', '-a',
           json.dumps(dict(ip='203.0.113.8', pending_state_path=ledger))]
    env = _env(tmp_path, dict(env_for(woodcore), ANSIBLE_STDOUT_CALLBACK='ansible.builtin.minimal'))
    procs = [subprocess.Popen(cmd, env=env, cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True) for dummy in range(2)]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    results = [json.loads(o.split('=>', 1)[1]) for o in outputs]
    assert sorted(r['otp_sent'] for r in results) == [False, True], outputs
    assert len(emails(woodcore)) == 1
    assert json.loads(open(ledger).read())  # the record survived


def test_two_processes_on_two_keys_keep_both_records(woodcore, tmp_path):
    woodcore.add_fault('slow_response', method='POST', path='ipwhitelist$', seconds=1, times=2)
    ledger = str(tmp_path / 'pending.json')
    procs = []
    for key in (WC_KEY, WC_LIVE_KEY):
        cmd = [sys.executable, '-c', _LEDGER_WRITER, ledger, key, woodcore.url + '/api/v2']
        procs.append(subprocess.Popen(cmd, cwd=str(ROOT), env=dict(os.environ)))
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    data = json.loads(open(ledger).read())
    assert len(data) == 2 and {r['ip'] for r in data.values()} == {'203.0.113.8'}
    assert len(emails(woodcore)) == 2


# One run of the converge in its own process (no Ansible start-up, so both really run at once).
_LEDGER_WRITER = r'''
import sys
sys.path.insert(0, '.collections')
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import woodcore as wc
ledger, key, url = sys.argv[1:4]
params = dict(api_key=key, base_url=url, ip='203.0.113.8', state='present', otp=None, request_otp=True,
              resend_after=900, allow_lockout=True, timeout=30.0, validate_certs=True, ca_path=None, proxy=None,
              retries=0, retry_max_wait=0.0)
result = wc.Converger(wc.build_api(params), params, ledger=wc.PendingLedger(ledger)).run()
assert result['otp_sent'], result
'''
