# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import addresses as a

# (input, canonical form)
VALID = [
    ('1.2.3.4', '1.2.3.4/32'),
    ('1.2.3.4/32', '1.2.3.4/32'),
    ('10.0.0.0/8', '10.0.0.0/8'),
    ('10.0.0.0/24', '10.0.0.0/24'),
    ('10.0.0.0/255.255.255.0', '10.0.0.0/24'),
    ('192.168.0.229', '192.168.0.229/32'),
    ('203.0.113.0/25', '203.0.113.0/25'),
    ('203.0.113.128/25', '203.0.113.128/25'),
    ('255.255.255.255', '255.255.255.255/32'),
    ('0.0.0.1', '0.0.0.1/32'),
    ('100.64.0.0/10', '100.64.0.0/10'),
    ('172.16.0.0/12', '172.16.0.0/12'),
    ('198.51.100.7/32', '198.51.100.7/32'),
    ('2001:db8::1', '2001:db8::1/128'),
    ('2001:DB8::1', '2001:db8::1/128'),
    ('2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1/128'),
    ('2001:db8:0:0:0:0:0:1', '2001:db8::1/128'),
    ('2001:db8::/32', '2001:db8::/32'),
    ('2001:DB8::/48', '2001:db8::/48'),
    ('2001:db8:abcd:12::/64', '2001:db8:abcd:12::/64'),
    ('::1', '::1/128'),
    ('fe80::/64', 'fe80::/64'),
    ('2001:db8::1/128', '2001:db8::1/128'),
    ('2600::/16', '2600::/16'),
    ('1.0.0.0/8', '1.0.0.0/8'),
]

# (input, words the error must contain)
INVALID = [
    ('', 'empty'),
    ('   ', 'empty'),
    ('1.2.3.4/24', 'host bits set; the network is 1.2.3.0/24'),
    ('10.0.0.1/8', 'the network is 10.0.0.0/8'),
    ('2001:db8::1/32', 'the network is 2001:db8::/32'),
    ('010.0.0.1', 'leading zero'),
    ('10.01.0.1', 'leading zero'),
    ('1.2.3.04', 'leading zero'),
    ('00.0.0.0', 'leading zero'),
    ('1.2.3.4/33', 'out of range 0-32'),
    ('1.2.3.4/99', 'out of range 0-32'),
    ('2001:db8::/129', 'out of range 0-128'),
    ('1.2.3.4/', 'not a number'),
    ('1.2.3.4/x', 'not a number'),
    ('1.2.3.4/-1', 'not a number'),
    ('1.2.3.4:80', 'port'),
    ('1.2.3.4:', 'port'),
    ('[2001:db8::1]:443', 'port'),
    ('[2001:db8::1]', 'port'),
    ('example.com', 'hostname'),
    ('localhost', 'hostname'),
    ('db.internal.example', 'hostname'),
    ('host-1', 'hostname'),
    ('1.2.3.4,5.6.7.8', 'one address per list item'),
    ('1.2.3.4 5.6.7.8', 'one address per list item'),
    ('1.2.3.4;5.6.7.8', 'one address per list item'),
    (' 1.2.3.4', 'one address per list item'),
    ('1.2.3.4\n', 'one address per list item'),
    ('::ffff:1.2.3.4', 'IPv4-mapped'),
    ('::ffff:102:304', 'IPv4-mapped'),
    ('::1.2.3.4', 'IPv4-mapped'),
    ('fe80::1%eth0', 'zone'),
    ('0.0.0.0/0', 'allow_any'),
    ('0.0.0.0/1', 'allow_any'),
    ('128.0.0.0/1', 'allow_any'),
    ('4.0.0.0/6', 'allow_any'),
    ('::/0', 'allow_any'),
    ('2000::/3', 'allow_any'),
    ('1.2.3', 'not a valid'),
    ('1.2.3.4.5', 'not a valid'),
    ('256.1.1.1', 'not a valid'),
    ('1.2.3.256', 'not a valid'),
    ('1..2.3', 'not a valid'),
    ('abcd', 'not a valid'),
    ('2001:db8:::1', 'not a valid'),
    ('2001:db8::1::2', 'not a valid'),
    ('12345::', 'not a valid'),
    ('0x1.2.3.4', 'hexadecimal'),
    ('1.2.3.4/255.255.0.255', 'not a valid'),
]


@pytest.mark.parametrize('value, expected', VALID)
def test_valid(value, expected):
    assert a.canonical(a.parse_network(value)) == expected


@pytest.mark.parametrize('value, words', INVALID)
def test_invalid_names_value_and_reason(value, words):
    with pytest.raises(a.AddressError) as exc:
        a.parse_network(value)
    assert repr(value) in str(exc.value)
    assert words in str(exc.value)


@pytest.mark.parametrize('value', [None, 12, ['1.2.3.4'], {'ip': '1.2.3.4'}])
def test_non_strings(value):
    with pytest.raises(a.AddressError) as exc:
        a.parse_network(value)
    assert 'must be a string' in str(exc.value)


def test_table_is_large_enough():
    assert len(VALID) + len(INVALID) >= 60


@pytest.mark.parametrize('value', ['0.0.0.0/0', '::/0', '2000::/3'])
def test_allow_any_opt_in(value):
    assert a.parse_network(value, allow_any=True).prefixlen < 16


def test_parse_networks_dedups_equivalent_spellings_and_keeps_order():
    nets = a.parse_networks(['1.2.3.4', '10.0.0.0/24', '1.2.3.4/32', '2001:DB8::1', '2001:db8:0:0:0:0:0:1'])
    assert [a.canonical(n) for n in nets] == ['1.2.3.4/32', '10.0.0.0/24', '2001:db8::1/128']


def test_parse_networks_names_every_bad_value():
    with pytest.raises(a.AddressError) as exc:
        a.parse_networks(['1.2.3.4', 'x.example', '1.2.3.4/24'])
    assert "'x.example'" in str(exc.value) and "'1.2.3.4/24'" in str(exc.value)
    assert exc.value.value == ['x.example', '1.2.3.4/24']


def test_diff_uses_canonical_identity():
    current = a.parse_networks(['1.2.3.4/32', '10.0.0.0/24', '2001:db8::1'])
    wanted = a.parse_networks(['1.2.3.4', '2001:DB8:0::1', '192.0.2.0/24'])
    to_add, to_remove = a.diff(current, wanted)
    assert [a.canonical(n) for n in to_add] == ['192.0.2.0/24']
    assert [a.canonical(n) for n in to_remove] == ['10.0.0.0/24']


def test_sorted_canonical_orders_v4_before_v6_numerically():
    nets = a.parse_networks(['2001:db8::1', '10.0.0.0/24', '9.0.0.0/8', '10.0.0.0/16'])
    assert a.sorted_canonical(nets) == ['9.0.0.0/8', '10.0.0.0/16', '10.0.0.0/24', '2001:db8::1/128']


@pytest.mark.parametrize('value, wire', [
    ('1.2.3.4', {'ipAddress': '1.2.3.4'}),
    ('10.0.0.0/24', {'cidrBlock': '10.0.0.0/24'}),
    ('2001:db8::1', {'ipAddress': '2001:db8:0:0:0:0:0:1'}),
    ('2001:db8::/32', {'cidrBlock': '2001:db8:0:0:0:0:0:0/32'}),
])
def test_atlas_wire_format(value, wire):
    assert a.atlas_wire_entry(a.parse_network(value)) == wire


def test_merge_fewest_cidrs():
    nets = a.parse_networks(['10.0.0.0/25', '10.0.0.128/25', '10.0.1.0/24', '192.0.2.7'])
    assert [a.canonical(n) for n in a.merge(nets)] == ['10.0.0.0/23', '192.0.2.7/32']


@pytest.mark.parametrize('value, expected', [('203.0.113.7', '203.0.113.7'), ('203.0.113.7/32', '203.0.113.7')])
def test_single_address(value, expected):
    assert str(a.parse_single_address(value)) == expected


@pytest.mark.parametrize('value, words', [
    ('203.0.113.0/24', 'exactly one address'),
    ('2001:db8::1', 'IPv6'),
    ('1.2.3.4,5.6.7.8', 'one address per list item'),
    ('gateway.example.com', 'hostname'),
    ('', 'empty'),
])
def test_single_address_rejects(value, words):
    with pytest.raises(a.AddressError) as exc:
        a.parse_single_address(value)
    assert words in str(exc.value)
