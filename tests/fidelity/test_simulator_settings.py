# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The simulators' named settings refuse a value they do not know: a typo in a test (``'Strict'``, ``'acept'``)
would otherwise quietly test another value. Every enumerated setting is documented with its values."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ansible_collections.apiaccess.ipwhitelist.tests.simulators.atlas import AtlasSimulator
from ansible_collections.apiaccess.ipwhitelist.tests.simulators.woodcore import WoodcoreSimulator

DOCS = Path(__file__).resolve().parents[2] / 'docs' / 'simulators.md'


@pytest.mark.parametrize('simulator', [AtlasSimulator, WoodcoreSimulator], ids=['atlas', 'woodcore'])
def test_every_enumerated_setting_takes_its_values_and_refuses_others(simulator):
    sim = simulator()
    for name, values in sorted(simulator.CHOICES.items()):
        assert sim.SETTINGS[name] in values, name  # the default is one of them
        for value in values:
            sim.update_settings({name: value})
            assert sim.settings[name] == value
        with pytest.raises(ValueError, match=r'setting %s=.*not one of' % name):
            sim.update_settings({name: str(values[0]).swapcase() + 'x'})


def test_the_review_s_typos_are_refused_and_nothing_changes():
    sim = AtlasSimulator()
    before = dict(sim.settings)
    for typo in ({'v1_whitelist': 'serve'}, {'query_boolean': 'Strict'}, {'envelope_single_field': 'bogus'},
                 {'plain_json_post': 'acept'}, {'refuse_remove_caller': 'false'}, {'rate_limit_capacity': '500'},
                 {'project_post_busy_seconds': True}):
        with pytest.raises(ValueError) as failure:
            sim.update_settings(typo)
        name = list(typo)[0]
        assert name in str(failure.value) and repr(typo[name]) in str(failure.value)
    assert sim.settings == before
    sim.update_settings({'caller_ip': '203.0.113.9', 'rate_limit_capacity': 10, 'rate_limit_refill': 2.5})


@pytest.mark.parametrize('simulator', [AtlasSimulator, WoodcoreSimulator], ids=['atlas', 'woodcore'])
def test_docs_list_every_value_of_every_enumerated_setting(simulator):
    text = DOCS.read_text(encoding='utf-8')
    for name, values in simulator.CHOICES.items():
        rows = [line for line in text.splitlines() if line.startswith('|') and '`%s`' % name in line.split('|')[1]]
        assert rows, 'docs/simulators.md has no row for %s' % name
        listed = set(re.findall(r'`([^`]+)`', ' '.join(row.split('|')[2] for row in rows)))
        assert set(str(v) for v in values) <= listed, (name, values, listed)
