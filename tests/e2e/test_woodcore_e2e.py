# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Real ansible-playbook and ad-hoc runs against the Woodcore simulator."""

from __future__ import annotations

from ansible_collections.apiaccess.ipwhitelist.tests.unit.conftest import WC_KEY


def test_two_phase_flow_playbook(woodcore, ansible_playbook, tmp_path):
    extra = dict(sim_url=woodcore.url, api_key=WC_KEY, ledger=str(tmp_path / 'ledger.json'))
    run = ansible_playbook('woodcore.yml', extra_vars=extra)
    assert run.rc == 0, run.output[-4000:]
    assert run.recap()['failed'] == 0
    assert woodcore.key_state('payments-sandbox') == {'ip': '203.0.113.8', 'pending_ip': None}
    assert len(woodcore.emails()) == 1


def test_adhoc_check_mode_only_reads(woodcore, ansible_adhoc, tmp_path):
    run = ansible_adhoc('woodcore_ipwhitelist', dict(base_url=woodcore.url + '/api/v2', ip='203.0.113.9',
                                                     pending_state_path=str(tmp_path / 'l.json')),
                        '--check', env={'WOODCORE_API_KEY': WC_KEY})
    assert run.rc == 0 and run.result()['changed'] is True, run.output
    assert {e['method'] for e in woodcore.log} == {'GET'} and woodcore.emails() == []


def test_adhoc_bad_input_sends_nothing(woodcore, ansible_adhoc):
    run = ansible_adhoc('woodcore_ipwhitelist', dict(base_url=woodcore.url + '/api/v2', ip='203.0.113.0/24',
                                                     api_key=WC_KEY))
    assert run.rc != 0 and "'203.0.113.0/24': is a range" in run.stdout
    assert woodcore.log == []
