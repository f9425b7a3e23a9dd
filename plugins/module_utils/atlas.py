# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""MongoDB Atlas access lists: one engine for every kind of list.

A kind (``KINDS``, below) is a small description: the list's path, its media type, how its entries
are read, how many entries it may hold. A list's wanted state is an ``atlas.Desired``, checked before any
request. Everything else is one code path:

read (every page) -> plan (to_add / to_remove on canonical networks) -> stop if check mode
-> apply (ONE POST with everything missing, before any DELETE; one DELETE per removal, several in
   flight at once, each paced to the rate-limit bucket)
-> result with diff.
"""

from __future__ import annotations

import calendar
import contextlib
import datetime
import functools
import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote, urlsplit

from ansible.module_utils.basic import env_fallback

from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import addresses
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.common import (
    PlanError, check_concurrency, check_not_negative, client_from_params, http_argument_spec, secret_fallback,
    validate_base_url, validate_http_params,
)
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.http_client import (
    ApiError, ClientCredentialsAuth, Pacer, Write, digest_auth, json_object,
)

DEFAULT_BASE_URL = 'https://cloud.mongodb.com'
PAGE_SIZE = 500  # the API's maximum itemsPerPage
V2_MEDIA_TYPE = 'application/vnd.atlas.2023-01-01+json'
SA_MEDIA_TYPE = 'application/vnd.atlas.2024-08-05+json'
ID_RE = re.compile(r'^[a-f0-9]{24}$')
PUBLIC_KEY_RE = re.compile(r'^[a-z0-9]{8}$')
CLIENT_ID_RE = re.compile(r'^mdb_sa_id_[a-fA-F0-9]{24}$')
IPINFO_PATH = '/api/private/ipinfo'
ORG_SETTINGS_PATH = '/api/atlas/v2/orgs/%s/settings'  # [V] issue 20; GET Organization Member, PATCH Owner
# A POST that conflicts with a concurrent writer is re-planned this many times.
MAX_POST_ROUNDS = 3

API_VERSIONS = {
    # name: (default path prefix, collection segment, media type)
    'v2': ('/api/atlas/v2', 'accessList', V2_MEDIA_TYPE),
    'v1_access_list': ('/api/atlas/v1.0', 'accessList', 'application/json'),
    'v1_whitelist': ('/api/atlas/v1.0', 'whitelist', 'application/json'),
}


class ListKind(object):
    """What differs between Atlas access lists; nothing else does."""

    def __init__(self, name, what, path, media_type=None, created='created', last_used='lastUsed', count='count',
                 caller_list=True, details=False, post_statuses=(200,), post_retry=(409,), max_entries=None):
        self.name = name
        self.what = what                      # for messages: "API key", "service account"
        self.path = path                      # template: {prefix} {collection} {parent} {target}
        self.media_type = media_type          # None: the API key's api_version decides
        self.created = created                # entry fields holding the usage data
        self.last_used = last_used
        self.count = count
        self.caller_list = caller_list        # an API access list: calls are checked against it
        self.details = details                # entries carry comment and deleteAfterDate (project list)
        self.post_statuses = post_statuses    # what a successful POST answers
        self.post_retry = post_retry          # POST failures resolved by re-reading, then posting what is missing
        # the most entries the list may hold [V], checked before any write; it is never more than the spec's
        # maxItems of one POST body (200 on the service-account lists), so one POST always carries every addition
        self.max_entries = max_entries

    @property
    def usage_data(self):
        """Whether entries say when they were last used (remove_unused_after needs it)."""
        return self.last_used is not None

    @property
    def serial_writes(self):
        """Writes one at a time ([V] the project list takes no concurrent POSTs)."""
        return self.details


KINDS = dict((kind.name, kind) for kind in (
    ListKind('api_key', 'API key', '{prefix}/orgs/{parent}/apiKeys/{target}/{collection}'),
    ListKind('org_service_account', 'service account', '/api/atlas/v2/orgs/{parent}/serviceAccounts/{target}/accessList',
             SA_MEDIA_TYPE, created='createdAt', last_used='lastUsedAt', count='requestCount',
             max_entries=200),
    ListKind('project_service_account', 'service account',
             '/api/atlas/v2/groups/{parent}/serviceAccounts/{target}/accessList',
             SA_MEDIA_TYPE, created='createdAt', last_used='lastUsedAt', count='requestCount',
             max_entries=200),
    # The project IP access list: who may connect to the project's clusters, not an API access list.
    # No usage data; comment and expiry per entry; POST answers 201 [R] (the spec says 200); concurrent
    # POSTs are not supported [V], so a conflict or a transient 500 is resolved by re-reading. At most 200
    # entries per project [V] (some old sharded projects: 100, which Atlas then refuses with a 403).
    ListKind('project', 'project', '/api/atlas/v2/groups/{parent}/accessList', V2_MEDIA_TYPE, created=None,
             last_used=None, count=None, caller_list=False, details=True, post_statuses=(200, 201),
             post_retry=(409, 500), max_entries=200),
))
DEFAULT_COMMENT = 'managed by apiaccess.ipwhitelist'
MAX_COMMENT = 80  # [V] a longer project-list comment is refused (400 INVALID_NETWORK_PERMISSION_COMMENT)
SECURITY_GROUP_RE = re.compile(r'^([0-9]+/)?sg-[0-9a-f]+$')


class SecurityGroup(object):
    """An AWS security group entry of a project list, shaped like a network for the engine: it sorts
    before every network (version 0) and is only ever equal to itself."""

    version = 0
    prefixlen = 0

    def __init__(self, name):
        self.name = name
        self.first = name  # sort_key: (0, name, 0)

    def __str__(self):
        return self.name

    def __eq__(self, other):
        return isinstance(other, SecurityGroup) and other.name == self.name

    def __hash__(self):
        return hash(('sg', self.name))

    def __contains__(self, other):
        return self == other


# -- options and connection -------------------------------------------------------------------

def atlas_argument_spec(org_required=True):
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
        org_id=dict(type='str', required=org_required),
    )
    return spec


def access_list_argument_spec():
    """The options every access-list module shares (doc fragment ``access_list``)."""
    return dict(
        entries=dict(type='list', elements='str', default=[]),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        purge=dict(type='bool', default=False),
        keep=dict(type='list', elements='str', default=[], no_log=False),
        allow_empty=dict(type='bool', default=False),
        allow_any=dict(type='bool', default=False),
        current_ip=dict(type='bool', default=False),
        remove_unused_after=dict(type='str'),
    )


def concurrency_argument_spec():
    """Requests in flight at once (doc fragment ``access_list.CONCURRENCY``)."""
    return dict(concurrency=dict(type='int', default=8))


def org_settings_scope(org_id):
    """The journal scope of an organization's settings (issue 20)."""
    return 'org-settings:%s' % org_id


def json_value(value):
    """A setting's value as JSON writes it (true, 8760, "text"), for journal items and messages."""
    return json.dumps(value)


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
    for name in ('org_id', 'project_id'):
        if params.get(name) is not None and not ID_RE.match(params[name]):
            raise PlanError('%s %r is not an %s ID (24 lowercase hexadecimal characters)'
                            % (name, params[name], 'organization' if name == 'org_id' else 'Atlas project'))
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


# Atlas cloud, and Atlas for Government: both see callers only by their public addresses
CLOUD_HOSTS = ('cloud.mongodb.com', 'cloud.mongodbgov.com')


def is_atlas_cloud(base_url):
    """Whether ``base_url`` is Atlas cloud (Atlas for Government included), not an Ops Manager."""
    return (urlsplit(base_url or '').hostname or '').lower() in CLOUD_HOSTS


def connection_warnings(params):
    """Warnings about the API form, before any request."""
    if params.get('api_version') == 'v1_whitelist' and is_atlas_cloud(params['base_url']):
        return ['api_version=v1_whitelist is the legacy /whitelist API that Atlas cloud switched off in 2021 (older '
                'Ops Manager still serves it): against %s it gets 404. Use the default api_version=v2'
                % params['base_url']]
    return []


def private_entries_matter(kind, base_url=None, atlas_cloud=None):
    """Whether a private entry on a list of ``kind`` allows nobody: on an API access list (calls are checked against
    it) of Atlas cloud, which sees callers by their public addresses only. A project IP access list decides who may
    connect to the project's clusters, where private addresses are normal (VPC peering [V], private endpoints).
    ``atlas_cloud``: known already (the audit's option), else told by ``base_url``."""
    if not KINDS[kind].caller_list:
        return False
    return is_atlas_cloud(base_url) if atlas_cloud is None else atlas_cloud


def unseen_entries_warning(base_url, networks, who='', kind='api_key'):
    """A warning naming the entries Atlas cloud can never see a caller from (every address private, reserved,
    loopback, link-local or multicast: addresses.reach) on an API access list. Not refused: an on-premises Ops
    Manager does see private addresses."""
    if not private_entries_matter(kind, base_url):
        return []
    unseen = addresses.not_on_the_internet(networks)
    if not unseen:
        return []
    return ['%sentries %s are private, loopback or link-local addresses: Atlas cloud (%s) never sees a call coming '
            'from them, so they allow nobody. Give the public egress addresses instead (they are kept as given, for '
            'Ops Manager setups that see private addresses)' % (who, ', '.join(unseen[:10]) + (
                ' (+%d more)' % (len(unseen) - 10) if len(unseen) > 10 else ''), urlsplit(base_url).hostname)]


def classify_api_key(value):
    """'id' for a 24-hex key ID, 'public' for an 8-char public key; PlanError otherwise."""
    if value and ID_RE.match(value):
        return 'id'
    if value and PUBLIC_KEY_RE.match(value):
        return 'public'
    raise PlanError('api_key %r is neither an API key ID (24 lowercase hexadecimal characters) nor a '
                    'public key (8 lowercase letters or digits)' % (value,))


DURATION_RE = re.compile(r'^\s*(\d+)\s*([smhdw])\s*$')
DURATION_UNITS = {'s': 1, 'm': 60, 'h': 3600, 'd': 86400, 'w': 604800}


def parse_duration(value, label='remove_unused_after'):
    """Seconds in a duration such as ``90d``, ``12h``, ``2w``; PlanError naming the value otherwise."""
    match = DURATION_RE.match(str(value)) if value is not None else None
    if not match or int(match.group(1)) == 0:
        raise PlanError('%s %r is not a duration: give a positive number and a unit, s, m, h, d or w (for example '
                        '90d)' % (label, value))
    return int(match.group(1)) * DURATION_UNITS[match.group(2)]


def parse_time(value):
    """Epoch seconds of an Atlas timestamp (``2026-08-10T03:08:14Z``, optional fraction), or None."""
    if not value or not isinstance(value, str):
        return None
    text = re.sub(r'\.\d+', '', value.strip())
    text = re.sub(r'(Z|[+-]00:?00)$', '', text)
    try:
        return float(calendar.timegm(time.strptime(text, '%Y-%m-%dT%H:%M:%S')))
    except ValueError:
        return None


# -- entries ----------------------------------------------------------------------------------

@functools.lru_cache(maxsize=65536)
def _server_network(text):
    # Many keys share the same entries (a fleet rollout); parse each distinct string once.
    return addresses.parse_network(text, allow_any=True)


class Entry(object):
    """One access-list entry as the server has it: canonical network + the server's own rendering."""

    def __init__(self, raw, kind=KINDS['api_key']):
        self.raw = raw
        self.kind = kind
        if raw.get('awsSecurityGroup'):
            self.net = SecurityGroup(raw['awsSecurityGroup'])
            self.wire = raw['awsSecurityGroup']
            return
        text = raw.get('cidrBlock') or raw.get('ipAddress')
        try:
            self.net = _server_network(text)
        except (addresses.AddressError, TypeError) as exc:
            raise ApiError('the Atlas API returned an access list entry this module cannot read: %s' % exc)
        # For hosts the bare IP is the known-good DELETE path segment [V]; else the CIDR.
        self.wire = raw['ipAddress'] if raw.get('ipAddress') and addresses.is_host(self.net) else text

    def last_active(self):
        """Epoch of the last use, else of the creation; None when the list keeps no usage data."""
        if self.kind.created is None:
            return None
        return parse_time(self.raw.get(self.kind.last_used)) or parse_time(self.raw.get(self.kind.created))

    def info(self, now=None):
        raw, kind = self.raw, self.kind
        if kind.details:
            return dict(entry=str(self.net), ip_address=raw.get('ipAddress'), cidr_block=raw.get('cidrBlock'),
                        aws_security_group=raw.get('awsSecurityGroup'), comment=raw.get('comment'),
                        delete_after=raw.get('deleteAfterDate'))
        active = self.last_active()
        now = time.time() if now is None else now
        return dict(entry=addresses.canonical(self.net), ip_address=raw.get('ipAddress'),
                    cidr_block=raw.get('cidrBlock'), created=raw.get(kind.created), last_used=raw.get(kind.last_used),
                    last_used_address=raw.get('lastUsedAddress'), count=raw.get(kind.count),
                    days_unused=int((now - active) // 86400) if active is not None else None)


# -- API --------------------------------------------------------------------------------------

class AtlasApi(object):
    """The Atlas calls of one run, for every list kind. ``caller`` is (kind of credential, its name)."""

    def __init__(self, client, api_version='v2', path_prefix=None, caller=(None, None)):
        default_prefix, self.collection, self.v2_media_type = API_VERSIONS[api_version]
        self.api_version = api_version
        self.client = client
        self.prefix = (path_prefix or default_prefix).rstrip('/')
        self.caller = caller
        self._key_ids = {}         # (org, public key) -> key ID: the key list is read once per org and run
        self._orgs_read = set()
        self._caller_ip = None
        self._lock = threading.Lock()  # fleet threads share one AtlasApi
        self.notes = []                # warnings for the user, once each
        self._project_locks = {}

    @contextlib.contextmanager
    def write_lock(self, target):
        """Writes to one project list are serialised ([V]: no concurrent POSTs); other lists need no lock."""
        if not target.kind.details:
            yield
            return
        with self._lock:
            lock = self._project_locks.setdefault(target.path, threading.Lock())
        with lock:
            yield

    def note(self, text):
        with self._lock:
            if text not in self.notes:
                self.notes.append(text)

    def media_type(self, kind):
        return kind.media_type or self.v2_media_type

    def paged(self, path, media_type):
        """Every result of a paginated GET; stops on a short or empty page (totalCount is an estimate)."""
        page = 1
        while True:
            body = self.client.read_json(self.client.request(
                'GET', path, params={'pageNum': page, 'itemsPerPage': PAGE_SIZE}, headers={'Accept': media_type}))
            results = body.get('results') or []
            yield from results
            if len(results) < PAGE_SIZE:
                return
            page += 1

    def access_list(self, kind_name, parent, target):
        return AccessList(self, KINDS[kind_name], parent, target)

    # API keys

    def list_keys(self, org_id):
        return list(self.paged('%s/orgs/%s/apiKeys' % (self.prefix, org_id), self.v2_media_type))

    def resolve_key(self, org_id, api_key):
        """The 24-hex ID for an ID or a public key (looked up through the paginated key list, read once
        per organization and run however many keys are resolved)."""
        if classify_api_key(api_key) == 'id':
            return api_key
        with self._lock:
            if org_id not in self._orgs_read:
                for key in self.list_keys(org_id):
                    if key.get('publicKey'):
                        self._key_ids[(org_id, key['publicKey'])] = key['id']
                self._orgs_read.add(org_id)
            found = self._key_ids.get((org_id, api_key))
        if found is None:
            raise PlanError('no API key with public key %r in organization %s (%d keys checked); api_key takes the '
                            'key ID or its public key'
                            % (api_key, org_id, len([k for k in self._key_ids if k[0] == org_id])))
        return found

    # service accounts

    def list_service_accounts(self, org_id):
        return list(self.paged('/api/atlas/v2/orgs/%s/serviceAccounts' % org_id, SA_MEDIA_TYPE))

    def resolve_service_account(self, org_id, service_account):
        """The client ID for a client ID or a name (looked up through the paginated account list)."""
        if CLIENT_ID_RE.match(service_account):
            return service_account
        if not org_id:
            raise PlanError('service_account %r is not a client ID (mdb_sa_id_ and 24 hexadecimal characters); a '
                            'name can only be resolved through an organization: give org_id, or the client ID'
                            % service_account)
        accounts = self.list_service_accounts(org_id)
        found = [a['clientId'] for a in accounts if a.get('name') == service_account]
        if len(found) == 1:
            return found[0]
        if found:
            raise PlanError('%d service accounts of organization %s are named %r (%s); give the client ID'
                            % (len(found), org_id, service_account, ', '.join(found)))
        raise PlanError('no service account named %r in organization %s (%d accounts checked); service_account '
                        'takes the client ID or the name' % (service_account, org_id, len(accounts)))

    # projects

    def list_projects(self):
        return list(self.paged('/api/atlas/v2/groups', V2_MEDIA_TYPE))

    def resolve_project(self, project):
        """The project ID for an ID or a name (GET /groups/byName/{name})."""
        if ID_RE.match(project):
            return project
        try:
            body = self.client.read_json(self.client.request(
                'GET', '/api/atlas/v2/groups/byName/%s' % quote(project, safe=''), headers={'Accept': V2_MEDIA_TYPE}))
        except ApiError as exc:
            if exc.status == 404:
                raise PlanError('no project named %r that these credentials can see; project takes the name or the '
                                '24-hex project ID' % project)
            raise
        return body['id']

    # organization settings (issue 20: the access-list requirement)

    def org_settings(self, org_id):
        """The organization's settings [V]: GET /api/atlas/v2/orgs/{orgId}/settings (Organization Member), a dict
        with ``apiAccessListRequired`` (bool), ``multiFactorAuthRequired``, ``restrictEmployeeAccess``,
        ``genAIFeaturesEnabled``, ``maxServiceAccountSecretValidityInHours``, ``securityContact``. Not paced: the
        rate-limit table names no endpoint set for these operations (see RATE_LIMIT_BUCKETS)."""
        return self.client.read_json(self.client.request('GET', ORG_SETTINGS_PATH % org_id,
                                                         headers={'Accept': V2_MEDIA_TYPE}))

    def update_org_settings(self, org_id, changes):
        """PATCH the given settings (Organization Owner) [V]; returns the settings Atlas answers with (200 with the
        settings [I]). Journaled as ``update_settings`` of ``org-settings:<orgId>``, one item per field
        (``apiAccessListRequired=true``)."""
        items = ['%s=%s' % (name, json_value(value)) for name, value in sorted(changes.items())]
        answer = self.client.request('PATCH', ORG_SETTINGS_PATH % org_id, json=dict(changes),
                                     headers={'Accept': V2_MEDIA_TYPE, 'Content-Type': V2_MEDIA_TYPE},
                                     write=Write(org_settings_scope(org_id), 'update_settings', items))
        return self.client.read_json(answer)

    # the caller

    def caller_ip(self):
        """This controller's address as Atlas sees it: the private, undocumented GET /api/private/ipinfo [R]
        (what the Atlas CLI's --currentIp uses). One request per run."""
        with self._lock:
            return self._learn_caller_ip()

    def _learn_caller_ip(self):
        if self._caller_ip is None:
            try:
                body = self.client.read_json(self.client.request('GET', IPINFO_PATH,
                                                                 headers={'Accept': 'application/json'}))
                self._caller_ip = addresses.parse_network(str(body['currentIpv4Address']))
            except (ApiError, ValueError, KeyError, TypeError, addresses.AddressError) as exc:
                raise PlanError('cannot learn the address Atlas sees this controller call from: GET %s (a private, '
                                'undocumented Atlas endpoint) failed: %s. Nothing was changed'
                                % (IPINFO_PATH, getattr(exc, 'message', exc)))
        return self._caller_ip

    def may_call_with(self, kind):
        """Whether this run's credential is of the kind whose lists ``kind`` holds."""
        return (kind.name == 'api_key') == (self.caller[0] == 'api_key')

    def calls_with(self, kind, parent, target):
        """Whether this run's own credential is the one whose list ``target`` is."""
        credential, name = self.caller
        if kind.name == 'api_key' and credential == 'api_key':
            return target == self.resolve_key(parent, name)
        if kind.name.endswith('service_account') and credential == 'service_account':
            return target == name
        return False


class AccessList(object):
    """One list: its kind, its parent (organization or project) and its target (key or account)."""

    def __init__(self, api, kind, parent, target):
        self.api = api
        self.kind = kind
        self.parent = parent
        self.target = target
        self.media_type = api.media_type(kind)
        self.path = kind.path.format(prefix=api.prefix, collection=api.collection, parent=parent, target=target)

    def list_entries(self):
        return [Entry(raw, self.kind) for raw in self.api.paged(self.path, self.media_type)]

    def _body(self, net, details):
        if isinstance(net, SecurityGroup):
            element = {'awsSecurityGroup': net.name}
        else:
            element = addresses.atlas_wire_entry(net)
        if self.kind.details:
            extra = (details or {}).get(addresses.sort_key(net)) or {}
            element.update((k, v) for k, v in extra.items() if v is not None and k in ('comment', 'deleteAfterDate'))
        return element

    def add(self, networks, details=None, read_back=False, action='add'):
        """POST the entries, journaled as ``action`` (add, or update: the project list's comment and expiry).
        ``read_back``: return the answer's entries (page 1 of the whole list), else nothing: parsing 500
        entries per key nobody reads is waste."""
        networks = list(networks)
        with self.api.write_lock(self):
            answer = self.api.client.request(
                'POST', self.path, json=[self._body(n, details) for n in networks], expected=self.kind.post_statuses,
                params={'itemsPerPage': PAGE_SIZE} if self.kind.details else None,
                headers={'Accept': self.media_type, 'Content-Type': self.media_type},
                write=Write(self.path, action, [addresses.canonical(n) for n in networks]))
        if not read_back or answer is None:
            return []
        try:
            return [Entry(raw, self.kind) for raw in (self.api.client.read_json(answer).get('results') or [])]
        except (ValueError, AttributeError):
            return []

    def _segment(self, entry):
        # '/' encoded as %2F exactly once (requests leaves an encoded path alone). Colons stay: the
        # OpenAPI pattern of this path parameter admits IPv6 only with literal colons.
        return quote(entry.wire, safe=':')

    def delete(self, entry):
        """DELETE one entry. A 404 means it is gone already: this run's removal if an earlier attempt of the
        same request may have acted (its answer lost), else someone else's (no change of this run's)."""
        item = addresses.canonical(entry.net)
        try:
            with self.api.write_lock(self):
                self.api.client.request('DELETE', '%s/%s' % (self.path, self._segment(entry)), expected=(200, 204),
                                        headers={'Accept': self.media_type}, write=Write(self.path, 'remove', [item]))
        except ApiError as exc:
            if exc.status != 404:
                raise
            self.api.client.journal.settle(self.path, 'remove', [item] if exc.outcome_unknown else [], checked=[item])

    def status(self, entry):
        """The project list's GET .../{entry}/status: PENDING, ACTIVE or FAILED [V]."""
        body = self.api.client.read_json(self.api.client.request(
            'GET', '%s/%s/status' % (self.path, self._segment(entry)), headers={'Accept': self.media_type}))
        return (body or {}).get('STATUS')

    def caller_network(self, removing):
        """This run's own address when ``removing`` would take it off the very list this run calls with,
        else None. Costs, only when this run removes from a list of its own credential's kind: one read of
        the address (once per run), and, only when a removal holds that address, one read of the key list
        (once per organization and run) to tell whether the key given by ID is the caller's.
        When the address cannot be learned (Ops Manager may lack the private endpoint), the run goes on
        unprotected, as before this check existed, and says so."""
        if not self.kind.caller_list or not self.api.may_call_with(self.kind):
            return None
        try:
            address = self.api.caller_ip()
        except PlanError as exc:
            if self.api.calls_with(self.kind, self.parent, self.target):
                self.api.note('the %s %s is the one this run calls with, and its own address is not protected from '
                              'removal: %s. If Atlas refuses to remove it, the run fails after its other changes'
                              % (self.kind.what, self.target, exc))
            return None
        if not any(address.version == n.version and address in n for n in removing):
            return None
        return address if self.api.calls_with(self.kind, self.parent, self.target) else None


# [V] Atlas's token buckets (shared/specs README, rate limits): which bucket a request draws from, by
# endpoint set and scope key, and its documented refill per second.
RATE_LIMIT_BUCKETS = (
    (re.compile(r'/orgs/([^/]+)/apiKeys'), 'Programmatic API Keys', 250 / 60.0),
    (re.compile(r'/orgs/([^/]+)/serviceAccounts'), 'Service Accounts (org)', 250 / 60.0),
    (re.compile(r'/groups/([0-9a-f]{24})/serviceAccounts'), 'Service Accounts (group)', 500 / 60.0),
    (re.compile(r'/groups/([0-9a-f]{24})/accessList'), 'Project IP Access List', 500 / 60.0),
    (re.compile(r'/api/atlas/v2/groups(?:/byName/.*)?()$'), 'Projects', 500 / 60.0),
)
# Not paced: GET|PATCH /orgs/{orgId}/settings (issue 20); the documented rate-limit table names no endpoint set
# for it, so which bucket (if any) it draws from is unknown.


def rate_limit_bucket(path):
    """((endpoint set, scope key), refill per second) of a request path, or None (token endpoint, ipinfo)."""
    for pattern, endpoint_set, refill in RATE_LIMIT_BUCKETS:
        match = pattern.search(path or '')
        if match:
            return (endpoint_set, match.group(1)), refill
    return None


def build_api(params, **client_kwargs):
    """Client + API for the module's params (credentials registered as secrets)."""
    if params.get('client_id'):
        def auth(client):
            return ClientCredentialsAuth(client, '/api/oauth/token', params['client_id'], params['client_secret'])
        caller = ('service_account', params['client_id'])
    else:
        auth = digest_auth(params['public_key'], params['private_key'])
        caller = ('api_key', params['public_key'])
    client_kwargs.setdefault('pacer', Pacer(rate_limit_bucket))
    client = client_from_params(params, params['base_url'], auth=auth, error_parser=error_parser,
                                error_hint=error_hint_for(params), **client_kwargs)
    client.add_secret(params.get('private_key'))
    client.add_secret(params.get('client_secret'))
    return AtlasApi(client, params['api_version'], params.get('api_path_prefix'), caller)


# -- plan and converge ------------------------------------------------------------------------

class Desired(object):
    """One Atlas list's wanted state, checked before any request: what the target may add, update and remove.
    Every kind's rules are applied here, once, for the modules and the fleet alike; the fleet's --limit guard,
    the plan-time caps and check mode read what it says.

    ``entries`` and ``keep``: networks (security groups too on the project list); ``unused_after``: seconds
    (remove_unused_after); ``details``: the project list's comment and expiry per entry (sort_key -> {comment,
    deleteAfterDate, explicit}); ``comment_drift``: 'update' re-POSTs entries whose comment or expiry
    differs, 'report' only reports them; ``wait``: seconds to wait for written entries to be ACTIVE."""

    def __init__(self, kind, entries, keep=(), state='present', purge=False, allow_empty=False, unused_after=None,
                 current_ip=False, details=None, comment_drift='update', wait=False, wait_timeout=None):
        self.kind = KINDS[kind] if isinstance(kind, str) else kind
        self.entries = entries  # not copied: the fleet's targets share one list (never changed in place)
        self.keep = list(keep)
        self.state = state
        self.purge = purge
        self.allow_empty = allow_empty
        self.unused_after = unused_after
        self.current_ip = current_ip
        self.details = details if self.kind.details else None
        self.comment_drift = comment_drift
        check_not_negative(dict(wait_timeout=wait_timeout), ('wait_timeout',))
        self.wait = wait_timeout if wait else None
        if unused_after is not None and not self.kind.usage_data:
            raise PlanError('remove_unused_after needs usage data, which the %s list does not keep' % self.kind.what)
        if state == 'absent':
            check_absent_vs_keep(self.entries, self.keep)
            if current_ip or unused_after is not None:
                raise PlanError('current_ip and remove_unused_after go with state=present')
        else:
            check_capacity(self.kind, len(self.entries), 'the wanted entries')

    @property
    def may_remove(self):
        """Whether this run may take entries off the list that it was not told to remove by name: the
        fleet's --limit guard refuses these when the limit narrows the fleet."""
        return self.state == 'present' and (self.purge or self.unused_after is not None)

    @property
    def may_update(self):
        return self.details is not None and self.comment_drift == 'update'


def check_capacity(kind, count, what):
    """A list's documented size limit, checked before any write (Atlas would refuse the write half way)."""
    if kind.max_entries is not None and count > kind.max_entries:
        raise PlanError('%s would give the %s list %d entries; Atlas holds at most %d per %s list. Nothing was '
                        'written. Merge addresses into CIDRs (merge: true in the fleet), or split them across lists'
                        % (what, kind.what, count, kind.max_entries, kind.what))


def _kept(net, keep):
    return any(net == k or (net.version == k.version and net in k) for k in keep)


def check_absent_vs_keep(wanted, keep):
    clash = [n for n in wanted if _kept(n, keep)]
    if clash:
        raise PlanError('entries %s are listed for removal (state=absent) but also protected by keep'
                        % ', '.join(addresses.canonical(n) for n in clash))


def plan(current, wanted, state, purge, keep, allow_empty, unused_before=None, caller=None, what='key'):
    """Pure planning on canonical networks: returns (to_add, to_remove, after, kept_for_caller).

    ``unused_before``: also remove entries last used (or, never used, created) before this epoch.
    ``caller``: this run's own address on the list it calls with: entries holding it are never removed.
    """
    current_nets = [e.net for e in current]
    if state == 'present':
        to_add, extra = addresses.diff(current_nets, wanted)
        to_remove = [n for n in extra if not _kept(n, keep)] if purge else []
        if unused_before is not None and not purge:
            extra_keys = set(addresses.sort_key(n) for n in extra)
            to_remove = addresses.unique_sorted(
                e.net for e in current if addresses.sort_key(e.net) in extra_keys and not _kept(e.net, keep)
                and (e.last_active() or 0) < unused_before)
    else:
        check_absent_vs_keep(wanted, keep)
        to_add = []
        present = set(addresses.sort_key(n) for n in current_nets)
        to_remove = addresses.unique_sorted(n for n in wanted if addresses.sort_key(n) in present)
    kept_for_caller = [n for n in to_remove if caller is not None and caller.version == n.version and caller in n]
    if kept_for_caller:
        to_remove = [n for n in to_remove if n not in kept_for_caller]
    removing = set(addresses.sort_key(n) for n in to_remove)
    after = [n for n in current_nets if addresses.sort_key(n) not in removing] if removing else list(current_nets)
    after.extend(to_add)
    if not after and to_remove and not allow_empty:
        raise PlanError('this run would leave the access list of the %s empty (removing %s); an empty list means '
                        'the %s works from anywhere or from nowhere, depending on the organization settings. '
                        'Set allow_empty=true if that is intended'
                        % (what, ', '.join(addresses.canonical(n) for n in to_remove), what))
    return to_add, to_remove, after, kept_for_caller


def converge(target, desired, check_mode=False, with_diff=True, with_entries=True, clock=None, sleep=None,
             delete_concurrency=1):
    """Bring one access list to the ``desired`` state (a :class:`Desired`). Returns the module result.

    with_entries=False leaves out the sorted list of every entry (the fleet only reports the count).
    ``delete_concurrency``: DELETEs in flight at once (each waits for its token of the rate-limit bucket).
    An entry is never deleted and re-added to change its comment or expiry.
    """
    clock = clock or time.time
    sleep = sleep or time.sleep
    wanted, keep, state = desired.entries, desired.keep, desired.state
    try:
        current = target.list_entries()
    except ApiError as exc:
        exc.args = ('%s (nothing was changed: the list could not be read)' % exc.message,)
        raise
    unused_before = clock() - desired.unused_after if desired.unused_after else None
    what = target.kind.what
    to_add, to_remove, after, kept = plan(current, wanted, state, desired.purge, keep, desired.allow_empty,
                                          unused_before, what=what)
    if to_remove:
        # Atlas refuses to remove the caller's own address from the caller's own list: keep it at plan
        # time (one extra request, only when this run removes from its own list), instead of failing
        # after the POST.
        caller = target.caller_network(to_remove)
        if caller is not None:
            to_add, to_remove, after, kept = plan(current, wanted, state, desired.purge, keep, desired.allow_empty,
                                                  unused_before, caller, what)
    if to_add:
        # every addition is POSTed before any DELETE (never a moment with less access): the peak counts
        check_capacity(target.kind, len(current) + len(to_add), 'this run (%d entries there, %d to add before %d '
                       'are removed)' % (len(current), len(to_add), len(to_remove)))
    details = desired.details
    drift = _drift(current, wanted, to_remove, details) if state == 'present' and details is not None else []
    updating = drift if desired.may_update else []
    wait = desired.wait
    result = dict(
        changed=bool(to_add or to_remove or updating),
        # plan returns both sorted
        added=[addresses.canonical(n) for n in to_add], removed=[addresses.canonical(n) for n in to_remove],
        kept_for_caller=[addresses.canonical(n) for n in kept],
    )
    if target.kind.details:
        result['drift'] = [d['report'] for d in drift]
        result['updated'] = [d['report']['entry'] for d in updating] if check_mode else []
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
    # What was written is journaled by the client as it happens; the error boundary (common.TargetRun) reports
    # it, on success and on failure alike.
    added = []
    try:
        if to_add:
            added = _add_missing(target, to_add, details, sleep)
        by_key = dict((addresses.sort_key(e.net), e) for e in current) if to_remove else {}
        _delete_entries(target, [by_key[addresses.sort_key(net)] for net in to_remove], delete_concurrency)
        if updating:
            _update_drifted(target, updating, details, result)
        if wait is not None and (added or updating):
            result['status'] = wait_active(target, list(added) + [d['net'] for d in updating], wait, clock, sleep)
    except ApiError as exc:
        failed = getattr(exc, 'entry', None)
        if failed is not None:
            exc.args = ('could not remove %s: %s' % (addresses.canonical(failed), exc.message),)
        if getattr(exc, 'status_report', None) is not None:
            exc.partial = dict(status=exc.status_report)
        raise
    return result


def _drift(current, wanted, to_remove, details):
    """Entries kept by this run whose explicit comment differs, or whose expiry is earlier than wanted."""
    if not details:
        return []
    by_key = dict((addresses.sort_key(e.net), e) for e in current)
    removing = set(addresses.sort_key(n) for n in to_remove)
    drift = []
    for net in wanted:
        key = addresses.sort_key(net)
        entry = by_key.get(key)
        want = details.get(key) or {}
        if entry is None or key in removing:
            continue
        have = entry.raw
        if want.get('explicit') and want.get('comment') is not None and have.get('comment') != want['comment']:
            drift.append(dict(net=net, report=dict(entry=str(net), field='comment', current=have.get('comment'),
                                                   wanted=want['comment'])))
        elif want.get('deleteAfterDate') and have.get('deleteAfterDate') and \
                (parse_time(have['deleteAfterDate']) or 0) < (parse_time(want['deleteAfterDate']) or 0) - 60:
            drift.append(dict(net=net, report=dict(entry=str(net), field='delete_after',
                                                   current=have['deleteAfterDate'], wanted=want['deleteAfterDate'])))
    return drift


def _update_drifted(target, updating, details, result):
    """One POST of the drifted entries with their wanted comment/expiry; what Atlas applied is read from
    its answer (page 1 of the whole list, a project holding at most 200 entries). Whether Atlas updates an
    entry through POST is unknown [U]: when it does not (or refuses), the drift is reported, never resolved
    by deleting and re-adding the entry, which would drop access meanwhile."""
    try:
        answer = target.add([d['net'] for d in updating], details, read_back=True, action='update')
    except ApiError as exc:
        if exc.status not in (400, 409):
            raise
        answer = None
    now = dict((addresses.sort_key(e.net), e.raw) for e in answer or [])
    updated, left = [], []
    for item in updating:
        have = now.get(addresses.sort_key(item['net']))
        field = 'comment' if item['report']['field'] == 'comment' else 'deleteAfterDate'
        value = (have or {}).get(field)
        applied = value == item['report']['wanted'] if field == 'comment' else \
            (parse_time(value) or 0) >= (parse_time(item['report']['wanted']) or 0) - 60
        (updated if applied else left).append(item['report'])
    # Atlas acknowledged the POST; the entries it did not change are no change
    not_applied = [addresses.canonical(r['net']) for r in updating if r['report'] in left]
    target.api.client.journal.retract(target.path, 'update', not_applied)
    result['updated'] = [r['entry'] for r in updated]
    result['drift'] = left


STATUS_WAITS = (1.0, 2.0, 4.0, 8.0, 10.0)  # seconds between status rounds; the last one repeats


def wait_active(target, networks, timeout, clock=None, sleep=None):
    """Poll each written entry's status until ACTIVE, with bounded backoff; {entry: status}. Raises
    ApiError naming the entries still PENDING at the timeout, or FAILED."""
    clock = clock or time.time
    sleep = sleep or time.sleep
    by_key = dict((addresses.sort_key(e.net), e) for e in target.list_entries()) if networks else {}
    waiting = [n for n in networks if addresses.sort_key(n) in by_key]
    status = dict((str(n), 'PENDING') for n in waiting)
    deadline = clock() + timeout
    round_ = 0
    while waiting:
        for net in list(waiting):
            status[str(net)] = target.status(by_key[addresses.sort_key(net)])
            if status[str(net)] in ('ACTIVE', 'FAILED'):
                waiting.remove(net)
        if not waiting or clock() >= deadline:
            break
        sleep(min(STATUS_WAITS[min(round_, len(STATUS_WAITS) - 1)], max(0.0, deadline - clock())))
        round_ += 1
    failed = sorted(e for e, st in status.items() if st == 'FAILED')
    pending = sorted(e for e, st in status.items() if st not in ('ACTIVE', 'FAILED'))
    if failed or pending:
        parts = []
        if failed:
            parts.append('FAILED (Atlas did not apply them): %s' % ', '.join(failed))
        if pending:
            parts.append('still PENDING after %ss: %s' % (timeout, ', '.join(pending)))
        exc = ApiError('the entries were written, but not all are ACTIVE: %s' % '; '.join(parts))
        exc.status_report = status
        raise exc
    return status


def kept_for_caller_warning(result, label):
    if not result.get('kept_for_caller'):
        return []
    return ['%s: kept %s although the plan removes it: it holds the address this run calls Atlas from, and Atlas '
            'refuses to remove the caller from its own access list' % (label, ', '.join(result['kept_for_caller']))]


def _add_missing(target, to_add, details=None, sleep=None):
    """One POST with every missing entry; after a lost response, a conflict (or, on the project list, a
    transient 500), re-read and POST only what is still missing, so nothing is ever sent twice."""
    pending = list(to_add)
    for attempt in range(1, MAX_POST_ROUNDS + 1):
        try:
            target.add(pending, details)
            return list(to_add)
        except ApiError as exc:
            recoverable = exc.ambiguous or exc.status in target.kind.post_retry
            if not recoverable or attempt == MAX_POST_ROUNDS:
                if exc.outcome_unknown:
                    _settle_by_reading(target, pending)
                raise
        if target.kind.details:
            # the project list takes no concurrent POSTs [V]: give the other writer time to finish
            (sleep or time.sleep)(float(attempt))
        present = set(e.net for e in target.list_entries())
        # what the lost or failed POST did is now known: the journal records it as done or not applied
        target.api.client.journal.settle(target.path, 'add', [addresses.canonical(n) for n in pending if n in present],
                                         checked=[addresses.canonical(n) for n in pending])
        pending = [n for n in pending if n not in present]
        if not pending:
            return list(to_add)
    return list(to_add)  # pragma: no cover - the loop always returns or raises


def _settle_by_reading(target, networks):
    """After a POST of unknown outcome that is not retried: read the list once, so that the failure says
    exactly what was added. If the read fails too, the journal keeps the outcome unknown, and says so."""
    try:
        present = set(e.net for e in target.list_entries())
    except ApiError:
        return
    target.api.client.journal.settle(target.path, 'add', [addresses.canonical(n) for n in networks if n in present],
                                     checked=[addresses.canonical(n) for n in networks])


def _delete_entry(target, entry):
    try:
        target.delete(entry)
    except ApiError as exc:
        exc.entry = entry.net
        raise


def _delete_entries(target, entries, concurrency):
    """One DELETE per entry, up to ``concurrency`` at once (what is gone, the journal records). After a failure
    no new DELETE starts, those in flight finish, and the first failure is raised. The project list takes its
    writes one at a time (write_lock), so there they go one by one."""
    if concurrency <= 1 or len(entries) <= 1 or target.kind.serial_writes:
        for entry in entries:
            _delete_entry(target, entry)
        return
    failures = []
    lock = threading.Lock()

    def delete(entry):
        if failures:
            return
        try:
            _delete_entry(target, entry)
        except ApiError as exc:
            with lock:
                failures.append(exc)

    with ThreadPoolExecutor(max_workers=min(concurrency, len(entries))) as pool:
        list(pool.map(delete, entries))
    if failures:
        raise failures[0]


def list_infos(target, clock=None):
    """Every entry of one list with its usage data, sorted (the _info modules)."""
    now = (clock or time.time)()
    return [e.info(now) for e in sorted(target.list_entries(), key=lambda e: addresses.sort_key(e.net))]


# -- project list entries ---------------------------------------------------------------------

MAX_EXPIRY = 7 * 86400  # [V] deleteAfterDate at most one week after the request
PROJECT_ENTRY_KEYS = frozenset(['cidr', 'aws_security_group', 'comment', 'delete_after'])


def parse_expiry(value, now, label='delete_after'):
    """An ISO 8601 time, or a duration from now (8h, 2d); in the future and at most a week ahead."""
    if DURATION_RE.match(str(value)):
        epoch = now + parse_duration(value, label)
    else:
        epoch = parse_iso(value)
        if epoch is None:
            raise PlanError('%s %r is neither an ISO 8601 time (2026-12-02T18:00:00Z) nor a duration (8h)'
                            % (label, value))
    if epoch <= now:
        raise PlanError('%s %r is in the past' % (label, value))
    if epoch > now + MAX_EXPIRY:
        raise PlanError('%s %r is more than one week ahead, which Atlas refuses (deleteAfterDate: at most 7 days); '
                        'nothing was sent' % (label, value))
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(epoch))


def parse_iso(value):
    """Epoch of an ISO 8601 date-time with Z or an offset (or none: UTC), or None."""
    try:
        parsed = datetime.datetime.fromisoformat(str(value).strip().replace('Z', '+00:00'))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return parsed.timestamp()


def parse_project_entries(values, comment=None, delete_after=None, allow_any=False, now=None):
    """(wanted, details) from the project module's entries: strings, or dicts with cidr or
    aws_security_group and comment / delete_after. Every bad value is named before any request."""
    now = time.time() if now is None else now
    wanted, details, errors = [], {}, []
    for index, item in enumerate(values or []):
        if isinstance(item, str):
            spec = {'aws_security_group': item} if SECURITY_GROUP_RE.match(item) else {'cidr': item}
        else:
            spec = item
        label = 'entries[%d]' % index
        try:
            if not isinstance(spec, dict):
                raise PlanError('%s must be an address string or a dict, got %s' % (label, type(item).__name__))
            unknown = sorted(set(spec) - PROJECT_ENTRY_KEYS)
            if unknown:
                known = ', '.join(sorted(PROJECT_ENTRY_KEYS))
                raise PlanError('%s has unknown keys %s (known: %s)' % (label, ', '.join(unknown), known))
            if bool(spec.get('cidr')) == bool(spec.get('aws_security_group')):
                raise PlanError('%s needs exactly one of cidr and aws_security_group' % label)
            if spec.get('aws_security_group'):
                if not SECURITY_GROUP_RE.match(spec['aws_security_group']):
                    raise PlanError('%s: aws_security_group %r is not a security group ID (sg-...)'
                                    % (label, spec['aws_security_group']))
                key = SecurityGroup(spec['aws_security_group'])
            else:
                key = addresses.parse_network(str(spec['cidr']), allow_any=allow_any)
            explicit = spec.get('comment') is not None or comment is not None
            text = spec.get('comment') if spec.get('comment') is not None else (comment or DEFAULT_COMMENT)
            if len(text) > MAX_COMMENT:
                raise PlanError('%s: comment %r is %d characters; Atlas takes at most %d'
                                % (label, text, len(text), MAX_COMMENT))
            expiry = spec.get('delete_after', delete_after)
            if expiry and isinstance(key, SecurityGroup):
                raise PlanError('%s: a security group cannot be a temporary entry (Atlas: expiration dates are only '
                                'supported for IP addresses)' % label)
            details[addresses.sort_key(key)] = dict(
                comment=text, explicit=explicit,
                deleteAfterDate=parse_expiry(expiry, now, '%s delete_after' % label) if expiry else None)
            if key not in wanted:
                wanted.append(key)
        except (PlanError, addresses.AddressError) as exc:
            errors.append(str(exc))
    if errors:
        raise PlanError('; '.join(errors))
    return wanted, details


def parse_keep(values):
    """keep for the project list: networks and security groups."""
    keep = []
    for value in values or []:
        keep.append(SecurityGroup(value) if SECURITY_GROUP_RE.match(str(value)) else
                    addresses.parse_network(str(value), allow_any=True))
    return keep


# -- the list modules -------------------------------------------------------------------------

def run_list_module(module, kind_name, parent, resolve_target):
    """The whole body of an access-list module: check everything that needs no request, resolve the
    target, converge. ``resolve_target(api)`` returns the target's ID. Returns the result."""
    params = module.params
    validate_connection(params)
    check_concurrency(params['concurrency'])
    desired = Desired(
        kind_name, addresses.parse_networks(params['entries'], allow_any=params['allow_any']),
        keep=addresses.parse_networks(params['keep'], allow_any=True), state=params['state'], purge=params['purge'],
        allow_empty=params['allow_empty'], current_ip=params['current_ip'],
        unused_after=parse_duration(params['remove_unused_after']) if params.get('remove_unused_after') else None)
    unseen = unseen_entries_warning(params['base_url'], desired.entries, kind=kind_name) \
        if params['state'] == 'present' else []
    for warning in connection_warnings(params) + unseen:
        module.warn(warning)
    api = build_api(params)
    module.apiaccess_client = api.client
    module.apiaccess_list_target = True
    target = resolve_target(api)
    if desired.current_ip:
        desired.entries = addresses.unique_sorted(desired.entries + [api.caller_ip()])
    result = converge(api.access_list(kind_name, parent, target), desired, check_mode=module.check_mode,
                      delete_concurrency=params['concurrency'])
    for warning in api.notes + kept_for_caller_warning(result, 'the %s %s' % (KINDS[kind_name].what, target)):
        module.warn(warning)
    if params['current_ip']:
        result['current_ip'] = addresses.canonical(api.caller_ip())
    return target, result
