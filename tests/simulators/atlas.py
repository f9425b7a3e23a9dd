# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""MongoDB Atlas organization API key access list simulator.

Follows ``shared/specs`` (README, the OpenAPI extract and the recorded CLI traffic). What the
specs leave unknown is a named setting (``SETTINGS``), documented in docs/simulators.md.

Seed (YAML/JSON)::

    orgs:
      - id: 5f0000000000000000000001
        settings: {apiAccessListRequired: true}   # optional, the organization settings (default: off)
        api_keys:
          - {id: 6a0000000000000000000001, publicKey: abcdefgh, privateKey: <uuid>, desc: ci,
             roles: [ORG_OWNER], access_list: [203.0.113.10, 10.0.0.0/24]}
    service_accounts:
      - {client_id: mdb_sa_id_<24 hex>, client_secret: mdb_sa_sk_x, name: ci-runner, orgs: [<org id>],
         projects: [<project id>], access_list: [203.0.113.10]}
    projects:
      - {id: <24 hex>, name: prod, org: <org id>}

An access-list entry in a seed is an address string, or ``{address, created, last_used}`` (UTC
times like 2026-01-01T00:00:00Z) for lists with usage data. A time may also be relative to when the seed is
loaded, ``now``, ``now-120d``, ``now+6h`` (units s, m, h, d, w), so a seed file keeps its meaning as time goes
by (a project entry's ``delete_after`` too).
"""

from __future__ import annotations

import base64
import datetime
import functools
import ipaddress
import json
import re
import secrets
import time
from collections import OrderedDict
from urllib.parse import unquote

from .base import DigestVerifier, Response, Simulator, TokenBucket, retry_after

V2_MEDIA_TYPE = 'application/vnd.atlas.2023-01-01+json'
V2_CONTENT_TYPE = V2_MEDIA_TYPE + ';charset=utf-8'
SA_VERSION = '2024-08-05'
SA_MEDIA_TYPE = 'application/vnd.atlas.%s+json' % SA_VERSION
RATE_LIMITS_VERSION = '2025-03-12'
RATE_LIMITS_PREVIEW = 'application/vnd.atlas.preview+json'
VERSION_RE = re.compile(r'application/vnd\.atlas\.(\d{4}-\d{2}-\d{2})\+json')
NOW = '%Y-%m-%dT%H:%M:%SZ'
V1_CONTENT_TYPE = 'application/json'
ID_RE = re.compile(r'^[a-f0-9]{24}$')
REALM = 'MMS Public API'
# [R] the digest first leg, byte for byte (atlas-recorded/atlas-cli-e2e-TestSetup): Jackson's pretty printer
# (two-space indent, " : "), errorCode UNEXPECTED_ERROR, no parameters, no trailing newline; 142 bytes.
CHALLENGE_BODY = json.dumps({'error': 401, 'reason': 'Unauthorized',
                             'detail': 'You are not authorized for this resource.', 'errorCode': 'UNEXPECTED_ERROR'},
                            indent=2, separators=(',', ' : ')).encode('utf-8')


class AtlasDigest(DigestVerifier):
    """Atlas's challenge [R][V]: realm, domain, nonce, algorithm, qop, stale; no ``opaque=`` (neither the recorded
    TestSetup legs nor the documentation example carry one)."""

    def challenge(self):
        return re.sub(r' opaque="[^"]*",', '', super().challenge())


@functools.lru_cache(maxsize=65536)
def _parse_entry_value(value):
    """The network of an entry value, or None; a fleet rollout posts the same values to every key, and
    the simulator's own CPU time should not stand in for Atlas's in the benchmarks."""
    try:
        if '/' in value:
            return ipaddress.ip_network(value, strict=True)
        return ipaddress.ip_network(ipaddress.ip_address(value))
    except ValueError:
        return None


def _render_ip(address, full_ipv6):
    if address.version == 6 and full_ipv6:
        return ':'.join('%x' % int(group, 16) for group in address.exploded.split(':'))
    return str(address)


ADDRESS_FIELDS = frozenset(('ipAddress', 'cidrBlock'))


def _one_address_field(element, nullable):
    """[V] An API-key or service-account POST element is an object with exactly one of ipAddress / cidrBlock and
    no other field. ``nullable``: a field given as null counts as absent (the service-account schema); else it
    counts as given (and its value is refused as no address)."""
    if not isinstance(element, dict) or not element.keys() <= ADDRESS_FIELDS:
        return False
    given = 0
    for value in element.values():
        given += value is not None or not nullable
    return given == 1


@functools.lru_cache(maxsize=65536)
def _entry_texts(net, full_ipv6):
    """(cidrBlock, ipAddress or None, the self link's last segment) of an API key's entry: the same for the same
    network, so a list rendered again (every page, every POST's answer) does not format it again."""
    cidr = '%s/%d' % (_render_ip(net.network_address, full_ipv6), net.prefixlen)
    if net.num_addresses == 1:
        ip = _render_ip(net.network_address, full_ipv6)
        return cidr, ip, ip
    return cidr, None, cidr.replace('/', '%2F')


class AtlasSimulator(Simulator):
    name = 'atlas'
    SETTINGS = {
        # [U] POST of an entry that is already on the list: 'noop' (200) or 'conflict'
        # (409 ADDRESS_ALREADY_IN_ACCESS_LIST).
        'duplicate_post': 'noop',
        # [U] IPv6 entries: 'accept' or 'reject' (400 IPV6_UNSUPPORTED).
        'ipv6': 'accept',
        # [U] How IPv6 entries are rendered back: 'full' (2001:db8:0:0:0:0:0:1, the only form the
        # OpenAPI patterns admit) or 'compressed' (2001:db8::1).
        'ipv6_render': 'full',
        # Caller-IP enforcement [R]: 'off'; 'ip_not_on_list' (403 IP_ADDRESS_NOT_ON_ACCESS_LIST when
        # the caller's IP is not on the calling key's list); 'access_denied' (the same check
        # answered 401 API_KEY_ACCESS_LIST_ACCESS_DENIED); 'org_requires_list' (403
        # ORG_REQUIRES_ACCESS_LIST while the calling key's list is empty).
        'caller_ip_enforcement': 'off',
        # The caller's IP as the service sees it (everything here is loopback); None = socket peer.
        'caller_ip': None,
        # [V] "you cannot remove the requesting IP address from the requesting organization API key":
        # 400 CANNOT_REMOVE_CALLER_FROM_ACCESS_LIST. On by default.
        'refuse_remove_caller': True,
        # Token buckets per endpoint set and scope key [V] (api-rate-limits.rst), each request takes one;
        # 429 RATE_LIMITED_TOKEN_BUCKET with Retry-After when empty. These two are the Programmatic API Keys
        # set (ORGANIZATION scope): capacity 500, refill 250 per 60 s (per second here). rate_limit_capacity 0
        # turns every bucket off (tests of request shapes and counts).
        'rate_limit_capacity': 500,
        'rate_limit_refill': 250 / 60.0,
        # [I] how a bucket refills: 'interval' (the docs' words, "refillRate tokens every refillDurationSeconds",
        # and their sample 429, "retry after 55 seconds" with 5 per 60 s, which a continuous refill could not
        # say) or 'continuous' (a token every 60/refillRate seconds).
        'rate_limit_refill_mode': 'interval',
        # [V, sources conflict: 10 or 50] OAuth token requests per minute per (caller IP, client); over it
        # 429 RATE_LIMITED. 0 turns it off.
        'oauth_token_limit': 10,
        # OAuth bearer token lifetime [V: 3600 s].
        'token_ttl': 3600,
        # Where the legacy v1.0 API lives: '/api/atlas/v1.0' (Atlas) or '/api/public/v1.0'
        # (Ops Manager / Cloud Manager).
        'v1_base_path': '/api/atlas/v1.0',
        # The v1.0 API-key ``/whitelist`` resource (the seed document's API). 'auto': gone where v1_base_path is the
        # cloud's /api/atlas/v1.0 (404: [V] Atlas removed it in 2021, the 404 itself [I]), served under Ops Manager's
        # /api/public/v1.0 ([V] 4.2 documents only /whitelist; 5.0+ calls it deprecated). 'served': served on either
        # path (the cloud before 2021). 'removed': 404 on either path (an Ops Manager that dropped it [U]).
        'v1_whitelist': 'auto',
        # [U] Content-Type application/json on a POST to a v2 API-key or service-account list: 'accept' (the
        # migration page says a POST body may be sent as application/json [V], recorded for the project list) or
        # 'refuse' (415: the extracts list only the versioned type for these operations). The project list always
        # accepts it [V].
        'plain_json_post': 'accept',
        # [U] envelope=true on a single result: {"status": <code>, <field>: <the result>}. The field's name:
        # 'envelope' (the only source in the specs: the seed document's table, "status / envelope") or 'content'
        # (MongoDB's API guideline IPA-115, not in the specs). Lists gain "status" either way [V].
        'envelope_single_field': 'envelope',
        # [U] a boolean query parameter (includeCount, envelope, pretty, includeSystemManaged) whose value is neither
        # true nor false: 'lenient' (true is true in any case, anything else false: Java's Boolean.valueOf, what a
        # JAX-RS service does [I]) or 'strict' (400 INVALID_QUERY_PARAMETER).
        'query_boolean': 'lenient',
        # [U] how often one digest nonce may serve (every challenge brings a fresh one): 'reuse' (any number of
        # requests), 'increasing_nc' (each with a nonce count above every one seen with it) or 'single_use'.
        # The recordings show one challenge per CLI command, which fits all three.
        'digest_nonce': 'reuse',
        # Require authentication (tests of request shapes may turn it off).
        'auth_required': True,
        # [U, sources conflict] An Accept version date later than the resource's newest version: '406'
        # (the versioning page) or 'serve-latest-not-after' (what the spec's own example implies).
        'accept_later_version': '406',
        # Service accounts. [V] requests made with a token must come from an address on the account's
        # list: 'off' or 'ip_not_on_list' (403 IP_ADDRESS_NOT_ON_ACCESS_LIST). Tokens are issued from anywhere [V].
        'sa_caller_ip_enforcement': 'off',
        # [U] whether a plain IP on a service-account list comes back with cidrBlock <ip>/32 as on the
        # API-key list ('both') or as ipAddress only ('ip_only').
        'sa_host_render': 'both',
        # [U] whether the project-level list of a service account is its own list ('separate') or the
        # organization-level one seen through the project ('shared').
        'sa_project_lists': 'separate',
        # [V] at most 200 entries per service account; over it: 400 ACCESS_LIST_LIMIT_EXCEEDED [I].
        'sa_max_entries': 200,
        # Project IP access list. [U] a POST of an entry already on the list with another comment or expiry:
        # 'update' (the docs' "modify an entry" points at this POST [I]), 'ignore' (200, unchanged) or
        # 'conflict' (409 ADDRESS_ALREADY_IN_WHITELIST).
        'project_post_existing': 'update',
        # [V] "doesn't support concurrent POST requests": a POST within this many seconds of the previous one to
        # the same project gets project_concurrent_post: 'conflict' (409 CONCURRENT_UPDATE [I]) or 'error' (500).
        'project_post_busy_seconds': 0.0,
        'project_concurrent_post': 'conflict',
        # [U] how long an entry's /status stays PENDING (status reads before the final answer) and what that
        # answer is: 'ACTIVE' or 'FAILED'.
        'status_pending_reads': 1,
        'status_result': 'ACTIVE',
        # [V] 200 entries per project (100 for some old sharded projects): 403 ATLAS_NETWORK_PERMISSIONS_LIMIT_EXCEEDED.
        'project_max_entries': 200,
        # [V] project-scoped token bucket of the "Project IP Access List" set: 1200, refill 500 per 60 s.
        'project_rate_limit_capacity': 1200,
        'project_rate_limit_refill': 500 / 60.0,
        # -- organization settings and the access-list requirement (issue 20; see the region "organization
        # settings" below). The seed's orgs[].settings.apiAccessListRequired turns the requirement on per org.
        # [U] the error a caller gets while the requirement is on and its own list is empty: a 403 [V], its code
        # unknown: 'ORG_REQUIRES_ACCESS_LIST' (seen in traffic for a key without an entry [R]),
        # 'RESOURCE_REQUIRES_ACCESS_LIST' (the other code seen [R]) or 'IP_ADDRESS_NOT_ON_ACCESS_LIST'.
        'access_list_required_error': 'ORG_REQUIRES_ACCESS_LIST',
        # [U] whether the requirement also binds service accounts: True (a service account with an empty list
        # can make no request with its token while its organization requires API access lists) or False (it
        # stays callable from anywhere, as every empty-listed credential is while the requirement is off).
        'access_list_required_binds_service_accounts': True,
    }
    # the values of each enumerated setting above (docs/simulators.md lists them too)
    CHOICES = {
        'duplicate_post': ('noop', 'conflict'),
        'ipv6': ('accept', 'reject'),
        'ipv6_render': ('full', 'compressed'),
        'caller_ip_enforcement': ('off', 'ip_not_on_list', 'access_denied', 'org_requires_list'),
        'rate_limit_refill_mode': ('interval', 'continuous'),
        'v1_base_path': ('/api/atlas/v1.0', '/api/public/v1.0'),
        'v1_whitelist': ('auto', 'served', 'removed'),
        'plain_json_post': ('accept', 'refuse'),
        'envelope_single_field': ('envelope', 'content'),
        'query_boolean': ('lenient', 'strict'),
        'digest_nonce': ('reuse', 'increasing_nc', 'single_use'),
        'accept_later_version': ('406', 'serve-latest-not-after'),
        'sa_caller_ip_enforcement': ('off', 'ip_not_on_list'),
        'sa_host_render': ('both', 'ip_only'),
        'sa_project_lists': ('separate', 'shared'),
        'project_post_existing': ('update', 'ignore', 'conflict'),
        'project_concurrent_post': ('conflict', 'error'),
        'status_result': ('ACTIVE', 'FAILED'),
    }

    # [V] the endpoint sets this simulator serves: name -> (capacity, refill per 60 s) and what keys the scope
    RATE_LIMIT_SETS = {
        'Programmatic API Keys': (500, 250),        # ORGANIZATION; applied: rate_limit_capacity, rate_limit_refill
        'Project IP Access List': (1200, 500),      # GROUP; applied: project_rate_limit_capacity, ..._refill
        'Service Accounts (org)': (500, 250),       # ORGANIZATION: /orgs/{orgId}/serviceAccounts...
        'Service Accounts (group)': (1200, 500),    # GROUP: /groups/{groupId}/serviceAccounts...
        'Projects': (1200, 500),                    # USER: GET /groups, GET /groups/byName/{name}
        'Rate Limits Inspection': (300, 100),       # USER: GET /rateLimits[/{endpointSetId}]
    }

    # GET /rateLimits [V]: the endpoint sets of the documented table that this simulator serves, as
    # RateLimitEndpointSetResponse: (endpointSetId, endpointSetName, scope, the simulator's bucket, endpoints).
    # The real endpointSetId strings are [U]; these follow the extract's one example, "rateLimitsInspection_group":
    # the name in camelCase, "_", the scope in lower case. The endpoints are the documented ones of each set.
    ENDPOINT_SETS = (
        ('programmaticApiKeys_organization', 'Programmatic API Keys', 'ORGANIZATION', 'Programmatic API Keys', (
            ('GET', '/api/atlas/v2/orgs/{orgId}/apiKeys'), ('POST', '/api/atlas/v2/orgs/{orgId}/apiKeys'),
            ('DELETE', '/api/atlas/v2/orgs/{orgId}/apiKeys/{apiUserId}'),
            ('GET', '/api/atlas/v2/orgs/{orgId}/apiKeys/{apiUserId}/accessList'),
            ('POST', '/api/atlas/v2/orgs/{orgId}/apiKeys/{apiUserId}/accessList'),
            ('GET', '/api/atlas/v2/orgs/{orgId}/apiKeys/{apiUserId}/accessList/{ipAddress}'),
            ('DELETE', '/api/atlas/v2/orgs/{orgId}/apiKeys/{apiUserId}/accessList/{ipAddress}'))),
        ('serviceAccounts_organization', 'Service Accounts', 'ORGANIZATION', 'Service Accounts (org)', (
            ('GET', '/api/atlas/v2/orgs/{orgId}/serviceAccounts'),
            ('GET', '/api/atlas/v2/orgs/{orgId}/serviceAccounts/{clientId}'),
            ('GET', '/api/atlas/v2/orgs/{orgId}/serviceAccounts/{clientId}/accessList'),
            ('POST', '/api/atlas/v2/orgs/{orgId}/serviceAccounts/{clientId}/accessList'),
            ('DELETE', '/api/atlas/v2/orgs/{orgId}/serviceAccounts/{clientId}/accessList/{ipAddress}'))),
        ('serviceAccounts_group', 'Service Accounts', 'GROUP', 'Service Accounts (group)', (
            ('GET', '/api/atlas/v2/groups/{groupId}/serviceAccounts/{clientId}/accessList'),
            ('POST', '/api/atlas/v2/groups/{groupId}/serviceAccounts/{clientId}/accessList'),
            ('DELETE', '/api/atlas/v2/groups/{groupId}/serviceAccounts/{clientId}/accessList/{ipAddress}'))),
        ('projectIpAccessList_group', 'Project IP Access List', 'GROUP', 'Project IP Access List', (
            ('GET', '/api/atlas/v2/groups/{groupId}/accessList'), ('POST', '/api/atlas/v2/groups/{groupId}/accessList'),
            ('GET', '/api/atlas/v2/groups/{groupId}/accessList/{entryValue}'),
            ('DELETE', '/api/atlas/v2/groups/{groupId}/accessList/{entryValue}'),
            ('GET', '/api/atlas/v2/groups/{groupId}/accessList/{entryValue}/status'))),
        ('projects_user', 'Projects', 'USER', 'Projects', (
            ('GET', '/api/atlas/v2/groups'), ('GET', '/api/atlas/v2/groups/byName/{groupName}'),
            ('POST', '/api/atlas/v2/groups'))),
        ('rateLimitsInspection_user', 'Rate Limits Inspection', 'USER', 'Rate Limits Inspection', (
            ('GET', '/api/atlas/v2/rateLimits'), ('GET', '/api/atlas/v2/rateLimits/{endpointSetId}'))),
    )

    def settings_changed(self):
        self.buckets = {}  # (endpoint set, scope key) -> TokenBucket
        if getattr(self, 'digest', None) is not None:
            self.digest.policy = self.settings['digest_nonce']

    def _bucket(self, endpoint_set, scope, capacity, refill_per_second):
        """Take one token from the bucket of this endpoint set and scope key: the RateLimit headers, or a
        429 Response. The time_scale setting makes buckets refill that many times faster."""
        if not self.settings['rate_limit_capacity'] or not capacity:
            return {}
        scale = self.settings['time_scale']
        bucket = self.buckets.get((endpoint_set, scope))
        if bucket is None:
            bucket = self.buckets[(endpoint_set, scope)] = TokenBucket(
                capacity, refill_per_second * scale,
                step=60.0 / scale if self.settings['rate_limit_refill_mode'] == 'interval' else None)
        allowed, remaining, wait = bucket.take()
        headers = {'Ratelimit-Limit': str(capacity), 'Ratelimit-Remaining': str(remaining)}
        if allowed:
            return headers
        seconds = retry_after(wait)
        headers['Retry-After'] = str(seconds)
        return self._error(429, 'RATE_LIMITED_TOKEN_BUCKET', 'Rate limit exceeded for %s. Please retry after %d '
                           'seconds. Request capacity: %d. Refill rate: %g per 60 seconds.'
                           % (endpoint_set, seconds, capacity, refill_per_second * 60), 'Too Many Requests',
                           [endpoint_set, seconds, capacity, refill_per_second * 60, 60], headers=headers)

    @property
    def bucket(self):
        """The Programmatic API Keys bucket of the first organization (tests drain or fill it)."""
        org = next(iter(self.orgs), None)
        return self.buckets.get(('Programmatic API Keys', org))

    def now(self):
        """The simulated clock: real time plus what POST /__sim__/advance-clock added (entries expire by it)."""
        return time.time() + self.clock_offset

    def extra_control(self, action, request, payload):
        if action == 'advance-clock' and request.method == 'POST':
            with self.lock:
                self.clock_offset += float((payload or {}).get('seconds', 0))
            return Response(200, {'clock_offset': self.clock_offset})
        return None

    # -- state --------------------------------------------------------------------------------

    def load_seed(self, seed):
        self.digest = AtlasDigest(REALM, self.settings['digest_nonce'])
        self.orgs = OrderedDict()
        self.keys_by_public = {}
        self.service_accounts = {}
        self.tokens = {}
        self.token_requests = 0
        for org in seed.get('orgs', []):
            keys = OrderedDict()
            self.orgs[org['id']] = keys
            for key in org.get('api_keys', []):
                entries = {}  # insertion-ordered, like every list below (a plain dict: cheaper to walk)
                record = dict(id=key['id'], publicKey=key['publicKey'], privateKey=key.get('privateKey', ''),
                              desc=key.get('desc', 'simulated key'), roles=key.get('roles', ['ORG_OWNER']),
                              org=org['id'], access_list=entries)
                for value in key.get('access_list', []):
                    self._seed_entry(entries, value)
                keys[key['id']] = record
                self.keys_by_public[key['publicKey']] = record
        self.clock_offset = 0.0
        self.projects = OrderedDict()
        for project in seed.get('projects', []):
            record = dict(project, access_list={}, last_post=0.0)
            for value in project.get('access_list', []):
                item = value if isinstance(value, dict) else {'address': value}
                key = item.get('aws_security_group') or ipaddress.ip_network(item['address'], strict=True)
                record['access_list'][key] = self._project_entry(key, item.get('comment'),
                                                                 seed_time(item.get('delete_after')))
            self.projects[project['id']] = record
        for account in seed.get('service_accounts', []):
            record = dict(account, name=account.get('name', account['client_id']), access_list={},
                          project_lists={}, createdAt=account.get('created', '2025-06-01T09:00:00Z'))
            for value in account.get('access_list', []):
                self._seed_entry(record['access_list'], value, sa=True)
            self.service_accounts[account['client_id']] = record
        self._load_org_settings(seed)  # issue 20: orgs[].settings
        self.settings_changed()

    def _seed_entry(self, entries, value, sa=False):
        if isinstance(value, dict):
            net = ipaddress.ip_network(value['address'], strict=True)
            entry = self._new_entry(net, sa)
            if value.get('created'):
                entry['createdAt' if sa else 'created'] = seed_time(value['created'])
            if value.get('last_used'):
                entry['lastUsedAt' if sa else 'lastUsed'] = seed_time(value['last_used'])
                entry['lastUsedAddress'] = str(net.network_address)
        else:
            net = ipaddress.ip_network(value, strict=True)
            entry = self._new_entry(net, sa)
        entries[net] = entry

    @staticmethod
    def _new_entry(net, sa=False, now=None):
        """``now``: the request's time (every entry one POST adds is created at it), else the current time."""
        now = now or time.strftime(NOW, time.gmtime())
        if sa:  # [V] ServiceAccountIPAccessListEntry: createdAt, requestCount; no links
            return {'net': net, 'createdAt': now, 'requestCount': 0}
        return {'net': net, 'created': now, 'count': 0}

    def snapshot(self):
        with self.lock:
            return {'orgs': {org: {key_id: {'publicKey': key['publicKey'],
                                            'access_list': [str(n) for n in key['access_list']]}
                                   for key_id, key in keys.items()}
                             for org, keys in self.orgs.items()},
                    'service_accounts': {cid: {'name': sa['name'], 'access_list': [str(n) for n in sa['access_list']],
                                               'project_lists': {p: [str(n) for n in entries]
                                                                 for p, entries in sa['project_lists'].items()}}
                                         for cid, sa in self.service_accounts.items()},
                    'token_requests': self.token_requests}

    def project_access_list(self, project_id):
        """{entry: comment} of one project's list (for tests): canonical CIDRs and security groups."""
        with self.lock:
            entries = self._project_entries(self.projects[project_id])
            return dict((str(k), e.get('comment')) for k, e in entries.items())

    def sa_access_list(self, client_id, project_id=None):
        """Canonical CIDR strings of one service account's list (for tests)."""
        with self.lock:
            return [str(n) for n in self._sa_entries(self.service_accounts[client_id], project_id)]

    def _sa_entries(self, account, project_id=None):
        if project_id is None or self.settings['sa_project_lists'] == 'shared':
            return account['access_list']
        return account['project_lists'].setdefault(project_id, {})

    def access_list(self, org_id, key_id):
        """Canonical CIDR strings of one key's list (for tests)."""
        with self.lock:
            return [str(n) for n in self.orgs[org_id][key_id]['access_list']]

    def fault_body(self, status):
        reasons = {429: ('RATE_LIMITED', 'Too Many Requests'), 500: ('UNEXPECTED_ERROR', 'Internal Server Error'),
                   502: ('BAD_GATEWAY', 'Bad Gateway'), 503: ('SERVICE_UNAVAILABLE', 'Service Unavailable'),
                   504: ('GATEWAY_TIMEOUT', 'Gateway Timeout')}
        code, reason = reasons.get(status, ('INJECTED_FAULT', 'Injected fault'))
        return {'detail': 'Injected fault.', 'error': status, 'errorCode': code, 'parameters': [], 'reason': reason}

    # -- rendering ----------------------------------------------------------------------------

    def _render_ip(self, address):
        return _render_ip(address, self.settings['ipv6_render'] == 'full')

    def _render_entry(self, base, entry):
        cidr, ip, segment = _entry_texts(entry['net'], self.settings['ipv6_render'] == 'full')
        # the fields in sorted order, as Atlas sends them
        item = {'cidrBlock': cidr, 'count': entry['count'], 'created': entry['created']}
        if ip is not None:
            item['ipAddress'] = ip
        for field in ('lastUsed', 'lastUsedAddress'):
            if field in entry:
                item[field] = entry[field]
        item['links'] = [{'href': '%s/%s' % (base, segment), 'rel': 'self'}]
        return item

    def _page(self, request, base, key, default_items=100):
        return self._page_of(request, base, list(key['access_list'].values()),
                             lambda entry: self._render_entry(self.url + base, entry), default_items)

    def _page_of(self, request, base, items_all, render, default_items=100):
        """One page of ``items_all`` in the Atlas envelope ``{links, results, totalCount}``; None on bad paging."""
        paging = self._paging(request, default_items)
        if paging is None:
            return None
        page, items = paging
        include_count = self._flag(request, 'includeCount', True)
        entries = items_all
        chunk = entries[(page - 1) * items:page * items]
        query = 'includeCount=%s&pageNum=%d&itemsPerPage=%d' % (str(include_count).lower(), page, items)
        links = [{'href': '%s?%s' % (self.url + base, query), 'rel': 'self'}]
        if page * items < len(entries):
            links.append({'href': '%s?includeCount=%s&pageNum=%d&itemsPerPage=%d'
                          % (self.url + base, str(include_count).lower(), page + 1, items), 'rel': 'next'})
        body = {'links': links, 'results': [render(e) for e in chunk]}
        if include_count:
            body['totalCount'] = len(entries)
        return body

    # -- responses ----------------------------------------------------------------------------

    def _error(self, status, code, detail, reason, parameters=None, headers=None):
        body = {'detail': detail, 'error': status, 'errorCode': code, 'parameters': parameters or [],
                'reason': reason}
        return Response(status, body, headers=headers, content_type='application/json')

    def _ok(self, status, body, v1, headers):
        content_type = V1_CONTENT_TYPE if v1 else V2_CONTENT_TYPE
        return Response(status, body, headers=headers, content_type=content_type)

    # -- routing ------------------------------------------------------------------------------

    BOOLEAN_QUERY = ('includeCount', 'envelope', 'pretty', 'includeSystemManaged')

    def route(self, request):
        api = request.raw_path.startswith('/api/atlas/') or request.raw_path.startswith(self.settings['v1_base_path'])
        if api and self.settings['query_boolean'] == 'strict':
            for name in self.BOOLEAN_QUERY:
                if name in request.query and request.query[name].lower() not in ('true', 'false'):
                    return self._error(400, 'INVALID_QUERY_PARAMETER', 'Invalid value %s for query parameter %s.'
                                       % (request.query[name], name), 'Bad Request', [name, request.query[name]])
        response = self._route(request)
        if api:
            response = self._query_flags(request, response)
        return response

    @staticmethod
    def _flag(request, name, default=False):
        """A boolean query parameter: absent, its default; else true only for "true" in any case (query_boolean)."""
        if name not in request.query:
            return default
        return request.query[name].lower() == 'true'

    def _query_flags(self, request, response):
        """``envelope=true`` [V]: a list (a body with ``results``) gains ``status``, the HTTP status; a single result
        becomes ``{status, <envelope_single_field>: result}`` [U for the field's name]. The HTTP status stays; error
        bodies (already carrying ``error``: the status) and empty bodies stay as they are [I]. ``pretty=true`` [V]:
        the body is printed the way the recorded challenge is (Jackson: two-space indent, " : ") [R] [I]."""
        envelope, pretty = self._flag(request, 'envelope'), self._flag(request, 'pretty')
        if not (envelope or pretty) or not response.body or 'json' not in response.headers.get('Content-Type', ''):
            return response
        body = json.loads(response.body.decode('utf-8'))
        if envelope and 200 <= response.status < 300:
            if isinstance(body, dict) and 'results' in body:
                body = dict(body, status=response.status)
            else:
                body = {'status': response.status, self.settings['envelope_single_field']: body}
        if pretty:
            response.body = json.dumps(body, indent=2, separators=(',', ' : ')).encode('utf-8')
        else:
            response.body = json.dumps(body).encode('utf-8')
        return response

    def _route(self, request):
        segments = request.raw_path.split('/')
        if request.raw_path == '/api/oauth/token' and request.method == 'POST':
            return self._token(request)
        if request.raw_path == '/api/private/ipinfo' and request.method == 'GET':
            # [R] undocumented endpoint the Atlas CLI uses to learn the caller's IP; no rate-limit headers
            return Response(200, {'currentIpv4Address': str(self._caller_ip(request))})
        v1_base = self.settings['v1_base_path'].rstrip('/')
        if request.raw_path.startswith('/api/atlas/v2/'):
            v1, rest = False, segments[4:]
        elif request.raw_path.startswith(v1_base + '/'):
            v1, rest = True, segments[len(v1_base.split('/')):]
        else:
            return self._error(404, 'RESOURCE_NOT_FOUND', 'Cannot find resource %s.' % request.raw_path, 'Not Found')
        if not v1 and rest and rest[0] == 'rateLimits' and len(rest) <= 2:
            return self._route_rate_limits(request, segments, rest)
        if not v1 and len(rest) >= 3 and rest[0] in ('orgs', 'groups') and rest[2] == 'serviceAccounts':
            return self._route_service_accounts(request, segments, rest)
        if not v1 and rest and rest[0] == 'groups' and (len(rest) == 1 or rest[1] == 'byName' or
                                                        (len(rest) >= 3 and rest[2] == 'accessList')):
            return self._route_projects(request, segments, rest)
        # [V] the v1.0 twin of the project list, application/json (Atlas only: Ops Manager has no such list)
        if v1 and v1_base == '/api/atlas/v1.0' and len(rest) >= 3 and rest[0] == 'groups' and rest[2] == 'accessList':
            return self._route_projects(request, segments, rest, v1=True)
        if not v1 and len(rest) == 3 and rest[0] == 'orgs' and rest[2] == 'settings':
            return self._route_org_settings(request, rest)  # issue 20: GET|PATCH /orgs/{orgId}/settings
        # rest: orgs/{orgId}/apiKeys[/{id}/(accessList|whitelist)[/{entry}]]
        if len(rest) < 3 or rest[0] != 'orgs' or rest[2] != 'apiKeys':
            return self._error(404, 'RESOURCE_NOT_FOUND', 'Cannot find resource %s.' % request.raw_path, 'Not Found')

        # Content negotiation [R]: v2 wants its versioned media type, v1 plain JSON.
        if not v1:
            refused = self._negotiate(request, '2023-01-01')
            if refused is not None:
                return refused
        if request.method == 'POST':
            refused = self._content_type_refused(request, V1_CONTENT_TYPE if v1 else V2_MEDIA_TYPE, v1)
            if refused is not None:
                return refused

        # Path segments are percent-decoded exactly once.
        org_id = unquote(rest[1])
        if not ID_RE.match(org_id):
            return self._path_param_error('orgId', org_id)
        key_id = unquote(rest[3]) if len(rest) > 3 else None
        if key_id is not None and not ID_RE.match(key_id):
            return self._path_param_error('apiUserId', key_id)

        caller, failure = self._authenticate(request, org_id)
        if failure is not None:
            return failure
        limited = self._bucket('Programmatic API Keys', org_id, self.settings['rate_limit_capacity'],
                               self.settings['rate_limit_refill'])
        if isinstance(limited, Response):
            return limited
        headers = limited

        if org_id not in self.orgs:
            return self._error(404, 'ORG_NOT_FOUND', 'Organization %s not found.' % org_id, 'Not Found', [org_id],
                               headers=headers)
        keys = self.orgs[org_id]
        if key_id is None:
            if len(rest) == 3 and request.method == 'GET':
                return self._list_keys(request, org_id, keys, v1, headers)
            if len(rest) == 3 and request.method == 'POST':
                return self._create_key(request, org_id, keys, v1, headers)
            return self._error(405, 'METHOD_NOT_ALLOWED', 'Method not allowed.', 'Method Not Allowed',
                               headers=headers)
        if (len(rest) < 5 and not (len(rest) == 4 and request.method == 'DELETE')) or \
                (len(rest) >= 5 and (rest[4] not in ('accessList', 'whitelist') or
                                     (rest[4] == 'whitelist' and not (v1 and self._whitelist_served())))):
            return self._error(404, 'RESOURCE_NOT_FOUND', 'Cannot find resource %s.' % request.raw_path, 'Not Found',
                               headers=headers)
        if key_id not in keys:
            return self._error(404, 'API_KEY_NOT_FOUND', 'API key %s not found in organization %s.'
                               % (key_id, org_id), 'Not Found', [key_id, org_id], headers=headers)
        key = keys[key_id]
        if len(rest) == 4 and request.method == 'DELETE':
            del self.keys_by_public[key['publicKey']]
            del keys[key_id]
            return self._ok(204, None, v1, headers)
        base = '/'.join(segments[:segments.index(rest[4]) + 1])
        if len(rest) == 5:
            if request.method in ('GET', 'POST') and self._paging(request) is None:
                return self._paging_error(headers)
            if request.method == 'GET':
                return self._ok(200, self._page(request, base, key), v1, headers)
            if request.method == 'POST':
                return self._add(request, base, key, v1, headers)
        elif len(rest) == 6:
            entry = unquote(rest[5])
            if request.method == 'GET':
                return self._get_entry(base, key, entry, v1, headers)
            if request.method == 'DELETE':
                return self._delete(request, caller, key, entry, v1, headers)
        return self._error(405, 'METHOD_NOT_ALLOWED', 'Method not allowed.', 'Method Not Allowed', headers=headers)

    def _whitelist_served(self):
        mode = self.settings['v1_whitelist']
        if mode == 'auto':
            return self.settings['v1_base_path'].rstrip('/') != '/api/atlas/v1.0'
        return mode == 'served'

    def _content_type_refused(self, request, media_type, v1=False, plain_json=None):
        """None when a POST's Content-Type is ``media_type`` (or, on v2, application/json as the plain_json_post
        setting says, or always with ``plain_json``), else a 415."""
        content_type = request.headers.get('Content-Type', '').split(';')[0].strip().lower()
        if content_type == media_type:
            return None
        if not v1 and content_type == 'application/json':
            if plain_json or (plain_json is None and self.settings['plain_json_post'] == 'accept'):
                return None
        return self._error(415, 'UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be %s.' % media_type,
                           'Unsupported Media Type')

    def _paging(self, request, default_items=100):
        """(pageNum, itemsPerPage) [V: pageNum >= 1, itemsPerPage 1..500], or None when either is off."""
        try:
            page = int(request.query.get('pageNum', 1))
            items = int(request.query.get('itemsPerPage', default_items))
        except ValueError:
            return None
        if page < 1 or not 1 <= items <= 500:
            return None
        return page, items

    def _paging_error(self, headers=None):
        """Bad paging: the range is [V] (pageNum >= 1, itemsPerPage 1..500); the answer, 400 INVALID_QUERY_PARAMETER
        with the JSON error body before anything is done, is [I] (the extracts list no 400 for these GETs). The
        modules never send paging outside the range, so no module depends on it."""
        return self._error(400, 'INVALID_QUERY_PARAMETER', 'pageNum must be >= 1 and itemsPerPage 1-500.',
                           'Bad Request', headers=headers)

    def _negotiate(self, request, version):
        """None when the Accept header asks for ``version`` (or, per the setting, a later date), else 406."""
        accept = request.headers.get('Accept', '')
        match = VERSION_RE.search(accept)
        wanted = match.group(1) if match else None
        if wanted == version or (wanted and wanted > version
                                 and self.settings['accept_later_version'] == 'serve-latest-not-after'):
            return None
        return self._error(406, 'INVALID_VERSION_DATE' if 'vnd.atlas' in accept else 'NOT_ACCEPTABLE',
                           'Accept header %r is not supported; use application/vnd.atlas.%s+json.' % (accept, version),
                           'Not Acceptable')

    # -- rate limits inspection ---------------------------------------------------------------

    def _route_rate_limits(self, request, segments, rest):
        """[V] GET /rateLimits (query groupId | orgId | userId | ipAddress: only that scope's sets, for that key;
        repeatable name and endpointPath; pageNum, itemsPerPage) and GET /rateLimits/{endpointSetId}, versioned
        2025-03-12 or preview; the Rate Limits Inspection set's own bucket (USER scope)."""
        if RATE_LIMITS_PREVIEW in request.headers.get('Accept', ''):
            media = RATE_LIMITS_PREVIEW
        else:
            refused = self._negotiate(request, RATE_LIMITS_VERSION)
            if refused is not None:
                return refused
            media = 'application/vnd.atlas.%s+json' % RATE_LIMITS_VERSION
        caller, failure = self._authenticate_any(request)
        if failure is not None:
            return failure
        capacity, refill = self.RATE_LIMIT_SETS['Rate Limits Inspection']
        headers = self._bucket('Rate Limits Inspection', (caller or {}).get('id'), capacity, refill / 60.0)
        if isinstance(headers, Response):
            return headers
        if request.method != 'GET':
            return self._method_not_allowed(headers)
        scopes = set(('IP', 'GROUP', 'ORGANIZATION', 'USER'))
        for name, scope in (('groupId', 'GROUP'), ('orgId', 'ORGANIZATION'), ('userId', 'USER'), ('ipAddress', 'IP')):
            if name in request.query:
                refused = self._rate_limit_key_refused(request, caller, name, request.query[name], headers)
                if refused is not None:
                    return refused
                scopes &= {scope}
        sets = [self._endpoint_set_view(*endpoint_set) for endpoint_set in self.ENDPOINT_SETS]
        if len(rest) == 2:  # one set; a scope key says whose limits, it filters nothing [V]
            set_id = unquote(rest[1])
            found = [view for view in sets if view['endpointSetId'] == set_id]
            if not found:
                return self._error(404, 'RATE_LIMIT_ENDPOINT_SET_NOT_FOUND', 'No endpoint set with ID %s exists.'
                                   % set_id, 'Not Found', [set_id], headers=headers)
            return Response(200, found[0], headers=headers, content_type=media + ';charset=utf-8')
        if self._paging(request) is None:
            return self._paging_error(headers)
        names = [v for k, v in request.query_pairs if k == 'name']
        paths = [v.rstrip('/') for k, v in request.query_pairs if k == 'endpointPath']
        sets = [view for view in sets if view['scope'] in scopes and (not names or view['endpointSetName'] in names)
                and (not paths or any(e['path'] in paths for e in view['endpoints']))]
        body = self._page_of(request, '/'.join(segments), sets, lambda view: view)
        return Response(200, body, headers=headers, content_type=media + ';charset=utf-8')

    def _endpoint_set_view(self, set_id, name, scope, bucket, endpoints):
        """RateLimitEndpointSetResponse [V]: the applied values, and the documented default where a setting
        overrides it ("returned if there is an override")."""
        default_capacity, default_refill = self.RATE_LIMIT_SETS[bucket]
        applied_capacity, applied_refill = default_capacity, default_refill
        if bucket == 'Programmatic API Keys':
            applied_capacity = self.settings['rate_limit_capacity'] or default_capacity
            applied_refill = int(round(self.settings['rate_limit_refill'] * 60))
        elif bucket == 'Project IP Access List':
            applied_capacity = self.settings['project_rate_limit_capacity'] or default_capacity
            applied_refill = int(round(self.settings['project_rate_limit_refill'] * 60))

        def value(applied, default):
            return {'value': applied} if applied == default else {'value': applied, 'defaultValue': default}
        return {'capacity': value(applied_capacity, default_capacity), 'endpointSetId': set_id,
                'endpointSetName': name, 'endpoints': [{'method': m, 'path': p} for m, p in endpoints],
                'refillDurationSeconds': {'value': 60}, 'refillRate': value(applied_refill, default_refill),
                'scope': scope}

    def _rate_limit_key_refused(self, request, caller, name, value, headers):
        """[V] the caller may only ask about a project it can read, its own organization, itself, its own IP. The
        patterns are the extract's; the error codes [I]."""
        patterns = {'groupId': ID_RE, 'orgId': ID_RE,
                    'ipAddress': re.compile(r'^((25[0-5]|(2[0-4]|1\d|[1-9]|)\d)(\.(?!$)|$)){4}$|'
                                            r'^([0-9a-f]{1,4}:){7}[0-9a-f]{1,4}$')}
        if name in patterns and not patterns[name].match(value):
            return self._error(400, 'INVALID_QUERY_PARAMETER', 'Invalid value %s for query parameter %s.'
                               % (value, name), 'Bad Request', [name, value], headers=headers)
        if caller is None:
            return None
        if name == 'groupId':
            project = self.projects.get(value)
            allowed = project is not None and self._may_see(caller, project)
        elif name == 'orgId':
            allowed = value in (self.service_accounts[caller['id']].get('orgs', [])
                                if caller['kind'] == 'service_account' else [caller['key']['org']])
        elif name == 'userId':
            allowed = value == caller['id']
        else:
            allowed = ipaddress.ip_address(value) == self._caller_ip(request)
        if allowed:
            return None
        return self._error(403, 'USER_UNAUTHORIZED', 'The current user is not authorized to read the rate limits of '
                           '%s %s.' % (name, value), 'Forbidden', [name, value], headers=headers)

    # -- organization settings (issue 20: the access-list requirement) ---------------------------
    #
    # [V] GET|PATCH /api/atlas/v2/orgs/{orgId}/settings, application/vnd.atlas.2023-01-01+json; read: Organization
    # Member, update: Organization Owner; PATCH answers 200 with the settings [I]. The rate-limit table names no
    # endpoint set for these operations, so no bucket is applied and no RateLimit headers are sent [U].
    # The rule [V]: a credential's empty API access list lets it call from any address while its organization does
    # not require API access lists; with apiAccessListRequired on, it can make no request at all until it has an
    # entry (403, code: access_list_required_error [U]). A credential with entries is always held to them: that
    # check is caller_ip_enforcement's, off by default because every test calls from loopback. Service accounts:
    # access_list_required_binds_service_accounts [U].

    ORG_SETTINGS_DEFAULTS = (  # [V] the fields of OrganizationSettings; the defaults of a new organization [I]
        ('apiAccessListRequired', False), ('genAIFeaturesEnabled', True),
        ('maxServiceAccountSecretValidityInHours', 8760), ('multiFactorAuthRequired', False),
        ('restrictEmployeeAccess', False), ('securityContact', None))
    ORG_SETTINGS_BOOLEANS = ('apiAccessListRequired', 'genAIFeaturesEnabled', 'multiFactorAuthRequired',
                             'restrictEmployeeAccess')

    def _load_org_settings(self, seed):
        """orgs[].settings of the seed, over the defaults; unknown fields are a seed error."""
        self.org_settings = {}
        known = dict(self.ORG_SETTINGS_DEFAULTS)
        for org in seed.get('orgs', []):
            given = dict(org.get('settings') or {})
            unknown = sorted(set(given) - set(known))
            if unknown:
                raise ValueError('org %s: unknown settings %s (known: %s)' % (org['id'], ', '.join(unknown),
                                                                              ', '.join(sorted(known))))
            self.org_settings[org['id']] = dict(known, **given)

    def org_settings_of(self, org_id):
        """One organization's settings as the API renders them (for tests)."""
        with self.lock:
            return self._org_settings_view(org_id)

    def _org_settings_view(self, org_id):
        return dict((k, v) for k, v in sorted(self.org_settings[org_id].items()) if v is not None)

    def _access_list_required(self, org_id):
        return bool(self.org_settings.get(org_id, {}).get('apiAccessListRequired'))

    def _access_list_required_refusal(self, request, caller):
        """The 403 of a caller whose organization requires API access lists while its own list is empty."""
        if caller['kind'] == 'service_account':
            if not self.settings['access_list_required_binds_service_accounts']:
                return None
            account = self.service_accounts[caller['id']]
            if account['access_list'] or not any(self._access_list_required(o) for o in account.get('orgs', [])):
                return None
        elif caller['key']['access_list'] or not self._access_list_required(caller['key']['org']):
            return None
        ip = self._caller_ip(request)
        return self._error(403, self.settings['access_list_required_error'],
                           'This organization requires access through an access list of ip ranges. Please add your '
                           'current IP (%s) to your API %s access list.'
                           % (ip, 'key' if caller['kind'] == 'api_key' else 'service account'),
                           'Forbidden', [str(ip)])

    def _caller_org_roles(self, caller):
        if caller['kind'] == 'service_account':
            return self.service_accounts[caller['id']].get('roles', ['ORG_OWNER'])
        return caller['key']['roles']

    def _route_org_settings(self, request, rest):
        refused = self._negotiate(request, '2023-01-01')
        if refused is not None:
            return refused
        content_type = request.headers.get('Content-Type', '').split(';')[0].strip().lower()
        if request.method == 'PATCH' and content_type != V2_MEDIA_TYPE and not (
                content_type == 'application/json' and self.settings.get('plain_json_post', 'accept') == 'accept'):
            return self._error(415, 'UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be %s.' % V2_MEDIA_TYPE,
                               'Unsupported Media Type')
        org_id = unquote(rest[1])
        if not ID_RE.match(org_id):
            return self._path_param_error('orgId', org_id)
        caller, failure = self._authenticate(request, org_id)
        if failure is not None:
            return failure
        if org_id not in self.org_settings:
            return self._error(404, 'ORG_NOT_FOUND', 'Organization %s not found.' % org_id, 'Not Found', [org_id])
        if request.method not in ('GET', 'PATCH'):
            return self._method_not_allowed()
        # [V] read: Organization Member (every organization role includes it [I]); update: Organization Owner.
        # The 403's code [I], as for /rateLimits.
        roles = self._caller_org_roles(caller) if caller is not None else ['ORG_OWNER']
        allowed = 'ORG_OWNER' in roles if request.method == 'PATCH' else any(r.startswith('ORG_') for r in roles)
        if not allowed:
            return self._error(403, 'USER_UNAUTHORIZED', 'The current user is not authorized to %s the settings of '
                               'organization %s.' % ('change' if request.method == 'PATCH' else 'read', org_id),
                               'Forbidden', [org_id])
        if request.method == 'PATCH':
            refused = self._org_settings_patch(request, org_id)
            if refused is not None:
                return refused
        return self._ok(200, self._org_settings_view(org_id), False, {})

    def _org_settings_patch(self, request, org_id):
        """Apply a PATCH body (the given fields only, all or nothing); None, or the 400. Codes [I]."""
        body = request.json_or_none()
        if not isinstance(body, dict):
            return self._error(400, 'INVALID_JSON', 'Request body must be a JSON object.', 'Bad Request')
        known = dict(self.ORG_SETTINGS_DEFAULTS)
        for name, value in body.items():
            if name not in known:
                return self._error(400, 'INVALID_JSON_ATTRIBUTE', 'Invalid attribute %s specified.' % name,
                                   'Bad Request', [name])
            if name in self.ORG_SETTINGS_BOOLEANS:
                valid = isinstance(value, bool)
            elif name == 'maxServiceAccountSecretValidityInHours':  # [V] 8..8760
                valid = isinstance(value, int) and not isinstance(value, bool) and 8 <= value <= 8760
            else:
                valid = isinstance(value, str)
            if not valid:
                return self._error(400, 'INVALID_ATTRIBUTE', 'Invalid value %r for attribute %s.' % (value, name),
                                   'Bad Request', [name])
        self.org_settings[org_id].update(body)
        return None

    # -- end of organization settings -----------------------------------------------------------

    # -- service accounts ---------------------------------------------------------------------

    def _route_service_accounts(self, request, segments, rest):
        refused = self._negotiate(request, SA_VERSION)
        if refused is not None:
            return refused
        if request.method == 'POST':
            refused = self._content_type_refused(request, SA_MEDIA_TYPE)
            if refused is not None:
                return refused
        level, parent = rest[0], unquote(rest[1])
        if not ID_RE.match(parent):
            return self._path_param_error('orgId' if level == 'orgs' else 'groupId', parent)
        project = self.projects.get(parent) if level == 'groups' else None
        org_id = project['org'] if project else parent
        caller, failure = self._authenticate(request, org_id)
        if failure is not None:
            return failure
        endpoint_set = 'Service Accounts (org)' if level == 'orgs' else 'Service Accounts (group)'
        capacity, refill = self.RATE_LIMIT_SETS[endpoint_set]
        limited = self._bucket(endpoint_set, parent, capacity, refill / 60.0)
        if isinstance(limited, Response):
            return limited
        headers = limited
        if level == 'groups' and project is None:
            return self._error(404, 'GROUP_NOT_FOUND', 'No group with ID %s exists.' % parent, 'Not Found', [parent],
                               headers=headers)
        if len(rest) == 3:
            if level == 'orgs' and request.method == 'GET':
                if self._paging(request) is None:
                    return self._paging_error(headers)
                accounts = [a for a in self.service_accounts.values() if org_id in a.get('orgs', [])]
                return self._sa_ok(200, self._page_of(request, '/'.join(segments), accounts, self._sa_view), headers)
            return self._method_not_allowed(headers)
        client_id = unquote(rest[3])
        if not re.match(r'^mdb_sa_id_[a-fA-F\d]{24}$', client_id):
            return self._error(400, 'PATH_PARAM_PARSE_ERROR', 'Path parameter \'clientId\' with value \'%s\' is '
                               'invalid.' % client_id, 'Bad Request', ['clientId', client_id], headers=headers)
        account = self.service_accounts.get(client_id)
        member = account and (org_id in account.get('orgs', []) if level == 'orgs'
                              else parent in account.get('projects', []))
        if not member:
            return self._error(404, 'SERVICE_ACCOUNT_NOT_FOUND', 'Service account %s not found.' % client_id,
                               'Not Found', [client_id], headers=headers)
        if len(rest) == 4:
            if level == 'orgs' and request.method == 'GET':
                return self._sa_ok(200, self._sa_view(account), headers)
            return self._method_not_allowed(headers)
        if rest[4] != 'accessList' or len(rest) > 6:
            return self._error(404, 'RESOURCE_NOT_FOUND', 'Cannot find resource %s.' % request.raw_path, 'Not Found',
                               headers=headers)
        entries = self._sa_entries(account, parent if level == 'groups' else None)
        base = '/'.join(segments[:len(segments) - len(rest) + 5])  # .../accessList
        if len(rest) == 5 and request.method in ('GET', 'POST') and self._paging(request) is None:
            return self._paging_error(headers)
        if len(rest) == 5 and request.method == 'GET':
            return self._sa_ok(200, self._page_of(request, base, list(entries.values()), self._render_sa_entry),
                               headers)
        if len(rest) == 5 and request.method == 'POST':
            return self._sa_add(request, base, entries, headers)
        if len(rest) == 6 and request.method == 'DELETE':  # [V] no GET of one entry on these lists
            return self._sa_delete(request, caller, account, entries, unquote(rest[5]), headers)
        return self._method_not_allowed(headers)

    # -- projects and the project IP access list ------------------------------------------------

    @staticmethod
    def _project_entry(key, comment=None, delete_after=None):
        entry = {'key': key}
        if comment is not None:
            entry['comment'] = comment
        if delete_after:
            entry['deleteAfterDate'] = delete_after
        return entry

    def _project_entries(self, project):
        """The list, without the temporary entries whose time has come [V] (by the simulated clock)."""
        entries = project['access_list']
        for key in [k for k, e in entries.items() if e.get('deleteAfterDate') and
                    _epoch(e['deleteAfterDate']) <= self.now()]:
            del entries[key]
        return entries

    def _project_rate_limit(self, project_id):
        return self._bucket('Project IP Access List', project_id, self.settings['project_rate_limit_capacity'],
                            self.settings['project_rate_limit_refill'])

    def _render_project_entry(self, base, project_id, entry):
        """[R] keys sorted; a plain IP has ipAddress and cidrBlock /32; the self link uses the CIDR form."""
        key = entry['key']
        item = {'groupId': project_id}
        if isinstance(key, str):
            item['awsSecurityGroup'] = key
            segment = key
        else:
            cidr = '%s/%d' % (self._render_ip(key.network_address), key.prefixlen)
            item['cidrBlock'] = cidr
            if key.num_addresses == 1:
                item['ipAddress'] = self._render_ip(key.network_address)
            segment = cidr.replace('/', '%2F')
        for field in ('comment', 'deleteAfterDate'):
            if field in entry:
                item[field] = entry[field]
        item['links'] = [{'href': '%s/%s' % (base, segment), 'rel': 'self'}]
        return dict(sorted(item.items()))

    def _route_projects(self, request, segments, rest, v1=False):
        """GET /groups, GET /groups/byName/{name} and the project IP access list; ``v1``: the v1.0 twin of the
        list [V] (application/json both ways; the same handler as v2 [I]: same rendering, 201, bucket)."""
        if not v1:
            refused = self._negotiate(request, '2023-01-01')
            if refused is not None:
                return refused
        if request.method == 'POST':  # [V] v2 also takes a plain application/json body here
            refused = self._content_type_refused(request, V1_CONTENT_TYPE if v1 else V2_MEDIA_TYPE, v1,
                                                 plain_json=True)
            if refused is not None:
                return refused
        caller, failure = self._authenticate_any(request)
        if failure is not None:
            return failure
        visible = [p for p in self.projects.values() if self._may_see(caller, p)]
        if len(rest) == 1 or rest[1] == 'byName':
            # [V] GET /groups and GET /groups/byName/{groupName}: the Projects set, USER scope
            capacity, refill = self.RATE_LIMIT_SETS['Projects']
            limited = self._bucket('Projects', (caller or {}).get('id'), capacity, refill / 60.0)
            if isinstance(limited, Response):
                return limited
            if len(rest) == 1 and request.method == 'GET':
                if self._paging(request) is None:
                    return self._paging_error(limited)
                return self._ok(200, self._page_of(request, '/'.join(segments), visible, self._project_view), False,
                                limited)
            if len(rest) == 3 and request.method == 'GET':
                name = unquote(rest[2])
                found = [p for p in visible if p.get('name') == name]
                if not found:
                    return self._error(404, 'GROUP_NAME_NOT_FOUND', 'No group with name "%s" exists.' % name,
                                       'Not Found', [name], headers=limited)
                return self._ok(200, self._project_view(found[0]), False, limited)
            return self._method_not_allowed(limited)
        project_id = unquote(rest[1])
        if not ID_RE.match(project_id):
            return self._path_param_error('groupId', project_id)
        project = self.projects.get(project_id)
        if project is None or not self._may_see(caller, project):
            return self._error(404, 'GROUP_NOT_FOUND', 'No group with ID %s exists.' % project_id, 'Not Found',
                               [project_id])
        headers = self._project_rate_limit(project_id)
        if isinstance(headers, Response):
            return headers
        base = self.url + '/'.join(segments[:len(segments) - len(rest) + 3])
        entries = self._project_entries(project)
        if len(rest) == 3:
            if request.method in ('GET', 'POST') and self._paging(request) is None:
                return self._paging_error(headers)
            if request.method == 'GET':
                return self._ok(200, self._page_of(request, base[len(self.url):], list(entries.values()),
                                                   lambda e: self._render_project_entry(base, project_id, e)),
                                v1, headers)
            if request.method == 'POST':
                return self._project_add(request, base, project, headers, v1)
            return self._method_not_allowed(headers)
        value = unquote(rest[3])
        key = value if value.startswith('sg-') or '/sg-' in value else _parse_entry_value(value)
        if key is None:
            return self._error(400, 'INVALID_IP_ADDRESS_OR_CIDR_NOTATION', 'The address %s must be in valid IP '
                               'address or CIDR notation.' % value, 'Bad Request', [value], headers=headers)
        entry = entries.get(key)
        if entry is None:
            return self._error(404, 'ATLAS_NETWORK_PERMISSION_ENTRY_NOT_FOUND', 'IP Address %s not on Atlas '
                               'whitelist for group %s.' % (value, project_id), 'Not Found', [value, project_id],
                               headers=headers)
        if len(rest) == 5 and rest[4] == 'status' and request.method == 'GET':
            entry['status_reads'] = entry.get('status_reads', 0) + 1
            state = 'PENDING' if entry['status_reads'] <= self.settings['status_pending_reads'] \
                else self.settings['status_result']
            return self._ok(200, {'STATUS': state}, v1, headers)
        if len(rest) == 4 and request.method == 'GET':
            return self._ok(200, self._render_project_entry(base, project_id, entry), v1, headers)
        if len(rest) == 4 and request.method == 'DELETE':
            del entries[key]
            return self._ok(204, None, v1, headers)
        return self._method_not_allowed(headers)

    def _project_view(self, project):
        return {'clusterCount': 0, 'created': '2025-01-01T00:00:00Z', 'id': project['id'], 'name': project['name'],
                'orgId': project['org']}

    def _may_see(self, caller, project):
        if caller is None:
            return True
        if caller['kind'] == 'service_account':
            return project['org'] in self.service_accounts[caller['id']].get('orgs', [])
        return project['org'] == caller['key']['org']

    def _authenticate_any(self, request):
        """Authenticate against no particular organization (projects say which one they belong to)."""
        if not self.settings['auth_required']:
            return None, None
        header = request.headers.get('Authorization', '')
        org = None
        if header.startswith('Bearer '):
            token = self.tokens.get(header[7:])
            account = self.service_accounts.get(token['client_id']) if token else None
            org = (account.get('orgs') or [None])[0] if account else None
        else:
            username = self.digest.parse(header).get('username') if header.startswith('Digest ') else None
            key = self.keys_by_public.get(username)
            org = key['org'] if key else None
        return self._authenticate(request, org or '')

    def _project_add(self, request, base, project, headers, v1=False):
        """[V] additive POST, page 1 of the whole list back; [R] 201. Not for concurrent POSTs [V]."""
        now = self.now()
        busy = self.settings['project_post_busy_seconds']
        if busy and now - project['last_post'] < busy:
            if self.settings['project_concurrent_post'] == 'error':
                return self._error(500, 'UNEXPECTED_ERROR', 'Unexpected error.', 'Internal Server Error',
                                   headers=headers)
            return self._error(409, 'CONCURRENT_UPDATE', 'Another update of this access list is in progress.',
                               'Conflict', headers=headers)
        body = request.json_or_none()
        if not isinstance(body, list) or not body:
            return self._error(400, 'INVALID_JSON', 'Request body must be a non-empty JSON array.', 'Bad Request',
                               headers=headers)
        entries = self._project_entries(project)
        staged = []
        for element in body:
            given = [f for f in ('ipAddress', 'cidrBlock', 'awsSecurityGroup') if isinstance(element, dict)
                     and element.get(f)]
            if len(given) != 1 or set(element) - {'ipAddress', 'cidrBlock', 'awsSecurityGroup', 'comment',
                                                  'deleteAfterDate', 'groupId'}:
                return self._error(400, 'MULTIPLE_VALUES_SPECIFIED_FOR_ONE_NETWORK_PERMISSION_ENTRY',
                                   'Each entry needs exactly one of ipAddress, cidrBlock or awsSecurityGroup.',
                                   'Bad Request', headers=headers)
            value = element[given[0]]
            if given[0] == 'awsSecurityGroup':
                if not project.get('peering'):
                    return self._error(400, 'CANNOT_USE_AWS_SECURITY_GROUP_WITHOUT_VPC_PEERING_CONNECTION',
                                       'Cannot use AWS Security Group without VPC peering connection.', 'Bad Request',
                                       headers=headers)
                if element.get('deleteAfterDate'):
                    return self._error(400, 'NETWORK_PERMISSION_EXPIRATION_NOT_SUPPORTED',
                                       'Expiration dates are only supported for IP addresses.', 'Bad Request',
                                       headers=headers)
                key = value
            else:
                key = _parse_entry_value(value)
                if key is None or (given[0] == 'ipAddress' and '/' in value):
                    return self._error(400, 'INVALID_IP_ADDRESS_OR_CIDR_NOTATION', 'The address %s must be in valid '
                                       'IP address or CIDR notation.' % value, 'Bad Request', [value], headers=headers)
            comment = element.get('comment')
            if comment is not None and len(comment) > 80:
                return self._error(400, 'INVALID_NETWORK_PERMISSION_COMMENT', 'The comment is longer than 80 '
                                   'characters.', 'Bad Request', headers=headers)
            expiry = element.get('deleteAfterDate')
            if expiry:
                epoch = _epoch(expiry)
                if epoch is None or epoch <= now:
                    return self._error(400, 'EXPIRATION_DATE_IN_PAST', 'The expiration date must be in the future.',
                                       'Bad Request', headers=headers)
                if epoch > now + 7 * 86400:
                    return self._error(400, 'EXPIRATION_DATE_EXCEEDS_MAX', 'The expiration date must be at most 7 '
                                       'days in the future.', 'Bad Request', [7], headers=headers)
                expiry = time.strftime(NOW, time.gmtime(epoch))  # [R] rendered in UTC, Z, whole seconds
            if key in entries:
                mode = self.settings['project_post_existing']
                if mode == 'conflict':
                    return self._error(409, 'ADDRESS_ALREADY_IN_WHITELIST', 'Address %s is already in the access '
                                       'list.' % value, 'Conflict', [value], headers=headers)
                if mode == 'ignore':
                    continue
            staged.append((key, comment, expiry))
        new = set(k for k, _c, _e in staged if k not in entries)
        if len(entries) + len(new) > self.settings['project_max_entries']:
            return self._error(403, 'ATLAS_NETWORK_PERMISSIONS_LIMIT_EXCEEDED', 'A project can have at most %d '
                               'access list entries.' % self.settings['project_max_entries'], 'Forbidden',
                               headers=headers)
        for key, comment, expiry in staged:  # all or nothing
            entry = entries.get(key) or self._project_entry(key)
            if comment is not None:
                entry['comment'] = comment
            if expiry:
                entry['deleteAfterDate'] = expiry
            entries[key] = entry
        project['last_post'] = now
        page = self._page_of(request, base[len(self.url):], list(entries.values()),
                             lambda e: self._render_project_entry(base, project['id'], e))
        return self._ok(201, page, v1, headers)

    def _method_not_allowed(self, headers=None):
        return self._error(405, 'METHOD_NOT_ALLOWED', 'Method not allowed.', 'Method Not Allowed', headers=headers)

    def _sa_ok(self, status, body, headers):
        return Response(status, body, headers=headers, content_type=SA_MEDIA_TYPE + ';charset=utf-8')

    def _sa_view(self, account, base=None):
        """[V] OrgServiceAccount; the secret itself is shown only at creation, never here."""
        secret = account.get('client_secret') or ''
        return {'clientId': account['client_id'], 'createdAt': account['createdAt'],
                'description': account.get('description', 'simulated service account'), 'name': account['name'],
                'roles': account.get('roles', ['ORG_OWNER']),
                'secrets': [{'createdAt': account['createdAt'], 'expiresAt': '2027-06-01T09:00:00Z',
                             'id': 'a' * 24, 'maskedSecretValue': 'mdb_sa_sk_...' + secret[-4:]}]}

    def _render_sa_entry(self, entry, base=None):
        """[V] ServiceAccountIPAccessListEntry: no links, usage in createdAt/lastUsedAt/requestCount."""
        net = entry['net']
        cidr = '%s/%d' % (self._render_ip(net.network_address), net.prefixlen)
        item = {'createdAt': entry['createdAt'], 'requestCount': entry['requestCount']}
        if net.num_addresses == 1:
            item['ipAddress'] = self._render_ip(net.network_address)
            if self.settings['sa_host_render'] == 'both':
                item['cidrBlock'] = cidr
        else:
            item['cidrBlock'] = cidr
        for field in ('lastUsedAt', 'lastUsedAddress'):
            if field in entry:
                item[field] = entry[field]
        return dict(sorted(item.items()))

    def _parse_body_entries(self, request, headers, max_items=None, nullable=False):
        """[(value, network)] of an access-list POST body, or an error Response; nothing is applied here.
        ``nullable``: a field given as null counts as absent (the service-account schema) [V]."""
        body = request.json_or_none()
        if not isinstance(body, list) or not body:
            return self._error(400, 'INVALID_JSON', 'Request body must be a non-empty JSON array.', 'Bad Request',
                               headers=headers)
        if max_items and len(body) > max_items:
            return self._error(400, 'INVALID_JSON_ATTRIBUTE', 'At most %d entries per request.' % max_items,
                               'Bad Request', headers=headers)
        wanted = []
        for element in body:
            if not _one_address_field(element, nullable):
                return self._error(400, 'INVALID_ATTRIBUTE', 'Each element needs exactly one of ipAddress or cidrBlock.',
                                   'Bad Request', headers=headers)
            value = element.get('ipAddress') or element.get('cidrBlock')
            net = _parse_entry_value(value) if isinstance(value, str) else None
            if net is None or ('ipAddress' in element and '/' in value):
                return self._error(400, 'INVALID_IP_ADDRESS_OR_CIDR_NOTATION',
                                   'The address %s must be in valid IP address or CIDR notation.' % value,
                                   'Bad Request', [value], headers=headers)
            if net.version == 6 and self.settings['ipv6'] == 'reject':
                return self._error(400, 'IPV6_UNSUPPORTED', 'IPv6 entries are not supported: %s.' % value,
                                   'Bad Request', [value], headers=headers)
            wanted.append((value, net))
        return wanted

    def _duplicate_conflict(self, wanted, entries, headers):
        """Under duplicate_post=conflict, the 409 for the first element already on the list; else None."""
        if self.settings['duplicate_post'] != 'conflict':
            return None
        for value, net in wanted:
            if net in entries:
                return self._error(409, 'ADDRESS_ALREADY_IN_ACCESS_LIST',
                                   'Address %s is already in the access list.' % value, 'Conflict', [value],
                                   headers=headers)
        return None

    def _sa_add(self, request, base, entries, headers):
        wanted = self._parse_body_entries(request, headers, max_items=200, nullable=True)  # [V] maxItems: 200
        if isinstance(wanted, Response):
            return wanted
        conflict = self._duplicate_conflict(wanted, entries, headers)
        if conflict is not None:
            return conflict
        new = set(net for _v, net in wanted if net not in entries)
        if len(entries) + len(new) > self.settings['sa_max_entries']:
            return self._error(400, 'ACCESS_LIST_LIMIT_EXCEEDED', 'A service account can have at most %d access list '
                               'entries.' % self.settings['sa_max_entries'], 'Bad Request',
                               [self.settings['sa_max_entries']], headers=headers)
        for _value, net in wanted:
            if net not in entries:
                entries[net] = self._new_entry(net, sa=True)
        return self._sa_ok(200, self._page_of(request, base, list(entries.values()), self._render_sa_entry), headers)

    def _sa_delete(self, request, caller, account, entries, value, headers):
        net = _parse_entry_value(value)
        if net is None:
            return self._error(400, 'INVALID_IP_ADDRESS_OR_CIDR_NOTATION',
                               'The address %s must be in valid IP address or CIDR notation.' % value, 'Bad Request',
                               [value], headers=headers)
        if net not in entries:
            return self._error(404, 'RESOURCE_NOT_FOUND', 'Cannot find access list entry %s.' % value, 'Not Found',
                               [value], headers=headers)
        # [V] "You can't remove the requesting IP address from the access list"; its code [U]: as for keys
        if self.settings['refuse_remove_caller'] and caller and caller['id'] == account['client_id']:
            ip = self._caller_ip(request)
            if ip in net:
                return self._error(400, 'CANNOT_REMOVE_CALLER_FROM_ACCESS_LIST',
                                   'Cannot remove the caller\'s IP address %s from the access list.' % ip,
                                   'Bad Request', [str(ip)], headers=headers)
        del entries[net]
        return Response(204, None, headers=headers, content_type=SA_MEDIA_TYPE + ';charset=utf-8')

    def _path_param_error(self, name, value):
        return self._error(400, 'PATH_PARAM_PARSE_ERROR',
                           'One or more path parameter is invalid. Path parameter \'%s\' with value \'%s\' must be a '
                           '24-hexadecimal string.' % (name, value), 'Bad Request', [name, value])

    def _caller_ip(self, request):
        return ipaddress.ip_address(self.settings['caller_ip'] or request.client_ip)

    def _authenticate(self, request, org_id):
        if not self.settings['auth_required']:
            return None, None
        header = request.headers.get('Authorization', '')
        caller = None
        if header.startswith('Bearer '):
            token = self.tokens.get(header[7:])
            if token and token['expires'] > time.time():
                caller = {'kind': 'service_account', 'id': token['client_id'], 'key': None}
        else:
            def password_for(username):
                key = self.keys_by_public.get(username)
                return key['privateKey'] if key else None
            username = self.digest.verify(request.method, header, password_for)
            if username:
                caller = {'kind': 'api_key', 'id': username, 'key': self.keys_by_public[username]}
        if caller is None:  # [R] the recorded first leg: this body, Vary, no RateLimit headers
            headers = {'WWW-Authenticate': self.digest.challenge(), 'Vary': 'Accept-Encoding'}
            return None, Response(401, CHALLENGE_BODY, headers=headers)
        refused = self._access_list_required_refusal(request, caller)  # issue 20: the org's requirement
        if refused is not None:
            return caller, refused
        # Caller-IP enforcement applies to the calling key's own list.
        key = caller['key']
        mode = self.settings['caller_ip_enforcement']
        ip = self._caller_ip(request)
        if key is not None and mode != 'off':
            on_list = any(ip in net for net in key['access_list'])
            if mode == 'org_requires_list' and not key['access_list']:
                return caller, self._error(403, 'ORG_REQUIRES_ACCESS_LIST',
                                           'This organization requires access through an access list of ip ranges. '
                                           'Please add your current IP (%s) to your API key access list.' % ip,
                                           'Forbidden', [str(ip)])
            if mode == 'ip_not_on_list' and not on_list:
                return caller, self._error(403, 'IP_ADDRESS_NOT_ON_ACCESS_LIST',
                                           'IP address %s is not allowed to access this resource.' % ip,
                                           'Forbidden', [str(ip)])
            if mode == 'access_denied' and not on_list:
                return caller, self._error(401, 'API_KEY_ACCESS_LIST_ACCESS_DENIED',
                                           'The API key is not allowed to access this resource from %s.' % ip,
                                           'Unauthorized', [str(ip)])
        if key is not None:
            for net, entry in key['access_list'].items():
                if ip in net:
                    entry['count'] += 1
                    entry['lastUsed'] = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())
                    entry['lastUsedAddress'] = str(ip)
                    break
        if caller['kind'] == 'service_account':
            account = self.service_accounts[caller['id']]
            entries = account['access_list']
            if self.settings['sa_caller_ip_enforcement'] == 'ip_not_on_list' and entries and \
                    not any(ip in net for net in entries):
                return caller, self._error(403, 'IP_ADDRESS_NOT_ON_ACCESS_LIST',
                                           'IP address %s is not allowed to access this resource.' % ip,
                                           'Forbidden', [str(ip)])
            for net, entry in entries.items():
                if ip in net:
                    entry['requestCount'] += 1
                    entry['lastUsedAt'] = time.strftime(NOW, time.gmtime())
                    entry['lastUsedAddress'] = str(ip)
                    break
            if org_id not in account.get('orgs', []):
                return caller, self._error(403, 'USER_CANNOT_ACCESS_ORGANIZATION',
                                           'The service account cannot access organization %s.' % org_id,
                                           'Forbidden', [org_id])
        elif org_id != key['org']:
            return caller, self._error(403, 'USER_CANNOT_ACCESS_ORGANIZATION',
                                       'The API key cannot access organization %s.' % org_id, 'Forbidden', [org_id])
        return caller, None

    def _token(self, request):
        self.token_requests += 1
        header = request.headers.get('Authorization', '')
        try:
            client_id, client_secret = base64.b64decode(header[6:]).decode('utf-8').split(':', 1)
        except (ValueError, UnicodeDecodeError):
            client_id, client_secret = None, None
        limit = self.settings['oauth_token_limit']
        if limit and self.settings['rate_limit_capacity']:
            # [V] per (IP address, client), N per minute; its own error code, RATE_LIMITED
            bucket_key = ('OAuth token', (str(self._caller_ip(request)), client_id))
            bucket = self.buckets.get(bucket_key)
            if bucket is None:
                bucket = self.buckets[bucket_key] = TokenBucket(limit, limit / 60.0 * self.settings['time_scale'])
            allowed, _remaining, wait = bucket.take()
            if not allowed:
                return Response(429, {'detail': 'Resource /api/oauth/token is limited to %d requests every 1 minutes.'
                                      % limit, 'error': 429, 'errorCode': 'RATE_LIMITED',
                                      'parameters': ['/api/oauth/token', limit, 1], 'reason': 'Too Many Requests'},
                                headers={'Retry-After': str(retry_after(wait))})
        account = self.service_accounts.get(client_id)
        form = dict(pair.split('=', 1) for pair in request.body.decode('utf-8').split('&') if '=' in pair)
        if not header.startswith('Basic ') or account is None or account['client_secret'] != client_secret:
            return Response(401, {'error': 'invalid_client', 'error_description': 'Invalid client credentials'})
        if form.get('grant_type') != 'client_credentials':
            return Response(400, {'error': 'unsupported_grant_type'})
        token = 'sim_' + secrets.token_urlsafe(24)
        self.tokens[token] = {'client_id': client_id, 'expires': time.time() + self.settings['token_ttl']}
        return Response(200, {'access_token': token, 'expires_in': self.settings['token_ttl'], 'token_type': 'Bearer'})

    def expire_tokens(self):
        """Make every issued bearer token expired (tests of the 401 refresh)."""
        with self.lock:
            for token in self.tokens.values():
                token['expires'] = 0

    def _list_keys(self, request, org_id, keys, v1, headers):
        paging = self._paging(request)
        if paging is None:
            return self._paging_error(headers)
        page, items = paging
        all_keys = list(keys.values())
        chunk = all_keys[(page - 1) * items:page * items]
        base = self.url + request.raw_path
        results = [self._key_view(org_id, k, base) for k in chunk]
        body = {'links': [{'href': '%s?pageNum=%d&itemsPerPage=%d' % (base, page, items), 'rel': 'self'}],
                'results': results, 'totalCount': len(all_keys)}
        return self._ok(200, body, v1, headers)

    def _key_view(self, org_id, key, base, private_key=None):
        return {'desc': key['desc'], 'id': key['id'],
                'links': [{'href': '%s/%s' % (base, key['id']), 'rel': 'self'}],
                'privateKey': private_key or ('********-****-****-' + key['privateKey'][-12:]
                                              if key['privateKey'] else ''),
                'publicKey': key['publicKey'],
                'roles': [{'orgId': org_id, 'roleName': r} for r in key['roles']]}

    def _create_key(self, request, org_id, keys, v1, headers):
        """[R] POST /orgs/{orgId}/apiKeys {desc, roles}: the private key is shown once, in this answer."""
        body = request.json_or_none()
        if not isinstance(body, dict) or not body.get('desc') or not body.get('roles'):
            return self._error(400, 'INVALID_ATTRIBUTE', 'desc and roles are required.', 'Bad Request', headers=headers)
        key_id = secrets.token_hex(12)
        public = ''.join(secrets.choice('abcdefghijklmnopqrstuvwxyz') for dummy in range(8))
        private = '%s-%s-%s-%s-%s' % tuple(secrets.token_hex(n) for n in (4, 2, 2, 2, 6))
        record = dict(id=key_id, publicKey=public, privateKey=private, desc=body['desc'], roles=list(body['roles']),
                      org=org_id, access_list={})
        keys[key_id] = record
        self.keys_by_public[public] = record
        return self._ok(200, self._key_view(org_id, record, self.url + request.raw_path, private), v1, headers)

    def _add(self, request, base, key, v1, headers):
        wanted = self._parse_body_entries(request, headers)
        if isinstance(wanted, Response):
            return wanted
        entries = key['access_list']
        conflict = self._duplicate_conflict(wanted, entries, headers)
        if conflict is not None:
            return conflict
        now = time.strftime(NOW, time.gmtime())
        for _value, net in wanted:  # all or nothing: applied only after every element was checked
            if net not in entries:
                entries[net] = self._new_entry(net, now=now)
        return self._ok(200, self._page(request, base, key), v1, headers)

    def _get_entry(self, base, key, value, v1, headers):
        net = _parse_entry_value(value)
        if net is None:
            return self._error(400, 'INVALID_IP_ADDRESS_OR_CIDR_NOTATION',
                               'The address %s must be in valid IP address or CIDR notation.' % value, 'Bad Request',
                               [value], headers=headers)
        if net not in key['access_list']:
            return self._error(404, 'RESOURCE_NOT_FOUND', 'Cannot find access list entry %s.' % value, 'Not Found',
                               [value], headers=headers)
        return self._ok(200, self._render_entry(self.url + base, key['access_list'][net]), v1, headers)

    def _delete(self, request, caller, key, value, v1, headers):
        net = _parse_entry_value(value)
        if net is None:
            return self._error(400, 'INVALID_IP_ADDRESS_OR_CIDR_NOTATION',
                               'The address %s must be in valid IP address or CIDR notation.' % value, 'Bad Request',
                               [value], headers=headers)
        if net not in key['access_list']:
            return self._error(404, 'RESOURCE_NOT_FOUND', 'Cannot find access list entry %s.' % value, 'Not Found',
                               [value], headers=headers)
        if self.settings['refuse_remove_caller'] and caller and caller['key'] is key:
            ip = self._caller_ip(request)
            if ip in net:
                return self._error(400, 'CANNOT_REMOVE_CALLER_FROM_ACCESS_LIST',
                                   'Cannot remove the caller\'s IP address %s from the access list.' % ip,
                                   'Bad Request', [str(ip)], headers=headers)
        del key['access_list'][net]
        return self._ok(204, None, v1, headers)


SEED_TIME_RE = re.compile(r'^now(?:([+-])(\d+)([smhdw]))?$')


def seed_time(value):
    """A seed's time as Atlas renders it: given (2026-01-01T00:00:00Z), or relative to now (now-120d, now+6h)."""
    match = SEED_TIME_RE.match(str(value).strip()) if value else None
    if match is None:
        return value
    seconds = int(match.group(2) or 0) * {'s': 1, 'm': 60, 'h': 3600, 'd': 86400, 'w': 604800}[match.group(3) or 's']
    return time.strftime(NOW, time.gmtime(time.time() + (seconds if match.group(1) != '-' else -seconds)))


def _epoch(text):
    """Epoch seconds of an ISO 8601 date-time (Z or an offset), or None."""
    try:
        return datetime.datetime.fromisoformat(str(text).replace('Z', '+00:00')).timestamp()
    except ValueError:
        return None
