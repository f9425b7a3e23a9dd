# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Fleet rollout: many keys in one call, for the fleet_whitelist role.

Runs the same per-key converge code as the single-key modules (atlas.converge,
woodcore.Converger), with bounded concurrency. Used by the fleet_converge action plugin on
the controller (no per-key module process) and by the fleet_converge module itself.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.basic import env_fallback

from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import addresses
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import atlas
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import woodcore
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.redaction import redact_everywhere
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.common import (
    PlanError, TargetRun, check_concurrency, check_not_negative, check_secret_files, connection_warnings,
    http_argument_spec, secret_fallback,
)


def argument_spec():
    """Options of fleet_converge: the shared connection options, Atlas credentials prefixed
    with ``atlas_`` (same environment fallbacks), and the keys."""
    single = atlas.atlas_argument_spec()
    spec = http_argument_spec()
    for name in ('base_url', 'public_key', 'private_key', 'client_id', 'client_secret'):
        spec['atlas_' + name] = single[name]
    spec['api_version'] = single['api_version']
    spec['api_path_prefix'] = single['api_path_prefix']
    spec.update(
        hosts=dict(type='list', elements='str'),
        address_var=dict(type='str', default='fleet_whitelist_address'),
        fleet=dict(type='dict'),
        extra_entries=dict(type='list', elements='str', default=[]),
        merge=dict(type='bool', default=False),
        allow_any=dict(type='bool', default=False),
        atlas_keys=dict(type='list', elements='dict', default=[], no_log=False, options=dict(
            target_options(), org_id=dict(type='str', required=True),
            api_key=dict(type='str', required=True, no_log=False))),
        atlas_service_accounts=dict(type='list', elements='dict', default=[], no_log=False, options=dict(
            target_options(), org_id=dict(type='str'), project_id=dict(type='str'),
            service_account=dict(type='str', required=True))),
        atlas_projects=dict(type='list', elements='dict', default=[], no_log=False, options=dict(
            target_options(), project_id=dict(type='str'), project=dict(type='str'),
            comment_prefix=dict(type='str', default='fleet: '), delete_after=dict(type='str'),
            comment_drift=dict(type='str', default='update', choices=['update', 'report']),
            wait=dict(type='bool', default=False), wait_timeout=dict(type='int', default=300))),
        woodcore_keys=dict(type='list', elements='dict', default=[], no_log=False, options=dict(
            name=dict(type='str', required=True),
            api_key=dict(type='str', no_log=True),
            ip=dict(type='str'),
            base_url=dict(type='str'),
            profile_ip_field=dict(type='str'),
            profile_pending_field=dict(type='str'),
        )),
        woodcore_base_url=dict(type='str', fallback=(env_fallback, ['WOODCORE_BASE_URL'])),
        woodcore_api_key=dict(type='str', no_log=True, fallback=(secret_fallback, ['WOODCORE_API_KEY'])),
        woodcore_otps=dict(type='dict', default={}, no_log=True),
        woodcore_pending_requests=dict(type='dict', default={}),
        woodcore_allow_lockout=dict(type='bool', default=False),
        woodcore_allow_private=dict(type='bool', default=False),
        woodcore_request_otp=dict(type='bool', default=True),
        woodcore_resend_after=dict(type='int', default=900),
        woodcore_pending_state_path=dict(type='str', default=woodcore.DEFAULT_LEDGER),
        concurrency=dict(type='int', default=32),
    )
    return spec


def target_options():
    """What every Atlas target of the fleet takes besides its identity."""
    return dict(
        name=dict(type='str'),
        purge=dict(type='bool', default=False),
        keep=dict(type='list', elements='str', default=[], no_log=False),
        entries=dict(type='list', elements='str', default=[]),
        allow_empty=dict(type='bool', default=False),
        current_ip=dict(type='bool', default=False),
        remove_unused_after=dict(type='str'),
    )


class AtlasTarget(object):
    """One Atlas list of the fleet run, planned before any request: its kind, its identity (as given, then as
    resolved) and its :class:`atlas.Desired` state. The kind's own rules live in ``atlas.KINDS`` and
    ``atlas.Desired``; what differs here is only how the fleet's options name a target."""

    provider = 'atlas'

    def __init__(self, kind, what, label, spec, kp, desired):
        self.kind = kind          # a key of atlas.KINDS
        self.what = what          # for messages: "Atlas key", "Atlas project", ...
        self.label = label
        self.spec = spec          # the target's dict as given
        self.kp = kp              # connection parameters
        self.desired = desired

    @property
    def removes_beyond_its_entries(self):
        """Why this target may take off addresses the fleet no longer lists (the --limit guard), or None."""
        if not self.desired.may_remove:
            return None
        return 'purges' if self.spec.get('purge') else 'removes entries unused for %s' % self.spec['remove_unused_after']

    def parent(self, resolved):
        if self.kind == 'project':
            return resolved
        return self.spec.get('project_id') if self.kind == 'project_service_account' else self.spec['org_id']

    def resolve(self, api):
        if self.kind == 'api_key':
            return api.resolve_key(self.spec['org_id'], self.spec['api_key'])
        if self.kind == 'project':
            return api.resolve_project(self.spec.get('project') or self.spec['project_id'])
        return api.resolve_service_account(self.spec.get('org_id'), self.spec['service_account'])

    def identity(self, resolved=None):
        ident = dict(kind=self.kind, org_id=self.spec.get('org_id'))
        if self.kind == 'api_key':
            ident['api_key_id'] = resolved
        elif self.kind == 'project':
            ident['project_id'] = resolved
        else:
            ident.update(client_id=resolved, project_id=self.spec.get('project_id'))
        return ident


class WoodcoreTarget(object):
    """One Woodcore key of the fleet run: its one IP, given or taken from a one-host fleet."""

    provider = 'woodcore'
    kind = 'woodcore'
    what = 'Woodcore key'

    def __init__(self, key, kp):
        self.key = key
        self.label = key['name']
        self.kp = kp

    @property
    def removes_beyond_its_entries(self):
        """A key without ``ip`` takes the fleet's one address: under a narrowing limit, a limited host's."""
        return None if self.key.get('ip') else "takes its one IP from the fleet (no ip given)"

    def identity(self, resolved=None):
        return dict(kind=self.kind)


# How each option list of the fleet names its Atlas targets: (option, label, identity check). The identity
# check raises PlanError naming what is wrong; the kind's list rules are atlas.Desired's.
def _api_key_kind(spec):
    atlas.classify_api_key(spec['api_key'])
    return 'api_key'


def _service_account_kind(spec):
    if bool(spec.get('org_id')) == bool(spec.get('project_id')):
        raise PlanError('give org_id (organization list) or project_id (project list), one of them')
    return 'project_service_account' if spec.get('project_id') else 'org_service_account'


def _project_kind(spec):
    if bool(spec.get('project_id')) == bool(spec.get('project')):
        raise PlanError('give project_id or project (the name), one of them')
    return 'project'


ATLAS_OPTIONS = (
    ('atlas_keys', 'Atlas key', ('name', 'api_key'), _api_key_kind),
    ('atlas_service_accounts', 'Atlas service account', ('name', 'service_account'), _service_account_kind),
    ('atlas_projects', 'Atlas project', ('name', 'project', 'project_id'), _project_kind),
)


CUT_MARKER = ', ...)'


def host_comments(fleet, networks, prefix):
    """sort_key -> comment naming the hosts an entry covers: 'fleet: web001', or for a merged block
    'fleet: 4 hosts (web001, web002, ...)', cut to Atlas's 80 characters (atlas.MAX_COMMENT)."""
    hosts = []
    for host in sorted(fleet):
        try:
            hosts.append((host, addresses.parse_network(str(fleet[host]), allow_any=True)))
        except addresses.AddressError:
            continue  # refused, naming the host, by fleet_networks already
    comments = {}
    for net in networks:
        covered = [h for h, a in hosts if a.version == net.version and a in net]
        if not covered:
            text = prefix + 'extra entry'
        elif len(covered) == 1:
            text = prefix + covered[0]
        else:
            text = '%s%d hosts (%s)' % (prefix, len(covered), ', '.join(covered))
        if len(text) > atlas.MAX_COMMENT:
            # whole host names only, then the marker: at most MAX_COMMENT characters with it
            text = text[:atlas.MAX_COMMENT - len(CUT_MARKER)].rsplit(',', 1)[0] + CUT_MARKER
        comments[addresses.sort_key(net)] = text
    return comments


def limit_narrows(play_hosts, unlimited, named, groups):
    """Why a --limit makes the fleet less than the whole fleet, or None.

    ``play_hosts``: the play's hosts under the limit; ``unlimited``: what the play's pattern matches without it
    (None when that cannot be told: then the limit is assumed to narrow); ``named``: the hosts given as the
    fleet (fleet_converge ``hosts``, role ``fleet_whitelist_hosts``), if any; ``groups``: the inventory's groups.
    """
    play_hosts = set(play_hosts)
    if unlimited is not None and set(unlimited) <= play_hosts:
        return None  # a limit that leaves the whole play (AWX templates often carry one)
    if not named:
        return "the fleet is the play's hosts"
    if set(named) == play_hosts and not any(set(members) == set(named) for members in groups):
        return 'the hosts named as the fleet are exactly the limited play (ansible_play_hosts_all?)'
    return None


class FleetError(PlanError):
    """Bad fleet input, raised before any request: names the host or key."""


def fleet_networks(fleet, extra_entries, merge, allow_any):
    """Validate every host's address (naming the host), dedupe, optionally merge into fewest CIDRs."""
    errors = []
    networks = []
    for host in sorted(fleet):
        value = fleet[host]
        if value in (None, ''):
            errors.append('host %s has no allow-list address (set its address variable, or give it an IP '
                          'ansible_host)' % host)
            continue
        try:
            networks.append(addresses.parse_network(str(value), allow_any=allow_any))
        except addresses.AddressError as exc:
            errors.append('host %s: %s' % (host, exc))
    try:
        networks.extend(addresses.parse_networks(extra_entries, allow_any=allow_any))
    except addresses.AddressError as exc:
        errors.append('extra entries: %s' % exc)
    if errors:
        raise FleetError('; '.join(errors))
    unique = addresses.unique_sorted(networks)
    return addresses.unique_sorted(addresses.merge(unique)) if merge else unique


def _atlas_params(params, target):
    return dict(
        base_url=params['atlas_base_url'], public_key=params['atlas_public_key'],
        private_key=params['atlas_private_key'], client_id=params['atlas_client_id'],
        client_secret=params['atlas_client_secret'], org_id=target.get('org_id'),
        project_id=target.get('project_id'), api_version=params['api_version'],
        api_path_prefix=params['api_path_prefix'], timeout=params['timeout'],
        validate_certs=params['validate_certs'], ca_path=params['ca_path'], proxy=params['proxy'],
        retries=params['retries'], retry_max_wait=params['retry_max_wait'], allow_http=params['allow_http'],
        rate_limit_max_wait=params['rate_limit_max_wait'])


def atlas_connection(params, target):
    """The connection parameters of one Atlas target (``target``: its dict, for org_id and project_id), checked
    before any request (PlanError): the fleet and the audit alike."""
    kp = _atlas_params(params, target)
    atlas.validate_connection(kp)
    return kp


def _woodcore_connection_params(params, key):
    return dict(
        api_key=key.get('api_key') or params['woodcore_api_key'],
        base_url=key.get('base_url') or params['woodcore_base_url'],
        pending_request=(params['woodcore_pending_requests'] or {}).get(key['name']),
        profile_ip_field=key.get('profile_ip_field'), profile_pending_field=key.get('profile_pending_field'),
        timeout=params['timeout'], validate_certs=params['validate_certs'], ca_path=params['ca_path'],
        proxy=params['proxy'], retries=params['retries'], retry_max_wait=params['retry_max_wait'],
        allow_http=params['allow_http'], rate_limit_max_wait=params['rate_limit_max_wait'])


def _woodcore_params(params, key, ip):
    kp = _woodcore_connection_params(params, key)
    kp.update(ip=ip, state='present', otp=(params['woodcore_otps'] or {}).get(key['name']),
              request_otp=params['woodcore_request_otp'], allow_lockout=params['woodcore_allow_lockout'],
              resend_after=params['woodcore_resend_after'])
    return kp


def woodcore_connection(params, key):
    """The connection parameters of one Woodcore key, checked before any request: an unusable secret file, no key
    to call with, a bad URL, a bad pending record handed in. Raises FleetError naming the key (the fleet and the
    audit alike)."""
    check_secret_files()  # an unusable WOODCORE_API_KEY_FILE is named, with its path, before "no api_key"
    if not (key.get('api_key') or params['woodcore_api_key']):
        raise FleetError('Woodcore key %s has no api_key, and there is no woodcore_api_key (or '
                         'WOODCORE_API_KEY / WOODCORE_API_KEY_FILE) to fall back on' % key['name'])
    kp = _woodcore_connection_params(params, key)
    try:
        woodcore.validate_connection(kp)
        kp['pending_request'] = woodcore.parse_pending_request(
            kp['pending_request'], label='woodcore_pending_requests[%s]' % key['name'])
    except (PlanError, addresses.AddressError) as exc:
        raise FleetError('Woodcore key %s: %s' % (key['name'], exc))
    return kp


def woodcore_fleet_ip(networks):
    """The IP a Woodcore key without ``ip`` takes from the fleet: its one address, when the fleet is exactly one
    host address; else None (the key must name its IP)."""
    hosts = [n for n in networks if addresses.is_host(n)]
    return str(hosts[0].ip) if len(networks) == 1 and len(hosts) == 1 else None


def check_distinct_woodcore_keys(keys):
    """``keys``: (label, kp) pairs. One key given twice would run its OTP flow twice at once, on one journal."""
    by_key = {}
    for label, kp in keys:
        fingerprint = woodcore.key_fingerprint(kp['api_key'])
        if fingerprint in by_key:
            raise FleetError('Woodcore keys %s and %s are the same API key (fingerprint %s); give each key once'
                             % (by_key[fingerprint], label, fingerprint))
        by_key[fingerprint] = label


def atlas_target(option, what, spec, params, label_fields, kind_of, networks):
    """One Atlas target of the role's variables, planned: its kind, connection and wanted state
    (:func:`desired_state`), or FleetError naming it. ``networks``: the fleet's entries."""
    label = next((spec.get(f) for f in label_fields if spec.get(f)), option)
    try:
        kind = kind_of(spec)
        kp = atlas_connection(params, spec)
        return AtlasTarget(kind, what, label, spec, kp, desired_state(kind, spec, params, networks))
    except (PlanError, addresses.AddressError) as exc:
        raise FleetError('%s %s: %s' % (what, label, exc))


def desired_state(kind, spec, params, networks):
    """What the role converges one Atlas target to (atlas.Desired): the fleet's entries and the target's own,
    its keep, purge and the rest. The one rule of the wanted entries, for the fleet and the audit alike."""
    own = addresses.parse_networks(spec['entries'], allow_any=params['allow_any'])
    # the fleet's list (sorted, unique) is shared by every target without entries of its own
    entries = addresses.unique_sorted(networks + own) if own else networks
    common = dict(purge=spec['purge'], allow_empty=spec['allow_empty'], current_ip=spec['current_ip'],
                  unused_after=atlas.parse_duration(spec['remove_unused_after'])
                  if spec.get('remove_unused_after') else None)
    if kind != 'project':
        return atlas.Desired(kind, entries, keep=addresses.parse_networks(spec['keep'], allow_any=True), **common)
    # every fleet entry's comment names its hosts (explicit: a changed host set is drift)
    expiry = atlas.parse_expiry(spec['delete_after'], time.time()) if spec['delete_after'] else None
    details = dict((key, dict(comment=comment, explicit=True, deleteAfterDate=expiry)) for key, comment
                   in host_comments(params['fleet'] or {}, networks, spec['comment_prefix']).items())
    details.update(atlas.parse_project_entries(spec['entries'], None, spec['delete_after'])[1])
    return atlas.Desired('project', entries, keep=atlas.parse_keep(spec['keep']), details=details,
                         comment_drift=spec['comment_drift'], wait=spec['wait'],
                         wait_timeout=spec['wait_timeout'], **common)


class Plan(object):
    """Everything checked before the first request: every target of the run, planned into one structure
    (:class:`AtlasTarget` with its ``atlas.Desired``, :class:`WoodcoreTarget`). The --limit guard, the
    plan-time caps and the concurrency read the targets; none of them looks at a kind's options itself.

    ``limit`` (from the action plugin): ``{'pattern', 'hosts', 'why'}`` when --limit narrows the fleet."""

    def __init__(self, params, limit=None):
        check_concurrency(params['concurrency'], FleetError)
        check_not_negative(params, ('woodcore_resend_after',), FleetError)
        if params['fleet'] is None:
            raise FleetError('fleet (host -> address) is required; the action plugin builds it from the play hosts')
        self.networks = fleet_networks(params['fleet'], params['extra_entries'], params['merge'], params['allow_any'])
        self.atlas = [self._atlas_target(option, what, spec, params, label_fields, kind_of)
                      for option, what, label_fields, kind_of in ATLAS_OPTIONS for spec in params[option]]
        self.woodcore = [self._woodcore_target(key, params) for key in params['woodcore_keys']]
        check_distinct_woodcore_keys((t.label, t.kp) for t in self.woodcore)
        names = set(k['name'] for k in params['woodcore_keys'])
        unknown = sorted(set(params['woodcore_otps'] or {}) - names)
        if unknown:
            raise FleetError('woodcore_otps names no Woodcore key of this run: %s; the keys are %s'
                             % (', '.join(unknown), ', '.join(sorted(names)) or 'none'))
        if limit:
            self._guard_limit(limit)

    @property
    def targets(self):
        return self.atlas + self.woodcore

    def _guard_limit(self, limit):
        """Under a --limit that narrows the fleet, the fleet is only part of itself: refuse every target
        that would take off (or replace with) addresses of hosts outside the limit."""
        risky = [(t, t.removes_beyond_its_entries) for t in self.targets if t.removes_beyond_its_entries]
        if not risky:
            return
        raise FleetError(
            'refusing to run under --limit: the limit %r narrows the play to %d host(s), and %s, so the addresses '
            'of the hosts outside the limit would leave these lists: %s. Nothing was sent. Run without --limit, or '
            "name the fleet explicitly (role: fleet_whitelist_hosts, for example \"{{ groups['fleet'] }}\"; "
            'fleet_converge: hosts)' % (limit['pattern'], limit['hosts'], limit['why'], '; '.join(
                '%s %s %s' % (t.what, t.label, why) for t, why in risky)))

    def _atlas_target(self, option, what, spec, params, label_fields, kind_of):
        return atlas_target(option, what, spec, params, label_fields, kind_of, self.networks)

    def _woodcore_target(self, key, params):
        kp = woodcore_connection(params, key)
        ip = key.get('ip') or woodcore_fleet_ip(self.networks)
        if not ip:
            raise FleetError('Woodcore key %s takes exactly one IP, but the fleet has %d addresses (%s); set '
                             'ip for this key' % (key['name'], len(self.networks),
                                                  ', '.join(addresses.sorted_canonical(self.networks[:5]))))
        kp.update(_woodcore_params(params, key, ip), pending_request=kp['pending_request'])
        try:
            kp['ip'] = woodcore.validate_ip(ip, allow_private=params['woodcore_allow_private'])
            kp['otp'] = woodcore.validate_otp(kp.get('otp'), label='the OTP given')
        except (PlanError, addresses.AddressError) as exc:
            raise FleetError('Woodcore key %s: %s' % (key['name'], exc))
        return WoodcoreTarget(key, kp)


def run(params, check_mode=False, diff=False, limit=None):
    """Converge every target. Returns the result; each target fails on its own (its error boundary is
    common.TargetRun), never taking the others' results with it.

    Per-target results carry what changed and an entry count, not the whole list: with many keys and
    large lists the full lists would dominate the run time (Ansible copies and registers results).
    Before/after diffs are built only when ``diff`` is asked for.
    """
    plan = Plan(params, limit)
    # The run's requests in flight are bounded by its connection pool (concurrency). A key's DELETE workers
    # wait for a slot like any request; their number only bounds the threads: one key purging alone gets the
    # whole bound, keys side by side four each (at most 4 x concurrency threads).
    delete_workers = min(params['concurrency'], max(4, 4 * params['concurrency'] // max(1, len(plan.atlas))))
    atlas_apis = {}
    clients = []
    lock = threading.Lock()  # the workers share the clients

    def atlas_api(kp):
        ident = (kp['base_url'], kp['public_key'], kp['client_id'], kp['api_version'], kp.get('api_path_prefix'))
        with lock:
            if ident not in atlas_apis:  # one session (digest nonce, OAuth token, caller IP) shared by every target
                api = atlas.build_api(kp, pool_size=max(params['concurrency'], 1))
                atlas_apis[ident] = api
                clients.append(api.client)
            return atlas_apis[ident]

    def resolve(target):
        """(api, access list) of a target, or the exception its boundary will report."""
        try:
            api = atlas_api(target.kp)
            resolved = target.resolve(api)
            return api, resolved, api.access_list(target.kind, target.parent(resolved), resolved), None
        except Exception as exc:  # pylint: disable=broad-except  # re-raised inside the target's boundary
            return None, None, None, exc

    def one_atlas(target, resolution):
        api, resolved, access_list, problem = resolution

        def work(run):
            if problem is not None:
                raise problem
            run.client, run.scope = api.client, access_list.path
            desired = target.desired
            if desired.current_ip:
                desired.entries = addresses.unique_sorted(desired.entries + [api.caller_ip()])
            result = atlas.converge(access_list, desired, check_mode=check_mode, with_diff=diff, with_entries=False,
                                    delete_concurrency=delete_workers)
            result.update(target.identity(resolved))
            return result
        return _run_target(target, TargetRun(check_mode, list_target=True, scope=('unresolved', target.label)), work)

    def one_woodcore(target):
        def work(run):
            api = woodcore.build_api(target.kp)
            run.client, run.scope = api.client, api.scope
            with lock:
                clients.append(api.client)
            converger = woodcore.Converger(api, target.kp, check_mode=check_mode,
                                           ledger=woodcore.PendingLedger(params['woodcore_pending_state_path']))
            return converger.run()
        result = _run_target(target, TargetRun(check_mode), work)
        result.setdefault('pending_request', target.kp.get('pending_request'))
        return result

    workers = min(params['concurrency'], max(1, len(plan.targets)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        # every target queued at once (Woodcore first: few, and not bound by Atlas's buckets), so the run's
        # critical path is its longest list, not the Atlas keys' and then the Woodcore keys'
        woodcore_futures = [pool.submit(one_woodcore, target) for target in plan.woodcore]
        # every Atlas target resolved first (a key's public key, a project's name): two targets naming one list
        # would converge it side by side and share its journal, so the later one is refused
        resolutions = _one_target_per_list(plan.atlas, list(pool.map(resolve, plan.atlas)))
        atlas_futures = [pool.submit(one_atlas, t, r) for t, r in zip(plan.atlas, resolutions)]
        atlas_results = [future.result() for future in atlas_futures]
        woodcore_results = [future.result() for future in woodcore_futures]
    warnings = []
    for client in clients:
        warnings.extend(w for w in connection_warnings(client, params) if w not in warnings)
    unseen = {}  # one warning per distinct entry list (most keys share the fleet's), naming its keys
    for target in plan.atlas:
        if not atlas.private_entries_matter(target.kind, target.kp['base_url']):
            continue  # a project list: private addresses are normal there (VPC peering)
        entries = target.desired.entries
        unseen.setdefault((target.kp['base_url'], id(entries)), (entries, []))[1].append(target.label)
    for (base_url, _id), (entries, names) in sorted(unseen.items(), key=lambda item: item[1][1]):
        warnings.extend(atlas.unseen_entries_warning(base_url, entries, 'Atlas list(s) %s: ' % ', '.join(names)))
    for result in atlas_results:
        warnings.extend(atlas.kept_for_caller_warning(result, 'Atlas %s' % result['name']))
    for api in atlas_apis.values():
        warnings.extend(api.notes)
        for warning in atlas.connection_warnings(dict(api_version=api.api_version, base_url=api.client.base_url)):
            if warning not in warnings:
                warnings.append(warning)
    for result in atlas_results:
        warnings.extend('Atlas %s: %s' % (result['name'], w) for w in result.pop('warnings', []))
    for result in woodcore_results:
        warnings.extend('Woodcore key %s: %s' % (result['name'], w) for w in result.pop('warnings', []))
    failures = [r for r in atlas_results + woodcore_results if r['failed']]
    return dict(
        changed=any(r['changed'] for r in atlas_results + woodcore_results),
        failed=bool(failures),
        converged=not failures,
        msg=('%d of %d keys failed: %s' % (len(failures), len(atlas_results) + len(woodcore_results),
                                           '; '.join('%s: %s' % (r['name'], r['msg']) for r in failures))
             if failures else 'converged %d Atlas and %d Woodcore keys' % (len(atlas_results), len(woodcore_results))),
        entries=addresses.sorted_canonical(plan.networks),
        atlas=atlas_results, woodcore=woodcore_results,
        pending=[r['name'] for r in woodcore_results if r.get('pending_approval')],
        woodcore_pending_requests=_pending_requests(params, woodcore_results),
        summary=summary_lines(atlas_results, woodcore_results, check_mode),
        requests=sum(c.request_count for c in clients),
        diff=_diffs('atlas', atlas_results) + _diffs('woodcore', woodcore_results),
        warnings=[redact_everywhere(w) for w in warnings],  # the targets' results are redacted by their boundary
    )


def _one_target_per_list(targets, resolutions):
    """The resolutions, with every target after the first that names the same list refused (in the order given)."""
    first = {}
    checked = []
    for target, (api, resolved, access_list, problem) in zip(targets, resolutions):
        if problem is None:
            key = (api.client.base_url, access_list.path)
            if key in first:
                problem = PlanError('this is the list of %s %s too (%s); give each list once: nothing was sent for '
                                    'this target' % (first[key].what, first[key].label, access_list.path))
            else:
                first[key] = target
        checked.append((api, resolved, access_list, problem))
    return checked


def _run_target(target, boundary, work):
    """One target inside its error boundary: its result, named, with its failure and warnings."""
    failed, result = boundary.run(work)
    for field, value in target.identity().items():
        result.setdefault(field, value)
    if target.provider == 'atlas':
        result.setdefault('added', [])
        result.setdefault('removed', [])
    result.update(name=target.label, failed=failed)
    result['warnings'] = list(result.get('warnings') or []) + boundary.warnings
    return result


def _pending_requests(params, woodcore_results):
    """Key name -> pending request, for the next job (set_stats): this run's keys as they now stand,
    and the handed-in requests of keys this run did not touch, unchanged."""
    requests = dict((name, record) for name, record in (params['woodcore_pending_requests'] or {}).items())
    for result in woodcore_results:
        requests.pop(result['name'], None)
        if result.get('pending_request'):
            requests[result['name']] = result['pending_request']
    return requests


def _diffs(provider, results):
    """One before/after diff per changed target, headed with its kind's label and its name (as the summary)."""
    diffs = []
    for r in results:
        if r.get('diff') and r['changed']:
            header = '%s %s' % (SUMMARY_LABELS.get(r.get('kind'), provider), r['name'])
            diffs.append(dict(before_header=header, after_header=header, **r['diff']))
    return diffs


def _listing(entries, limit=4):
    if not entries:
        return 'nothing'
    if len(entries) <= limit:
        return ', '.join(entries)
    return '%d (%s, ... +%d more)' % (len(entries), ', '.join(entries[:limit]), len(entries) - limit)


SUMMARY_LABELS = {'api_key': 'atlas', 'org_service_account': 'atlas-sa', 'project_service_account': 'atlas-sa',
                  'project': 'project'}


def summary_lines(atlas_results, woodcore_results, check_mode=False):
    """One line per key; in check mode in the conditional, since nothing was sent."""
    would = 'would ' if check_mode else ''
    lines = []
    for r in atlas_results:
        if r['failed']:
            state = 'FAILED: %s' % r['msg']
        elif r['changed']:
            state = '%s %s; %s %s' % (would + 'add' if would else 'added', _listing(r['added']),
                                      would + 'remove' if would else 'removed', _listing(r['removed']))
            if r.get('kept_for_caller'):
                state += "; kept %s (this run's own address)" % _listing(r['kept_for_caller'])
        else:
            state = 'unchanged (%d entries)' % r['entry_count']
        lines.append('%-8s %-24s %s' % (SUMMARY_LABELS.get(r.get('kind'), 'atlas'), r['name'], state))
    for r in woodcore_results:
        if r['failed']:
            state = 'FAILED: %s' % r['msg']
        elif check_mode and r['changed']:
            state = r['msg'].replace(' (check mode)', '')  # "would request an OTP for ...", "would approve ..."
        elif r.get('pending_approval'):
            state = 'pending approval of %s (%s)' % (r['pending_ip'], 'OTP emailed' if r['otp_sent']
                                                     else 'OTP already requested')
        elif r['changed']:
            locked = ' (this controller is now locked out of the key)' if r.get('locked_out') else ''
            state = 'whitelisted %s%s' % (r['ip'], locked)
        else:
            state = 'unchanged (%s)' % r['ip']
        lines.append('woodcore %-24s %s' % (r['name'], state))
    return lines
