# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""MongoDB Atlas organization API key access lists: API calls and the converge logic.

read (every page) -> plan (to_add / to_remove on canonical networks) -> stop if check mode
-> apply (ONE POST with everything missing, before any DELETE; one DELETE per removal)
-> result with diff.
"""

from __future__ import annotations

import functools
import re
from urllib.parse import quote, urlsplit

from ansible.module_utils.basic import env_fallback

from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import addresses
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.common import (
    PlanError, client_from_params, http_argument_spec, secret_fallback, validate_base_url, validate_http_params,
)
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.http_client import (
    ApiError, ClientCredentialsAuth, digest_auth, json_object,
)

DEFAULT_BASE_URL = 'https://cloud.mongodb.com'
PAGE_SIZE = 500  # the API's maximum itemsPerPage
V2_MEDIA_TYPE = 'application/vnd.atlas.2023-01-01+json'
ID_RE = re.compile(r'^[a-f0-9]{24}$')
PUBLIC_KEY_RE = re.compile(r'^[a-z0-9]{8}$')
# A POST that conflicts with a concurrent writer is re-planned this many times.
MAX_POST_ROUNDS = 3

API_VERSIONS = {
    # name: (default path prefix, collection segment, media type)
    'v2': ('/api/atlas/v2', 'accessList', V2_MEDIA_TYPE),
    'v1_access_list': ('/api/atlas/v1.0', 'accessList', 'application/json'),
    'v1_whitelist': ('/api/atlas/v1.0', 'whitelist', 'application/json'),
}


def atlas_argument_spec():
    """Connection and auth options of every Atlas module (doc fragment ``atlas``)."""
    spec = http_argument_spec()
    spec.update(
        base_url=dict(type='str', default=DEFAULT_BASE_URL, fallback=(env_fallback, ['MONGODB_ATLAS_BASE_URL'])),
        public_key=dict(type='str', no_log=False,
                        fallback=(env_fallback, ['MONGODB_ATLAS_PUBLIC_API_KEY', 'MONGODB_ATLAS_PUBLIC_KEY'])),
        private_key=dict(type='str', no_log=True,
                         fallback=(secret_fallback, ['MONGODB_ATLAS_PRIVATE_API_KEY', 'MONGODB_ATLAS_PRIVATE_KEY'])),
        client_id=dict(type='str', fallback=(env_fallback, ['MONGODB_ATLAS_CLIENT_ID'])),
        client_secret=dict(type='str', no_log=True, fallback=(secret_fallback, ['MONGODB_ATLAS_CLIENT_SECRET'])),
        api_version=dict(type='str', default='v2', choices=sorted(API_VERSIONS)),
        api_path_prefix=dict(type='str'),
        org_id=dict(type='str', required=True),
    )
    return spec


def error_parser(response):
    """Atlas errors: ``{error, errorCode, detail, reason, parameters}``; OAuth: ``{error, error_description}``."""
    body = json_object(response)
    if body is None:
        return None, None
    if 'errorCode' in body or 'detail' in body:
        return body.get('errorCode'), body.get('detail') or body.get('reason')
    if isinstance(body.get('error'), str):
        return body['error'], body.get('error_description')
    return None, body.get('reason')


CALLER_NOT_ALLOWED = ('IP_ADDRESS_NOT_ON_ACCESS_LIST', 'ORG_REQUIRES_ACCESS_LIST', 'RESOURCE_REQUIRES_ACCESS_LIST',
                      'API_KEY_ACCESS_LIST_ACCESS_DENIED')


def error_hint_for(params):
    """What to do about an Atlas error, knowing which credential this run uses."""
    if params.get('client_id'):
        credential = ('the service account %s (OAuth client credentials)' % params['client_id'],
                      'client_id and client_secret (MONGODB_ATLAS_CLIENT_ID / MONGODB_ATLAS_CLIENT_SECRET): the secret '
                      'may have expired or been revoked')
    else:
        credential = ('the API key %s (HTTP digest)' % params.get('public_key'),
                      'public_key and private_key (MONGODB_ATLAS_PUBLIC_API_KEY / MONGODB_ATLAS_PRIVATE_API_KEY), and '
                      'that the key still exists')

    def hint(status, code, body):
        if code in CALLER_NOT_ALLOWED:
            parameters = (body or {}).get('parameters') or []
            caller = parameters[0] if parameters and isinstance(parameters[0], str) else None
            where = 'from %s' % caller if caller else 'from an address'
            return ('Atlas sees this controller calling %s, which is not on the access list of %s. Add %s to that '
                    'list first (Atlas UI, or from a machine already on it)'
                    % (where, credential[0], caller or "this controller's egress IP"))
        if status == 401:
            return 'Atlas refused %s: check %s' % credential
        return None
    return hint


def validate_connection(params):
    """Checks that need no request; raises PlanError naming the bad value."""
    validate_http_params(params)
    if not ID_RE.match(params['org_id'] or ''):
        raise PlanError('org_id %r is not an organization ID (24 lowercase hexadecimal characters)'
                        % params['org_id'])
    digest = params.get('public_key') or params.get('private_key')
    oauth = params.get('client_id') or params.get('client_secret')
    if digest and oauth:
        raise PlanError('give either public_key/private_key (API key, HTTP digest) or client_id/client_secret '
                        '(service account), not both; check the MONGODB_ATLAS_* environment variables too')
    if not digest and not oauth:
        raise PlanError('no Atlas credentials: set public_key and private_key, or client_id and client_secret '
                        '(or their MONGODB_ATLAS_* environment variables; secrets also from a readable file named '
                        'by MONGODB_ATLAS_PRIVATE_API_KEY_FILE or MONGODB_ATLAS_CLIENT_SECRET_FILE)')
    for first, second in (('public_key', 'private_key'), ('client_id', 'client_secret')):
        if bool(params.get(first)) != bool(params.get(second)):
            missing = second if params.get(first) else first
            raise PlanError('%s is required together with %s' % (missing, first if missing == second else second))
    if params.get('public_key') and not PUBLIC_KEY_RE.match(params['public_key']):
        raise PlanError('public_key %r is not an Atlas public key (8 lowercase letters or digits)'
                        % params['public_key'])
    parts = validate_base_url(params['base_url'], params.get('allow_http'))
    if '/api/' in parts.path + '/':
        raise PlanError('base_url %r already contains an API path (%s); give the server only, for example %s://%s '
                        '(the module adds %s). For Ops Manager or Cloud Manager under another path, set '
                        'api_path_prefix' % (params['base_url'], parts.path, parts.scheme, parts.netloc,
                                             API_VERSIONS[params.get('api_version') or 'v2'][0]))


def unseen_entries_warning(base_url, networks, who=''):
    """A warning naming the entries Atlas cloud can never see a caller from (private, loopback, link-local).
    Not refused: an on-premises Ops Manager does see private addresses."""
    if urlsplit(base_url or '').hostname != urlsplit(DEFAULT_BASE_URL).hostname:
        return []
    unseen = addresses.not_on_the_internet(networks)
    if not unseen:
        return []
    return ['%sentries %s are private, loopback or link-local addresses: Atlas cloud (%s) never sees a call coming '
            'from them, so they allow nobody. Give the public egress addresses instead (they are kept as given, for '
            'Ops Manager setups that see private addresses)' % (who, ', '.join(unseen[:10]) + (
                ' (+%d more)' % (len(unseen) - 10) if len(unseen) > 10 else ''), DEFAULT_BASE_URL)]


def classify_api_key(value):
    """'id' for a 24-hex key ID, 'public' for an 8-char public key; PlanError otherwise."""
    if value and ID_RE.match(value):
        return 'id'
    if value and PUBLIC_KEY_RE.match(value):
        return 'public'
    raise PlanError('api_key %r is neither an API key ID (24 lowercase hexadecimal characters) nor a '
                    'public key (8 lowercase letters or digits)' % (value,))


@functools.lru_cache(maxsize=65536)
def _server_network(text):
    # Many keys share the same entries (a fleet rollout); parse each distinct string once.
    return addresses.parse_network(text, allow_any=True)


class Entry(object):
    """One access-list entry as the server has it: canonical network + the server's own rendering."""

    def __init__(self, raw):
        self.raw = raw
        text = raw.get('cidrBlock') or raw.get('ipAddress')
        try:
            self.net = _server_network(text)
        except (addresses.AddressError, TypeError) as exc:
            raise ApiError('the Atlas API returned an access list entry this module cannot read: %s' % exc)
        # For hosts the bare IP is the known-good DELETE path segment [V]; else the CIDR.
        self.wire = raw['ipAddress'] if raw.get('ipAddress') and addresses.is_host(self.net) else text

    def info(self):
        raw = self.raw
        return dict(entry=addresses.canonical(self.net), ip_address=raw.get('ipAddress'),
                    cidr_block=raw.get('cidrBlock'), created=raw.get('created'), last_used=raw.get('lastUsed'),
                    last_used_address=raw.get('lastUsedAddress'), count=raw.get('count'))


class AtlasApi(object):
    def __init__(self, client, org_id, api_version='v2', path_prefix=None):
        default_prefix, self.collection, self.media_type = API_VERSIONS[api_version]
        self.client = client
        self.org_id = org_id
        self.prefix = (path_prefix or default_prefix).rstrip('/')
        client.session.headers['Accept'] = self.media_type

    def _org_path(self):
        return '%s/orgs/%s' % (self.prefix, self.org_id)

    def _list_path(self, key_id):
        return '%s/apiKeys/%s/%s' % (self._org_path(), key_id, self.collection)

    def _paged(self, path):
        """Every result of a paginated GET; stops on a short or empty page (totalCount is an estimate)."""
        page = 1
        while True:
            body = self.client.request('GET', path, params={'pageNum': page, 'itemsPerPage': PAGE_SIZE}).json()
            results = body.get('results') or []
            yield from results
            if len(results) < PAGE_SIZE:
                return
            page += 1

    def list_entries(self, key_id):
        return [Entry(raw) for raw in self._paged(self._list_path(key_id))]

    def list_keys(self):
        return list(self._paged('%s/apiKeys' % self._org_path()))

    def resolve_key(self, api_key):
        """The 24-hex ID for an ID or a public key (looked up through the paginated key list)."""
        if classify_api_key(api_key) == 'id':
            return api_key
        checked = 0
        for key in self._paged('%s/apiKeys' % self._org_path()):
            checked += 1
            if key.get('publicKey') == api_key:
                return key['id']
        raise PlanError('no API key with public key %r in organization %s (%d keys checked); api_key takes the '
                        'key ID or its public key' % (api_key, self.org_id, checked))

    def add(self, key_id, networks):
        self.client.request('POST', self._list_path(key_id), json=[addresses.atlas_wire_entry(n) for n in networks],
                            headers={'Content-Type': self.media_type})

    def delete(self, key_id, entry):
        # '/' encoded as %2F exactly once (requests leaves an encoded path alone). Colons stay: the
        # OpenAPI pattern of this path parameter admits IPv6 only with literal colons.
        segment = quote(entry.wire, safe=':')
        self.client.request('DELETE', '%s/%s' % (self._list_path(key_id), segment), expected=(200, 204))


def build_api(params, **client_kwargs):
    """Client + API for the module's params (credentials registered as secrets)."""
    prefix, _collection, media_type = API_VERSIONS[params['api_version']]
    if params.get('client_id'):
        def auth(client):
            return ClientCredentialsAuth(client, '/api/oauth/token', params['client_id'], params['client_secret'])
    else:
        auth = digest_auth(params['public_key'], params['private_key'])
    client = client_from_params(params, params['base_url'], auth=auth, error_parser=error_parser,
                                error_hint=error_hint_for(params), **client_kwargs)
    client.add_secret(params.get('private_key'))
    client.add_secret(params.get('client_secret'))
    return AtlasApi(client, params['org_id'], params['api_version'], params.get('api_path_prefix'))


def _kept(net, keep):
    return any(net == k or (net.version == k.version and net in k) for k in keep)


def check_absent_vs_keep(wanted, keep):
    clash = [n for n in wanted if _kept(n, keep)]
    if clash:
        raise PlanError('entries %s are listed for removal (state=absent) but also protected by keep'
                        % ', '.join(addresses.canonical(n) for n in clash))


def plan(current, wanted, state, purge, keep, allow_empty):
    """Pure planning on canonical networks: returns (to_add, to_remove, after)."""
    current_nets = [e.net for e in current]
    if state == 'present':
        to_add, extra = addresses.diff(current_nets, wanted)
        to_remove = [n for n in extra if not _kept(n, keep)] if purge else []
    else:
        check_absent_vs_keep(wanted, keep)
        to_add = []
        present = set(addresses.sort_key(n) for n in current_nets)
        to_remove = addresses.unique_sorted(n for n in wanted if addresses.sort_key(n) in present)
    removing = set(addresses.sort_key(n) for n in to_remove)
    after = [n for n in current_nets if addresses.sort_key(n) not in removing] if removing else list(current_nets)
    after.extend(to_add)
    if not after and to_remove and not allow_empty:
        raise PlanError('this run would leave the access list of the key empty (removing %s); an empty list means '
                        'the key works from anywhere or from nowhere, depending on the organization settings. '
                        'Set allow_empty=true if that is intended'
                        % ', '.join(addresses.canonical(n) for n in to_remove))
    return to_add, to_remove, after


def converge(api, key_id, wanted, state='present', purge=False, keep=(), allow_empty=False, check_mode=False,
             with_diff=True, with_entries=True):
    """Bring one key's access list to the wanted state. Returns the module result (without key ids).

    with_entries=False leaves out the sorted list of every entry (the fleet only reports the count).
    """
    try:
        current = api.list_entries(key_id)
    except ApiError as exc:
        exc.args = ('%s (nothing was changed: the list could not be read)' % exc.message,)
        raise
    to_add, to_remove, after = plan(current, wanted, state, purge, keep, allow_empty)
    result = dict(
        changed=bool(to_add or to_remove),
        # plan returns both sorted
        added=[addresses.canonical(n) for n in to_add], removed=[addresses.canonical(n) for n in to_remove],
    )
    entries = addresses.sorted_canonical(after) if with_entries or with_diff else None
    if with_entries:
        result['entries'] = entries
    else:
        result['entry_count'] = len(after)
    if with_diff:
        result['diff'] = dict(before={'entries': addresses.sorted_canonical(e.net for e in current)},
                              after={'entries': entries})
    if check_mode or not result['changed']:
        return result
    added, removed = [], []
    try:
        if to_add:
            added = _add_missing(api, key_id, to_add)
        by_key = dict((addresses.sort_key(e.net), e) for e in current) if to_remove else {}
        for net in to_remove:
            _delete_entry(api, key_id, by_key[addresses.sort_key(net)])
            removed.append(net)
    except ApiError as exc:
        exc.partial = dict(added=addresses.sorted_canonical(added), removed=addresses.sorted_canonical(removed))
        done = 'added %s; removed %s' % (', '.join(exc.partial['added']) or 'nothing',
                                         ', '.join(exc.partial['removed']) or 'nothing')
        failed = [n for n in to_remove if n not in removed]
        if added == list(to_add) and failed:
            exc.args = ('could not remove %s: %s (already done: %s)'
                        % (addresses.canonical(failed[0]), exc.message, done),)
        else:
            exc.args = ('%s (already done: %s)' % (exc.message, done),)
        raise
    return result


def _add_missing(api, key_id, to_add):
    """One POST with every missing entry; after a lost response or a conflict, re-read and POST
    only what is still missing, so nothing is ever sent twice."""
    pending = list(to_add)
    for attempt in range(1, MAX_POST_ROUNDS + 1):
        try:
            api.add(key_id, pending)
            return list(to_add)
        except ApiError as exc:
            recoverable = exc.ambiguous or exc.status == 409
            if not recoverable or attempt == MAX_POST_ROUNDS:
                raise
        present = set(e.net for e in api.list_entries(key_id))
        pending = [n for n in pending if n not in present]
        if not pending:
            return list(to_add)
    return list(to_add)  # pragma: no cover - the loop always returns or raises


def _delete_entry(api, key_id, entry):
    try:
        api.delete(key_id, entry)
    except ApiError as exc:
        if exc.status != 404:  # already gone (a concurrent run, or a lost DELETE response)
            raise
