# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fleet run's CPU short cuts (issue 21, part 3) give exactly what the plain code gave: the cached canonical
texts, the cached order of journal items, and the journal's de-duplication."""

from __future__ import annotations

import netaddr
import pytest

from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import addresses, common
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.atlas import SecurityGroup
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.http_client import (
    DONE, UNKNOWN, Write, WriteJournal,
)


@pytest.mark.parametrize('text', ['203.0.113.10/32', '10.0.0.0/8', '0.0.0.0/0', '2001:db8::/32', '2001:db8::1/128',
                                  '::/0', '0.0.0.1/32', '::1/128'])
def test_canonical_is_str_of_the_network(text):
    net = addresses.parse_network(text, allow_any=True)
    assert addresses.canonical(net) == str(net) == text
    assert addresses.canonical(addresses.parse_network(text, allow_any=True)) is addresses.canonical(net)


def test_canonical_tells_apart_what_str_tells_apart():
    """Same first address or same integer in another family, host bits set: each keeps its own text."""
    nets = [netaddr.IPNetwork('1.2.3.4/24'), netaddr.IPNetwork('1.2.3.0/24'), netaddr.IPNetwork('::1.2.3.4/120'),
            netaddr.IPNetwork('1.2.3.4/32'), netaddr.IPNetwork('1.2.3.4/31')]
    assert [addresses.canonical(n) for n in nets] == [str(n) for n in nets]
    assert len(set(addresses.canonical(n) for n in nets)) == len(nets)


def test_canonical_of_other_objects_is_their_text():
    assert addresses.canonical(SecurityGroup('sg-0123abcd')) == str(SecurityGroup('sg-0123abcd'))
    assert addresses.canonical(netaddr.IPAddress('192.0.2.1')) == '192.0.2.1'


def test_the_canonical_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(addresses, 'CANONICAL_CACHE_SIZE', 10)
    monkeypatch.setattr(addresses, '_CANONICAL', {})
    texts = ['198.18.0.%d/32' % i for i in range(1, 50)]
    assert [addresses.canonical(addresses.parse_network(t)) for t in texts] == texts
    assert len(addresses._CANONICAL) <= 10


def test_sorted_items_order_is_unchanged():
    items = ['sg-b', '203.0.113.10/32', '10.0.0.0/8', '2001:db8::/32', 'sg-a', '10.0.0.0/16', '9.0.0.0/8']
    assert common.sorted_items(items) == ['sg-a', 'sg-b', '9.0.0.0/8', '10.0.0.0/8', '10.0.0.0/16',
                                          '203.0.113.10/32', '2001:db8::/32']
    assert common.sorted_items(items) == common.sorted_items(list(reversed(items)))


def test_journal_items_keep_first_written_order_without_repeats():
    journal = WriteJournal()
    journal.record(Write('/a', 'add', ['2', '1', '2', '3']), DONE)
    journal.record(Write('/b', 'add', ['4']), DONE)
    journal.record(Write('/a', 'add', ['3', '5', '1']), DONE)
    journal.record(Write('/a', 'add', ['6']), UNKNOWN)
    journal.record(Write('/a', 'remove', ['7']), DONE)
    assert journal.items('add', scope='/a') == ['2', '1', '3', '5']
    assert journal.items('add') == ['2', '1', '3', '4', '5']
    assert journal.items('add', UNKNOWN) == ['6']
    big = ['198.18.%d.%d/32' % (i // 250, i % 250) for i in range(5000)]
    journal.record(Write('/c', 'add', big + big[:10]), DONE)
    assert journal.items('add', scope='/c') == big
