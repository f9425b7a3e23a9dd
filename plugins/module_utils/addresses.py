# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one address model of the collection, built on netaddr.

Every user-supplied IP or CIDR goes through :func:`parse_network`, which returns a
canonical ``netaddr.IPNetwork`` or raises :class:`AddressError` naming the value and
the reason. Canonical text is ``str(network)``: ``1.2.3.4/32``, ``2001:db8::/32``
(IPv6 compressed, lowercase). A bare address is a /32 (IPv4) or /128 (IPv6), so
``1.2.3.4`` and ``1.2.3.4/32`` are the same entry.
"""

from __future__ import annotations

import re
import traceback

NETADDR_IMPORT_ERROR = None
try:
    import netaddr
except ImportError:  # pragma: no cover - exercised by the sanity import test
    HAS_NETADDR = False
    NETADDR_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_NETADDR = True

# Networks this broad are "the whole internet" for practical purposes: they are refused
# unless the caller opts in (module option allow_any).
MIN_PREFIX_WITHOUT_ALLOW_ANY = {4: 8, 6: 16}

_IPV4_LEADING_ZERO = re.compile(r'(?:^|\.)0\d')
_IPV4_WITH_PORT = re.compile(r'^\d{1,3}(?:\.\d{1,3}){3}:\d*$')
_BRACKETED = re.compile(r'^\[.*\](?::\d*)?$')
_HOSTNAME_CHARS = re.compile(r'[g-z_]', re.IGNORECASE)


class AddressError(ValueError):
    """One or more user-supplied addresses that cannot be used; the message names each value."""

    def __init__(self, value, reason, message=None):
        self.value = value
        self.reason = reason
        super(AddressError, self).__init__(message or 'invalid address %r: %s' % (value, reason))


class AddressListError(AddressError):
    """Several bad values at once, so the user can fix them all in one go."""

    def __init__(self, errors):
        self.errors = list(errors)
        super(AddressListError, self).__init__([e.value for e in self.errors], '; '.join(e.reason for e in self.errors),
                                               message='; '.join(str(e) for e in self.errors))


def _reason_before_netaddr(text):
    """Return why ``text`` is not one IP/CIDR, for the cases netaddr reports vaguely."""
    if re.search(r'[\s,;]', text):
        return 'contains whitespace, a comma or a semicolon; give one address per list item'
    if '%' in text:
        return 'IPv6 zone indexes (%...) are not allowed'
    if _BRACKETED.match(text) or _IPV4_WITH_PORT.match(text):
        return 'looks like an address with a port; give the address only'
    addr, sep, prefix = text.partition('/')
    if ':' not in addr and re.search(r'(?:^|\.)0x', addr, re.IGNORECASE):
        return 'hexadecimal IPv4 octets are not allowed; use dotted decimal'
    if ':' not in addr and _HOSTNAME_CHARS.search(addr):
        return 'looks like a hostname; give an IP address or CIDR (names are not resolved)'
    if ':' not in addr and _IPV4_LEADING_ZERO.search(addr):
        return 'an IPv4 octet has a leading zero, which some parsers read as octal; remove it'
    if sep:
        if not prefix.isdigit() and '.' not in prefix:
            return 'prefix length %r is not a number' % prefix
        if prefix.isdigit():
            limit = 128 if ':' in addr else 32
            if int(prefix) > limit:
                return 'prefix length /%s is out of range 0-%d' % (prefix, limit)
    return None


def parse_network(value, allow_any=False):
    """Parse one entry (address or CIDR in any common notation) into a canonical IPNetwork."""
    if not isinstance(value, str):
        raise AddressError(value, 'must be a string, got %s' % type(value).__name__)
    text = value
    if not text.strip():
        raise AddressError(value, 'is empty')
    reason = _reason_before_netaddr(text)
    if reason:
        raise AddressError(value, reason)
    try:
        net = netaddr.IPNetwork(text)
    except (netaddr.AddrFormatError, ValueError, TypeError):
        raise AddressError(value, 'is not a valid IPv4/IPv6 address or CIDR')
    if net.version == 6 and (net.ip.is_ipv4_mapped() or '.' in text):
        # ::ffff:1.2.3.4 and ::1.2.3.4 would silently be a different entry from 1.2.3.4
        raise AddressError(value, 'IPv4-mapped/compatible IPv6 forms are not allowed; give the IPv4 address %s'
                           % netaddr.IPAddress(int(net.ip) & 0xFFFFFFFF))
    if net.ip != net.network:
        raise AddressError(value, 'has host bits set; the network is %s' % net.cidr)
    if not allow_any and net.prefixlen < MIN_PREFIX_WITHOUT_ALLOW_ANY[net.version]:
        raise AddressError(value, 'covers too much of the internet (shorter than /%d); set allow_any to permit it'
                           % MIN_PREFIX_WITHOUT_ALLOW_ANY[net.version])
    return net.cidr


def parse_networks(values, allow_any=False):
    """Parse a list of entries; returns the canonical networks, deduplicated, input order kept.

    All values are checked before anything is returned, and every bad value is named.
    """
    if values is None:
        return []
    errors = []
    result = []
    seen = set()
    for value in values:
        try:
            net = parse_network(value, allow_any=allow_any)
        except AddressError as exc:
            errors.append(exc)
            continue
        if net not in seen:
            seen.add(net)
            result.append(net)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise AddressListError(errors)
    return result


def parse_single_address(value, allow_ipv6=False):
    """Parse exactly one host address (Woodcore keys take one IP, never a range)."""
    net = parse_network(value, allow_any=True)
    if net.size != 1:
        raise AddressError(value, 'is a range (%s); exactly one address is allowed here' % net)
    if net.version == 6 and not allow_ipv6:
        raise AddressError(value, 'is IPv6; this service takes one IPv4 address')
    return net.ip


def canonical(net):
    """Canonical text of a network: ``1.2.3.4/32``, ``2001:db8::/32``."""
    # a project list's security group (or anything but a plain netaddr network) is its own text
    if not HAS_NETADDR or type(net) is not netaddr.IPNetwork:  # pylint: disable=unidiomatic-typecheck
        return str(net)
    key = (net.version, net.value, net.prefixlen)  # all that str() of an IPNetwork depends on
    text = _CANONICAL.get(key)
    if text is None:
        if len(_CANONICAL) >= CANONICAL_CACHE_SIZE:
            _CANONICAL.clear()
        text = _CANONICAL[key] = str(net)
    return text


# A fleet run writes each entry's text several times per list (the POST body, the journal, the result), for the
# same few thousand networks on every list: str() of a netaddr network was a tenth of the run's CPU. The texts
# are kept here, one per network, and shared (so a result holding them pickles small too).
CANONICAL_CACHE_SIZE = 65536
_CANONICAL = {}


def sort_key(net):
    """Sort order, and identity, of a canonical network: (version, first address, prefix length)."""
    return (net.version, net.first, net.prefixlen)


def unique_sorted(networks):
    """The networks deduplicated (canonical identity) and sorted."""
    by_key = dict((sort_key(n), n) for n in networks)
    return [by_key[k] for k in sorted(by_key)]


def sorted_canonical(networks):
    return [canonical(n) for n in sorted(networks, key=sort_key)]


def is_host(net):
    return net.prefixlen == (32 if net.version == 4 else 128)


def diff(current, wanted):
    """Set difference with canonical identity. Returns (to_add, to_remove), both sorted.

    Networks from parse_network are canonical already (network address, no host bits), so
    they compare as the same entry however they were spelled, and sort_key identifies them.
    Set arithmetic on those int tuples is several times cheaper than hashing netaddr objects,
    which shows with thousands of entries on each of dozens of keys.
    """
    current_by_key = dict((sort_key(n), n) for n in current)
    wanted_by_key = dict((sort_key(n), n) for n in wanted)
    to_add = [wanted_by_key[k] for k in sorted(wanted_by_key.keys() - current_by_key.keys())]
    to_remove = [current_by_key[k] for k in sorted(current_by_key.keys() - wanted_by_key.keys())]
    return to_add, to_remove


def atlas_wire_entry(net):
    """Render one network as an Atlas POST element.

    The Atlas OpenAPI patterns only admit the *full* IPv6 form (eight groups, no ``::``),
    so IPv6 is rendered that way on the wire; a host (/32, /128) goes as ``ipAddress``.
    """
    if net.version == 4:
        text = canonical(net)  # one string conversion: this runs for every entry of every key
        if is_host(net):
            return {'ipAddress': text.partition('/')[0]}
        return {'cidrBlock': text}
    full = net.ip.format(netaddr.ipv6_full)
    if is_host(net):
        return {'ipAddress': full}
    return {'cidrBlock': '%s/%d' % (full, net.prefixlen)}


def merge(networks):
    """The fewest CIDRs covering exactly the same addresses (netaddr.cidr_merge)."""
    return [n.cidr for n in netaddr.cidr_merge(list(networks))]


# Ranges RFC 5737 / RFC 3849 set aside for documentation: examples and sandbox keys use them, so
# they pass the egress check below although netaddr counts them as reserved.
_DOCUMENTATION = None
# RFC 6598 shared address space (carrier-grade NAT): never what a remote service sees as the caller.
_CGNAT = None


def egress_problem(address, allow_private=False):
    """Why ``address`` (a netaddr.IPAddress) can never be the egress IP a remote service sees, or None.

    Unspecified, broadcast, loopback, link-local, multicast and reserved addresses are refused
    outright; private addresses (RFC 1918, CGNAT 100.64.0.0/10, IPv6 unique local) unless
    ``allow_private`` (a gateway reached through a private link)."""
    global _DOCUMENTATION, _CGNAT  # pylint: disable=global-statement  # built once, netaddr may be missing
    if _DOCUMENTATION is None:
        _DOCUMENTATION = netaddr.IPSet(['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24', '2001:db8::/32'])
        _CGNAT = netaddr.IPNetwork('100.64.0.0/10')
    if address in _DOCUMENTATION:
        return None
    if int(address) == 0:
        return 'is the unspecified address'
    if address.version == 4 and int(address) == 0xFFFFFFFF:
        return 'is the broadcast address'
    if address.is_loopback():
        return 'is a loopback address'
    if address.is_link_local():
        return 'is a link-local address'
    if address.is_multicast():
        return 'is a multicast address'
    private = (address.is_ipv4_private_use() or address in _CGNAT) if address.version == 4 \
        else address.is_ipv6_unique_local()
    if private:
        return None if allow_private else (
            'is a private address (RFC 1918, carrier-grade NAT or IPv6 unique local), which a gateway on the '
            'internet never sees as a caller; set allow_private=true if this gateway is reached over a private link')
    if address.is_reserved():
        return 'is a reserved address'
    return None


def is_loopback_host(host):
    """localhost, 127.0.0.0/8 or ::1 (a URL's host part): where the simulators run."""
    if not host:
        return False
    host = host.strip('[]').lower()
    if host == 'localhost' or host.endswith('.localhost'):
        return True
    try:
        return netaddr.IPAddress(host).is_loopback()
    except (netaddr.AddrFormatError, ValueError, TypeError):
        return False


def not_on_the_internet(networks):
    """Canonical texts of the networks a service on the internet never sees as a caller: every address of them
    private, reserved, loopback, link-local or multicast (:func:`reach` is ``'none'``)."""
    return [canonical(net) for net in networks if net.version and reach(net) == 'none']


def contains(network, address):
    """Whether ``address`` (an IPAddress or IPNetwork) lies in ``network``: never across IP versions, where netaddr
    would compare the integers (0.0.0.5 in ::/96)."""
    return address.version == network.version and address in network


# What a service on the internet can never see a call come from: netaddr's not globally reachable ranges
# (IANA special-purpose registries: RFC 1918, CGNAT, loopback, link-local, 0/8, 192.0.0.0/24, 198.18/15, 240/4,
# IPv6 unique local, ...), the IPv4 reserved ranges and multicast of both families. The documentation ranges
# (RFC 5737, RFC 3849) are left out: examples and the simulators' seeds use them as public addresses.
_NON_GLOBAL = None


def _non_global():
    global _NON_GLOBAL  # pylint: disable=global-statement  # built once, netaddr may be missing
    if _NON_GLOBAL is None:
        from netaddr.ip import (  # pylint: disable=import-outside-toplevel
            IPV4_NOT_GLOBALLY_REACHABLE, IPV4_NOT_GLOBALLY_REACHABLE_EXCEPTIONS, IPV4_RESERVED,
            IPV6_NOT_GLOBALLY_REACHABLE, IPV6_NOT_GLOBALLY_REACHABLE_EXCEPTIONS,
        )
        ranges = netaddr.IPSet(IPV4_NOT_GLOBALLY_REACHABLE + IPV6_NOT_GLOBALLY_REACHABLE + ['224.0.0.0/4', 'ff00::/8'])
        for reserved in IPV4_RESERVED:  # networks and ranges
            ranges.add(reserved)
        ranges -= netaddr.IPSet(IPV4_NOT_GLOBALLY_REACHABLE_EXCEPTIONS + IPV6_NOT_GLOBALLY_REACHABLE_EXCEPTIONS)
        _NON_GLOBAL = ranges - netaddr.IPSet(['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24', '2001:db8::/32'])
    return _NON_GLOBAL


def reach(net):
    """How much of a network a service on the internet can see calls come from: ``'global'`` (all of it),
    ``'partly'`` (some addresses are private, reserved or multicast, some are not: 10.0.0.0/7) or ``'none'``
    (every address is: 10.0.0.0/8, 127.0.0.1/32). The whole network is judged, not its first address."""
    inside = netaddr.IPSet([net]) & _non_global()
    if not inside:
        return 'global'
    return 'none' if inside.size == net.size else 'partly'
