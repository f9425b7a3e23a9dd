# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Secrets never appear in output: every module at -vvvv, with --diff, in check mode and on failure."""

from __future__ import annotations

from ansible_collections.apiaccess.ipwhitelist.tests.unit.conftest import (
    CLIENT_ID, CLIENT_SECRET, KEY_ID, ORG, PRIVATE, PUBLIC, WC_KEY,
)

SECRETS = (PRIVATE, CLIENT_SECRET, WC_KEY)


def assert_clean(run, *extra):
    for secret in SECRETS + extra:
        assert secret not in run.output, 'secret %r leaked' % secret[:6]


def test_atlas_secrets_at_vvvv(atlas, ansible_adhoc):
    base = dict(base_url=atlas.url, org_id=ORG, api_key=KEY_ID)
    digest = dict(base, public_key=PUBLIC, private_key=PRIVATE)
    oauth = dict(base, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    runs = [
        ansible_adhoc('atlas_apikey_whitelist', dict(digest, entries=['203.0.113.5']), '-vvvv', '--diff'),
        ansible_adhoc('atlas_apikey_whitelist', dict(oauth, entries=['203.0.113.6'], purge=True), '-vvvv',
                      '--diff', '--check'),
        ansible_adhoc('atlas_apikey_whitelist_info', oauth, '-vvvv'),
        ansible_adhoc('atlas_apikey_whitelist', dict(digest, entries=['bad/99']), '-vvvv'),  # bad input
    ]
    # a provider error that echoes the caller's own credentials back (retried, then reported)
    atlas.add_fault('status', status=500, times=1, body={'error': 500, 'errorCode': 'X', 'detail': PRIVATE})
    runs.append(ansible_adhoc('atlas_apikey_whitelist', dict(digest, entries=['203.0.113.7']), '-vvvv'))
    atlas.add_fault('status', status=500, times=1, path='accessList',
                    body={'error': 500, 'errorCode': 'X', 'detail': '%s {bearer}' % CLIENT_SECRET})
    runs.append(ansible_adhoc('atlas_apikey_whitelist', dict(oauth, entries=['203.0.113.7']), '-vvvv'))
    assert [r.rc == 0 for r in runs] == [True, True, True, False, False, False]
    # the bearer token the simulator issued is a secret too
    tokens = tuple(atlas.tokens)
    assert tokens
    for run in runs:
        assert_clean(run, *tokens)


def test_woodcore_secrets_and_otp_at_vvvv(woodcore, ansible_adhoc, tmp_path):
    """The key and the OTP come from the environment, as the docs teach: ansible-core 2.19+ prints a
    failed ad hoc task's -a arguments unmasked, so nothing here depends on where that print is cut."""
    base = dict(base_url=woodcore.url + '/api/v2', pending_state_path=str(tmp_path / 'l.json'))
    key = {'WOODCORE_API_KEY': WC_KEY}
    runs = [ansible_adhoc('woodcore_ipwhitelist', dict(base, ip='203.0.113.8'), '-vvvv', '--diff', env=key),
            ansible_adhoc('woodcore_ipwhitelist', dict(base, ip='203.0.113.8'), '-vvvv', '--check', '--diff', env=key)]
    otp = woodcore.emails()[0]['otp']
    runs.append(ansible_adhoc('woodcore_ipwhitelist', dict(base, ip='203.0.113.8'), '-vvvv',
                              env=dict(key, WOODCORE_OTP='wrongotp777')))
    runs.append(ansible_adhoc('woodcore_ipwhitelist', dict(base, ip='203.0.113.8'), '-vvvv', '--diff',
                              env=dict(key, WOODCORE_OTP=otp)))
    runs.append(ansible_adhoc('woodcore_ipwhitelist_info', dict(base_url=base['base_url']), '-vvvv', env=key))
    runs.append(ansible_adhoc('woodcore_ipwhitelist', dict(base, ip='bad ip'), '-vvvv', env=dict(key, WOODCORE_OTP=otp)))
    assert [r.rc == 0 for r in runs] == [True, True, False, True, True, False]
    assert woodcore.key_state('payments-sandbox')['ip'] == '203.0.113.8'
    # the failed runs did print their arguments (so this test sees what a user would)
    assert all('Origin: <adhoc' in r.output for r in (runs[2], runs[5]))
    for run in runs:
        assert_clean(run, otp, 'wrongotp777')


def test_a_secret_given_in_task_arguments_is_masked_by_no_log(woodcore, ansible_playbook, tmp_path):
    """In a playbook (not ad hoc) no_log masks the OTP and the key wherever they sit in the arguments."""
    run = ansible_playbook('woodcore_secret_args.yml', '-vvvv', extra_vars=dict(
        sim_url=woodcore.url, api_key=WC_KEY, otp='wrongotp777', ledger=str(tmp_path / 'l.json')))
    assert run.rc != 0 and run.recap()['failed'] == 1, run.output[-3000:]
    assert_clean(run, 'wrongotp777')
