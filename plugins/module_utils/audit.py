# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The access audit (issue 20): who can call our APIs, from where, and what to fix. Reads only.

* Input: the role's targets (the fleet's four lists), or every key, service account and project of some
  organizations (``audit_all``), and optionally the fleet (host -> address).
* Reading: one client per credential, every one ``read_only`` (a write is refused before it is sent), paced to
  Atlas's token buckets and many requests at once, as the fleet runs. A target that cannot be read is reported
  as such (``status: unreadable``) and the others go on.
* Assessing: pure functions over what was read (:func:`assess`), one finding per problem, with its severity,
  code, target, entry, a one-line message and the fix.
* Reporting: the JSON document (schema in docs/audit.md) and its Markdown here; the HTML page is rendered from
  a Jinja2 template on the controller (the action plugin).
"""

from __future__ import annotations

import json
import os
import re
import stat
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import addresses
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import atlas
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import fleet
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import org_policy
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import woodcore
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.common import (
    PlanError, TargetRun, check_concurrency, connection_warnings, http_argument_spec, validate_http_params,
)
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.http_client import COLLECTION_VERSION

SCHEMA_VERSION = 1
SEVERITIES = ('critical', 'high', 'medium', 'low', 'info')
FAIL_ON = ('critical', 'high', 'medium', 'low', 'never')
# code -> severity, in the order of the table
CODES = (
    ('open-to-internet', 'critical'),
    ('org-policy-off', 'high'),
    ('missing-entry', 'high'),
    ('wide-entry', 'high'),
    ('unknown-entry', 'medium'),
    ('stale-entry', 'medium'),
    ('woodcore-pending', 'medium'),
    ('unused-credential', 'low'),
    ('private-entry', 'low'),
    ('expiring-entry', 'info'),
    # not in the table: a target the audit could not read is one it cannot vouch for (a revoked audit
    # credential must not pass the gate), so it reaches fail_on like a finding
    ('unreadable-target', 'high'),
)
SEVERITY_OF = dict(CODES)
DEFAULT_MAX_PREFIX = {'ipv4': 16, 'ipv6': 48}
PENDING_HOURS = 24      # a Woodcore request waiting for its OTP longer than this is a finding
EXPIRING_HOURS = 24     # a temporary project entry that Atlas deletes within this is a finding
DAY = 86400.0
REPORT_FILES = ('access-report.json', 'access-report.md', 'access-report.html')

# target kinds, in report order
KIND_ORDER = ('organization', 'api_key', 'org_service_account', 'project_service_account', 'project', 'woodcore_key',
              'listing')
KIND_LABELS = {'organization': 'organization', 'api_key': 'API key', 'org_service_account': 'service account',
               'project_service_account': 'service account (project list)', 'project': 'project IP access list',
               'woodcore_key': 'Woodcore key', 'listing': 'listing'}
CREDENTIAL_KINDS = ('api_key', 'org_service_account', 'project_service_account')
# what fixes a list of each kind: its module, and the role's variable that lists such targets
MODULES = {'api_key': 'apiaccess.ipwhitelist.atlas_apikey_whitelist',
           'org_service_account': 'apiaccess.ipwhitelist.atlas_service_account_whitelist',
           'project_service_account': 'apiaccess.ipwhitelist.atlas_service_account_whitelist',
           'project': 'apiaccess.ipwhitelist.atlas_project_whitelist',
           'woodcore_key': 'apiaccess.ipwhitelist.woodcore_ipwhitelist'}
ROLE_VARS = {'api_key': 'fleet_whitelist_atlas_keys', 'org_service_account': 'fleet_whitelist_atlas_service_accounts',
             'project_service_account': 'fleet_whitelist_atlas_service_accounts',
             'project': 'fleet_whitelist_atlas_projects', 'woodcore_key': 'fleet_whitelist_woodcore_keys'}
POLICY_MODULE = 'apiaccess.ipwhitelist.atlas_org_access_policy'


def argument_spec():
    """Options of access_audit: the fleet's connection options and targets (the role's variables, as they are),
    and the audit's own."""
    base = fleet.argument_spec()
    spec = http_argument_spec()
    for name in ('atlas_base_url', 'atlas_public_key', 'atlas_private_key', 'atlas_client_id', 'atlas_client_secret',
                 'api_version', 'api_path_prefix', 'hosts', 'address_var', 'fleet', 'extra_entries', 'merge',
                 'allow_any', 'woodcore_keys', 'woodcore_base_url', 'woodcore_api_key', 'woodcore_pending_requests',
                 'woodcore_pending_state_path', 'concurrency',
                 # the targets exactly as the role takes them, sub-options and all: the role's variables pass
                 # unchanged, and a typo fails here as it fails there
                 'atlas_keys', 'atlas_service_accounts', 'atlas_projects'):
        spec[name] = base[name]
    spec.update(
        fleet_from_play=dict(type='bool', default=False),
        audit_all=dict(type='bool', default=False),
        org_ids=dict(type='list', elements='str', default=[]),
        max_prefix=dict(type='dict', apply_defaults=True, options=dict(
            ipv4=dict(type='int', default=DEFAULT_MAX_PREFIX['ipv4']),
            ipv6=dict(type='int', default=DEFAULT_MAX_PREFIX['ipv6']))),
        stale_days=dict(type='int', default=90),
        atlas_cloud=dict(type='bool'),
        report_dir=dict(type='path', default='./access-report'),
        fail_on=dict(type='str', default='never', choices=list(FAIL_ON)),
    )
    return spec


# -- plan: everything checked before the first request -------------------------------------------

class Target(object):
    """One thing the audit reads: an organization's settings, an Atlas list, a Woodcore key."""

    def __init__(self, kind, name, ident=None, org_id=None, project_id=None, managed=False, spec=None, kp=None):
        self.kind = kind
        self.name = name
        self.id = ident
        self.org_id = org_id
        self.project_id = project_id
        self.managed = managed      # listed in the role's variables: the fleet's findings apply
        self.spec = spec or {}      # the role's dict, as given
        self.kp = kp                # connection parameters
        self.status = 'ok'
        self.error = None
        self.entries = []           # atlas.Entry, or for a Woodcore key its IP
        self.description = None
        self.settings = None        # an organization's settings, as read
        self.pending = None         # a Woodcore key's request waiting for its OTP
        self.notes = []
        self.resolved = False
        self.desired = None         # a managed Atlas target: what the role converges it to (atlas.Desired)

    @property
    def list_kind(self):
        return atlas.KINDS.get(self.kind)

    def ref(self):
        """The target as a finding names it."""
        ref = dict(kind=self.kind, name=self.name, id=self.id)
        if self.org_id:
            ref['org_id'] = self.org_id
        if self.project_id:
            ref['project_id'] = self.project_id
        return ref

    def key(self):
        """The list's identity, the same whether the role names it or audit_all found it."""
        if self.kind in ('project', 'woodcore_key'):
            return (self.kind, self.id)
        return (self.kind, self.project_id if self.kind == 'project_service_account' else self.org_id, self.id)


class Plan(object):
    """The audit's input, checked before any request, as the role checks it (fleet.atlas_target,
    fleet.woodcore_connection); raises PlanError naming what is wrong."""

    def __init__(self, params, now):
        self.params = params
        self.now = now
        check_concurrency(params['concurrency'])
        validate_http_params(params)
        self.max_prefix = dict(DEFAULT_MAX_PREFIX, **dict((k, v) for k, v in (params['max_prefix'] or {}).items()
                                                          if v is not None))
        for family, bits in (('ipv4', 32), ('ipv6', 128)):
            if not 0 <= self.max_prefix[family] <= bits:
                raise PlanError('max_prefix.%s must be 0 to %d, got %r' % (family, bits, self.max_prefix[family]))
        if params['stale_days'] < 1:
            raise PlanError('stale_days must be 1 or more, got %r' % params['stale_days'])
        self.fleet_map = params['fleet']
        self.networks = None
        if self.fleet_map is not None:
            # the role's wanted entries, computed as the role computes them (merge and extra entries included)
            self.networks = fleet.fleet_networks(self.fleet_map, params['extra_entries'], params['merge'],
                                                 params['allow_any'])
        self.atlas_kp = None
        self.targets = []
        for option, what, label_fields, kind_of in fleet.ATLAS_OPTIONS:
            for spec in params[option] or []:
                self.targets.append(self._atlas_target(option, what, label_fields, kind_of, spec))
        self.woodcore = [self._woodcore_target(key) for key in params['woodcore_keys'] or []]
        fleet.check_distinct_woodcore_keys((t.name, t.kp) for t in self.woodcore)
        org_ids = list(params['org_ids'] or [])
        for org_id in org_ids:
            if not atlas.ID_RE.match(str(org_id)):
                raise PlanError('org_ids: %r is not an organization ID (24 lowercase hexadecimal characters)' % org_id)
        if params['audit_all'] and not org_ids:
            org_ids = [t.org_id for t in self.targets if t.org_id]
            if not org_ids:
                raise PlanError('audit_all needs the organizations to read: give org_ids (playbook: audit_org_ids), '
                                'or targets that name their org_id')
        # the organizations whose keys, service accounts and projects audit_all lists
        self.listed_orgs = set(org_ids) if params['audit_all'] else set()
        self.org_ids = _unique(org_ids + [t.org_id for t in self.targets if t.org_id])
        self.assess_unknown = True  # unknown-entry needs the whole fleet (see run: --limit)
        if (self.org_ids or self.targets) and self.atlas_kp is None:
            self.atlas_kp = fleet.atlas_connection(params, {})
        self.atlas_cloud = params['atlas_cloud']
        if self.atlas_cloud is None:  # Atlas cloud sees only public addresses; an Ops Manager may see private ones
            self.atlas_cloud = atlas.is_atlas_cloud(params['atlas_base_url'])

    def _atlas_target(self, option, what, label_fields, kind_of, spec):
        # the role's own planning: kind, connection and the wanted state it converges to (entries, keep, current_ip)
        planned = fleet.atlas_target(option, what, spec, self.params, label_fields, kind_of, self.networks or [])
        if self.atlas_kp is None:
            self.atlas_kp = fleet.atlas_connection(self.params, {})
        kind = planned.kind
        ident = spec['api_key'] if kind == 'api_key' else spec['service_account'] if \
            kind.endswith('service_account') else spec.get('project_id')
        target = Target(kind, spec.get('name') or planned.label, ident, org_id=spec.get('org_id'),
                        project_id=spec.get('project_id') if kind == 'project_service_account' else None,
                        managed=True, spec=spec, kp=self.atlas_kp)
        target.desired = planned.desired
        return target

    def _woodcore_target(self, key):
        name = key['name']
        kp = fleet.woodcore_connection(self.params, key)
        try:
            if key.get('ip'):
                woodcore.validate_ip(key['ip'], allow_private=True)
        except (PlanError, addresses.AddressError) as exc:
            raise PlanError('Woodcore key %s: %s' % (name, exc))
        # the key's fingerprint names it: never the key itself
        return Target('woodcore_key', name, woodcore.key_fingerprint(kp['api_key']), managed=True, spec=key, kp=kp)


def _reason(result):
    """Why a target could not be read, from its error boundary's (redacted) result: a read-only client wrote
    nothing, so the boundary's "already done: nothing" says nothing here."""
    return re.sub(r' \(already done: nothing\)$', '', result.get('msg') or 'unknown error')


def _unique(values):
    seen = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen


# -- reading ------------------------------------------------------------------------------------

class Reader(object):
    """Reads every target, many at once: one read-only client per credential (so one digest challenge or one
    OAuth token, and one mirror of each rate-limit bucket, for every worker)."""

    def __init__(self, plan):
        self.plan = plan
        self.params = plan.params
        self.concurrency = self.params['concurrency']
        self.lock = threading.Lock()
        self.clients = []
        self._api = None
        self.warnings = []
        self.caller = None
        self.listings = []          # what audit_all could not list: unreadable, as a target is

    def api(self):
        with self.lock:
            if self._api is None:
                self._api = atlas.build_api(self.plan.atlas_kp, pool_size=max(1, self.concurrency), read_only=True)
                self.clients.append(self._api.client)
            return self._api

    def bounded(self, target, work):
        """``work()`` inside the error boundary of one target: a failure marks the target unreadable, with the
        reason (redacted), and the other targets go on."""
        def body(run):
            run.client = self.api().client
            work()
            return {}
        failed, result = TargetRun(check_mode=True).run(body)
        if failed:
            target.status, target.error = 'unreadable', _reason(result)
        return target

    def run(self):
        plan = self.plan
        orgs = [Target('organization', org_id, org_id, org_id=org_id) for org_id in plan.org_ids]
        managed = list(plan.targets)
        discovered = []
        with ThreadPoolExecutor(max_workers=max(1, self.concurrency)) as pool:
            first = [pool.submit(self.read_woodcore, t) for t in plan.woodcore]
            first += [pool.submit(self.read_org, org, org.id in plan.listed_orgs) for org in orgs]
            projects = pool.submit(self.list_projects) if plan.params['audit_all'] else None
            if not plan.params['audit_all']:
                # nothing to discover: every list is read at once
                first += [pool.submit(self.read_list, t) for t in managed]
            for future in first:
                future.result()
            if plan.params['audit_all']:
                listed = projects.result() if projects is not None else None
                discovered = self.discover(orgs, managed, listed)
                for future in [pool.submit(self.read_list, t) for t in managed + discovered]:
                    future.result()
        if plan.networks is not None and any(t.managed and t.status == 'ok' for t in managed):
            try:
                self.caller = self.api().caller_ip()
            except PlanError as exc:
                self.warnings.append('the address this controller calls Atlas from is unknown, so entries holding it '
                                     'are not told apart from unknown entries: %s' % exc)
        for client in self.clients:
            self.warnings.extend(w for w in connection_warnings(client, self.params) if w not in self.warnings)
        if self._api is not None:
            self.warnings.extend(n for n in self._api.notes if n not in self.warnings)
        return orgs + self.listings, managed + discovered, plan.woodcore

    # organizations

    def read_org(self, org, with_lists):
        """The organization's settings (the access-list requirement) and, for audit_all, its keys and service
        accounts. A part that cannot be read makes the organization unreadable, naming that part."""
        org.keys = org.service_accounts = None
        problems = []
        for part, read in (('settings', lambda: setattr(org, 'settings', self.api().org_settings(org.id))),
                           ('API keys', lambda: setattr(org, 'keys', self.api().list_keys(org.id))),
                           ('service accounts', lambda: setattr(org, 'service_accounts',
                                                                self.api().list_service_accounts(org.id)))):
            if part != 'settings' and not with_lists:
                continue
            self.bounded(org, read)
            if org.status != 'ok':
                problems.append('%s: %s' % (part, org.error))
                org.status, org.error = 'ok', None
        if problems:
            org.status, org.error = 'unreadable', '; '.join(problems)
        return org

    def list_projects(self):
        """audit_all: every project the credential sees; a listing that fails is reported as an unreadable target
        (the projects it would have found are not audited), and the others go on."""
        listing = Target('listing', 'projects (audit_all)', None)
        projects = []
        self.bounded(listing, lambda: projects.extend(self.api().list_projects()))
        if listing.status != 'ok':
            self.listings.append(listing)
            return None
        return projects

    def discover(self, orgs, managed, projects):
        """audit_all: every key, service account and project of the organizations, besides the managed ones."""
        found = []
        by_org = dict((org.id, org) for org in orgs)
        known = set()
        for target in managed:
            self._resolve_from_listing(target, by_org, projects)
            known.add(target.key())
        for org in orgs:
            if org.id not in self.plan.listed_orgs:
                continue
            for key in org.keys or []:
                target = Target('api_key', key.get('publicKey') or key['id'], key['id'], org_id=org.id,
                                kp=self.plan.atlas_kp)
                target.description, target.resolved = key.get('desc'), True
                found.append(target)
            for account in org.service_accounts or []:
                target = Target('org_service_account', account.get('name') or account['clientId'],
                                account['clientId'], org_id=org.id, kp=self.plan.atlas_kp)
                target.description, target.resolved = account.get('description'), True
                found.append(target)
        for project in projects or []:
            if project.get('orgId') in self.plan.listed_orgs:
                target = Target('project', project.get('name') or project['id'], project['id'],
                                org_id=project.get('orgId'), kp=self.plan.atlas_kp)
                target.resolved = True
                found.append(target)
        return [t for t in found if t.key() not in known]

    def _resolve_from_listing(self, target, by_org, projects):
        """A managed target named by public key, account name or project name, resolved from what audit_all
        listed anyway (no second listing); what was not listed is resolved by the read itself."""
        spec = target.spec
        org = by_org.get(target.org_id)
        if target.kind == 'api_key' and org is not None and org.keys:
            for key in org.keys:
                if spec['api_key'] in (key.get('id'), key.get('publicKey')):
                    target.id, target.description, target.resolved = key['id'], key.get('desc'), True
        elif target.kind == 'org_service_account' and org is not None and org.service_accounts:
            matches = [a for a in org.service_accounts if spec['service_account'] in (a.get('clientId'), a.get('name'))]
            if len(matches) == 1:
                target.id, target.resolved = matches[0]['clientId'], True
        elif target.kind == 'project' and projects:
            wanted = spec.get('project_id') or spec.get('project')
            matches = [p for p in projects if wanted in (p.get('id'), p.get('name'))]
            if len(matches) == 1:
                target.id, target.org_id, target.resolved = matches[0]['id'], matches[0].get('orgId'), True

    # lists

    def read_list(self, target):
        def work():
            api = self.api()
            if not target.resolved:
                spec = target.spec
                if target.kind == 'api_key':
                    target.id = api.resolve_key(target.org_id, spec['api_key'])
                elif target.kind == 'project':
                    target.id = api.resolve_project(spec.get('project') or spec['project_id'])
                else:
                    target.id = api.resolve_service_account(target.org_id, spec['service_account'])
                target.resolved = True
            parent = target.id if target.kind == 'project' else \
                target.project_id if target.kind == 'project_service_account' else target.org_id
            target.entries = api.access_list(target.kind, parent, target.id).list_entries()
        return self.bounded(target, work)

    # Woodcore

    def read_woodcore(self, target):
        def work(run):
            api = woodcore.build_api(target.kp, read_only=True)
            run.client = api.client
            with self.lock:
                self.clients.append(api.client)
            profile = api.profile()
            target.entries = [profile.ip] if profile.ip else []
            target.pending = self._pending(target, profile)
        failed, result = TargetRun(check_mode=True).run(work)
        if failed:
            target.status, target.error = 'unreadable', _reason(result)
        return target

    def _pending(self, target, profile):
        """The request waiting for its OTP, as the role knows it: the key profile's pending field, the record
        handed in (the role's set_stats artifact) or the local record; None when none is, or it was approved."""
        path = self.params['woodcore_pending_state_path']
        ledger = woodcore.PendingLedger(path if path and os.path.exists(os.path.expanduser(path)) else None)
        converger = woodcore.Converger(None, dict(target.kp, otp=None), check_mode=True, ledger=ledger,
                                       clock=lambda: self.plan.now)
        record, source = converger.known_pending(profile)
        if record is None:
            return None
        done = (record['action'] == 'whitelist' and profile.ip == record['ip']) or \
            (record['action'] == 'remove' and profile.ip != record['ip'])
        if done and source != 'the key profile':
            return None  # approved since: the record is left over
        record = dict(record, source=source)
        if source == 'the key profile' and woodcore.record_time(record) == self.plan.now:
            # the profile says a request waits, not since when: its age is unknown, so it is no woodcore-pending
            record['requested_at'] = None
            target.notes.append('a request for %s waits for its OTP (the key profile says so); since when is not '
                                'known: the profile gives no time, the role\'s pending record does '
                                '(woodcore_pending_requests, or the local record)' % record['ip'])
        return record


# -- assessing ----------------------------------------------------------------------------------

def _finding(code, target, message, fix, entry=None):
    return dict(severity=SEVERITY_OF[code], code=code, target=target.ref(), entry=entry, message=message, fix=fix)


def _days(seconds):
    """Whole days, never negative: an entry used after the audit's clock was read (its own key's, stamped in whole
    seconds) was used 0 days ago."""
    return max(0, int(seconds // DAY))


class Networks(object):
    """Which of a set of networks cover a given one: exact matches by key, the few wider blocks by scan (a fleet
    of 1,000 addresses against 500 lists of 1,000 entries each must not cost 500 million comparisons)."""

    def __init__(self, networks):
        self.exact = set()
        self.blocks = []
        for net in networks:
            self.exact.add(addresses.sort_key(net))
            if not addresses.is_host(net):
                self.blocks.append(net)

    def covers(self, net):
        if addresses.sort_key(net) in self.exact:
            return True
        return any(b.prefixlen <= net.prefixlen and addresses.contains(b, net) for b in self.blocks)


class Assessor(object):
    """Findings from what was read; pure (no request), so every rule is tested without a server."""

    def __init__(self, plan, caller=None):
        self.plan = plan
        self.now = plan.now
        self.stale_days = plan.params['stale_days']
        self.max_prefix = plan.max_prefix
        self.caller = caller
        self.hosts_by_key = {}      # sort_key of a host's address -> its hosts
        for host, value in (plan.fleet_map or {}).items():
            try:
                net = addresses.parse_network(str(value), allow_any=True)
            except addresses.AddressError:
                continue
            self.hosts_by_key.setdefault(addresses.sort_key(net), []).append(host)
        self.fleet = Networks(plan.networks or [])

    def hosts_of(self, net):
        """The fleet hosts whose address an entry covers, sorted."""
        if not self.hosts_by_key or isinstance(net, atlas.SecurityGroup):
            return []
        if addresses.is_host(net):
            return sorted(self.hosts_by_key.get(addresses.sort_key(net), []))
        return sorted(h for key, hosts in self.hosts_by_key.items() for h in hosts
                      if key[0] == net.version and net.first <= key[1] <= net.last)

    def org_findings(self, org):
        findings = []
        if org.settings is not None and org.settings.get('apiAccessListRequired') is False:
            findings.append(_finding(
                'org-policy-off', org,
                'organization %s does not require API access lists: any of its API keys without entries can call '
                'the Atlas Administration API from any address' % org.id,
                '%s require_api_access_list=true (role: fleet_whitelist_atlas_org_policy), once every key has '
                'entries' % POLICY_MODULE))
        return findings

    def list_findings(self, target, policy):
        """Findings of one Atlas list. ``policy``: its organization's apiAccessListRequired (None: unknown)."""
        findings = []
        kind = target.kind
        module, var = MODULES[kind], ROLE_VARS[kind]
        credential = kind in CREDENTIAL_KINDS
        what = KIND_LABELS[kind]
        entries = target.entries
        if credential and not entries:
            effect = org_policy.empty_list(kind, policy)
            if not effect.callable_from_anywhere:
                target.notes.append('no entries: %s' % effect.why)
            else:
                findings.append(_finding(
                    'open-to-internet', target,
                    '%s %s has no access-list entries: it can call the Atlas Administration API from any address (%s)'
                    % (what, target.name, effect.why),
                    'give it entries: %s entries=[...] (role: %s), then require API access lists: %s '
                    'require_api_access_list=true' % (module, var, POLICY_MODULE)))
        for entry in entries:
            findings.extend(self.entry_findings(target, entry, credential, module, var))
        if credential and entries:
            findings.extend(self.unused_findings(target, module))
        if target.managed and self.plan.networks is not None:
            findings.extend(self.fleet_findings(target))
        return findings

    def unused_findings(self, target, module):
        actives = [e.last_active() for e in target.entries]
        if any(a is None for a in actives) or self.now - max(actives) <= self.stale_days * DAY:
            return []
        used = [atlas.parse_time(e.raw.get(e.kind.last_used)) for e in target.entries]
        used = [u for u in used if u is not None]
        return [_finding(
            'unused-credential', target,
            '%s %s has %s and no use in %d days (%s)' % (
                KIND_LABELS[target.kind], target.name, _plural(len(target.entries), 'entry', 'entries'),
                self.stale_days,
                'last use %s' % _iso(max(used)) if used else 'never used'),
            'retire it in Atlas if nobody uses it, or remove its unused entries: %s remove_unused_after=%dd'
            % (module, self.stale_days))]

    def entry_findings(self, target, entry, credential, module, var):
        found = []
        net = entry.net
        if isinstance(net, atlas.SecurityGroup):
            return found
        text = str(net)
        label = '%s %s' % (KIND_LABELS[target.kind], target.name)
        family = 'ipv4' if net.version == 4 else 'ipv6'
        if net.prefixlen == 0:
            who = 'anyone on the internet can call the Atlas Administration API with it' if credential else \
                "any address may connect to the project's clusters"
            found.append(_finding('open-to-internet', target, '%s holds %s: %s' % (label, text, who),
                                  'remove it: %s state=absent entries=[%s] (or purge=true in %s)'
                                  % (module, text, var), text))
        elif net.prefixlen < self.max_prefix[family]:
            found.append(_finding('wide-entry', target, '%s holds %s (%d addresses), broader than /%d' % (
                label, text, net.size, self.max_prefix[family]),
                'replace it with the addresses really used: %s entries=[...] purge=true (or raise max_prefix if '
                'it is intended)' % module, text))
        reach = addresses.reach(net) if net.prefixlen else 'global'  # 0.0.0.0/0 is open-to-internet already
        if reach != 'global' and atlas.private_entries_matter(target.kind, atlas_cloud=self.plan.atlas_cloud):
            what = 'a private, reserved, loopback, link-local or multicast network' if reach == 'none' else \
                'a network partly private, reserved or multicast'
            found.append(_finding('private-entry', target, '%s holds %s, %s: Atlas cloud never sees a call coming '
                                  'from %s' % (label, text, what, 'it, so it allows nobody' if reach == 'none' else
                                               'that part of it'),
                                  'give the public egress address instead (%s current_ip=true adds the address '
                                  'Atlas sees)' % module, text))
        if credential:
            active = entry.last_active()
            if active is not None and self.now - active > self.stale_days * DAY:
                used = entry.raw.get(entry.kind.last_used)
                found.append(_finding('stale-entry', target, '%s holds %s, %s: more than %d days ago' % (
                    label, text, 'last used %s' % used if used else 'never used, created %s'
                    % entry.raw.get(entry.kind.created), self.stale_days),
                    '%s remove_unused_after=%dd (role: remove_unused_after in %s)' % (module, self.stale_days, var),
                    text))
        if target.kind == 'project' and entry.raw.get('deleteAfterDate'):
            expiry = atlas.parse_iso(entry.raw['deleteAfterDate'])
            if expiry is not None and self.now <= expiry <= self.now + EXPIRING_HOURS * 3600:
                found.append(_finding('expiring-entry', target, 'Atlas deletes %s from project %s at %s, in %.1f '
                                      'hours' % (text, target.name, entry.raw['deleteAfterDate'],
                                                 (expiry - self.now) / 3600.0),
                                      'extend it: %s delete_after=... (at most a week), or give the entry without '
                                      'delete_after to keep it' % module, text))
        return found

    def fleet_findings(self, target):
        """missing-entry and unknown-entry: a managed target against what the role puts there."""
        desired = target.desired  # what the role converges this target to: entries, keep, current_ip
        wanted = list(desired.entries)
        if desired.current_ip and self.caller is not None:
            wanted.append(self.caller)  # current_ip: the role adds the address Atlas sees it call from
        keep = Networks(desired.keep)
        present = Networks(e.net for e in target.entries if not isinstance(e.net, atlas.SecurityGroup))
        label = '%s %s' % (KIND_LABELS[target.kind], target.name)
        found = []
        for net in addresses.unique_sorted(wanted):
            if not present.covers(net):
                hosts = self.hosts_of(net)
                who = 'host %s%s' % (', '.join(hosts[:3]), ' +%d more' % (len(hosts) - 3) if len(hosts) > 3 else '') \
                    if hosts else 'an entry of its own or an extra entry'
                found.append(_finding('missing-entry', target, '%s lacks %s (%s), which the role puts there'
                                      % (label, net, who),
                                      'run playbooks/fleet.yml (role apiaccess.ipwhitelist.fleet_whitelist)', str(net)))
        if not self.plan.assess_unknown:
            return found
        wanted_index = Networks(wanted)
        for entry in target.entries:
            net = entry.net
            if wanted_index.covers(net) or keep.covers(net) or (
                    self.caller is not None and addresses.contains(net, self.caller)):
                continue
            found.append(_finding('unknown-entry', target, "%s holds %s, which is neither a fleet address, nor in "
                                  "its entries or keep, nor this controller's address" % (label, net),
                                  'purge=true on this target in %s removes it; keep=[%s] if it is intended'
                                  % (ROLE_VARS[target.kind], net), str(net)))
        return found

    def woodcore_findings(self, target):
        found = []
        pending = target.pending
        if pending is not None:
            requested = woodcore.record_time(pending)
            if requested is not None and self.now - requested > PENDING_HOURS * 3600:
                what = 'whitelisting of %s' % pending['ip'] if pending['action'] == 'whitelist' else \
                    'removal of %s' % pending['ip']
                found.append(_finding('woodcore-pending', target, 'Woodcore key %s: the %s has waited for its OTP '
                                      'since %s (%.1f days; known from %s)' % (
                                          target.name, what, pending['requested_at'], (self.now - requested) / DAY,
                                          pending['source']),
                                      'approve it with the emailed OTP: fleet_whitelist_woodcore_otps {%s: OTP} (or %s '
                                      'otp=...); if the OTP is lost or expired, request a new one with resend_after=0'
                                      % (target.name, MODULES['woodcore_key']), pending['ip']))
        if self.plan.networks is not None:
            # as the role takes it: the key's ip, else the fleet's one address
            wanted = target.spec.get('ip') or fleet.woodcore_fleet_ip(self.plan.networks)
            current = target.entries[0] if target.entries else None
            if wanted and str(current) != str(wanted):
                found.append(_finding('missing-entry', target, 'Woodcore key %s whitelists %s, not %s, which the '
                                      'role puts there' % (target.name, current or 'no IP', wanted),
                                      'run playbooks/fleet.yml (role apiaccess.ipwhitelist.fleet_whitelist), then '
                                      'approve with the emailed OTP', str(wanted)))
        return found


def _plural(count, one, many):
    return '%d %s' % (count, one if count == 1 else many)


def _iso(epoch):
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(epoch))


def assess(plan, orgs, targets, woodcore_targets, caller=None):
    """Every finding, sorted: severity, then the target (kind, name), then the entry, then the code."""
    assessor = Assessor(plan, caller)
    policy = dict((o.id, o.settings.get('apiAccessListRequired') if o.settings else None) for o in orgs)
    findings = []
    for target in orgs + targets + woodcore_targets:
        if target.status != 'ok':
            findings.append(unreadable_finding(target))
    for org in orgs:
        findings.extend(assessor.org_findings(org))
    for target in targets:
        if target.status == 'ok':
            findings.extend(assessor.list_findings(target, policy.get(target.org_id)))
    for target in woodcore_targets:
        if target.status == 'ok':
            findings.extend(assessor.woodcore_findings(target))
    return sort_findings(findings), assessor


def unreadable_finding(target):
    """A target the audit could not read: nothing about it can be vouched for (a revoked audit credential reads
    nothing at all), so it is a finding, and reaches fail_on as one."""
    if target.kind == 'listing':
        message = 'the %s could not be listed, so the lists they hold were not audited: %s' % (
            target.name, target.error)
    else:
        message = '%s %s could not be read, so nothing about it is known: %s' % (
            KIND_LABELS[target.kind], target.name, target.error)
    return _finding('unreadable-target', target, message,
                    'give the auditing credential the rights to read it (organization settings: Organization Member; '
                    "other credentials' lists: Organization Read Only; project lists: Project Read Only), or check "
                    'that the credential is valid and the target exists')


def sort_findings(findings):
    def key(f):
        entry = f.get('entry')
        try:
            entry_key = (0,) + tuple(addresses.sort_key(addresses.parse_network(entry, allow_any=True)))
        except (addresses.AddressError, TypeError):
            entry_key = (1, 0, 0, 0) if entry is None else (1, 0, 0, 1)
        target = f['target']
        return (SEVERITIES.index(f['severity']), KIND_ORDER.index(target['kind']), str(target['name']), entry_key,
                [c for c, _s in CODES].index(f['code']))
    return sorted(findings, key=key)


# -- the report ---------------------------------------------------------------------------------

def summary(findings):
    counts = dict((s, 0) for s in SEVERITIES)
    for finding in findings:
        counts[finding['severity']] += 1
    return counts


def _entry_view(target, entry, assessor, by_entry):
    codes = sorted(set(by_entry.get(str(entry.net), [])), key=[c for c, _s in CODES].index)
    view = dict(entry=str(entry.net), status=codes[0] if codes else 'ok', findings=codes)
    if isinstance(entry.net, atlas.SecurityGroup):
        view['kind'] = 'aws_security_group'
    raw, kind = entry.raw, entry.kind
    if kind.details:
        view.update(comment=raw.get('comment'), delete_after=raw.get('deleteAfterDate'), created=None,
                    last_used=None, last_used_address=None, request_count=None, age_days=None, days_unused=None)
    else:
        created = atlas.parse_time(raw.get(kind.created))
        active = entry.last_active()
        view.update(created=raw.get(kind.created), last_used=raw.get(kind.last_used),
                    last_used_address=raw.get('lastUsedAddress'), request_count=raw.get(kind.count),
                    age_days=_days(assessor.now - created) if created is not None else None,
                    days_unused=_days(assessor.now - active) if active is not None else None)
    view['hosts'] = assessor.hosts_of(entry.net)
    return view


def _target_key(ref):
    return (ref['kind'], ref['name'], ref['id'], ref.get('org_id'), ref.get('project_id'))


def findings_by_target(findings):
    """Each target's findings, grouped once (not every finding scanned for every target)."""
    grouped = {}
    for finding in findings:
        grouped.setdefault(_target_key(finding['target']), []).append(finding)
    return grouped


def target_view(target, assessor, findings):
    """``findings``: this target's own (findings_by_target)."""
    mine = findings
    by_entry = {}
    for finding in mine:
        by_entry.setdefault(finding.get('entry'), []).append(finding['code'])
    view = dict(target.ref(), org_id=target.org_id, project_id=target.project_id)
    view.update(label=KIND_LABELS[target.kind], managed=target.managed, status=target.status, error=target.error,
                description=target.description, notes=list(target.notes), findings=len(mine),
                worst=min((f['severity'] for f in mine), key=SEVERITIES.index) if mine else None,
                api_access_list_required=None, pending=None)
    if target.kind == 'organization':
        settings = target.settings or {}
        view['api_access_list_required'] = settings.get('apiAccessListRequired') if target.settings else None
        view['entries'] = []
    elif target.kind == 'woodcore_key':
        view['entries'] = [dict(entry=str(ip), status=(by_entry.get(str(ip)) or ['ok'])[0],
                                findings=by_entry.get(str(ip), []), hosts=[]) for ip in target.entries]
        view['pending'] = dict((k, v) for k, v in (target.pending or {}).items() if k != 'key_fingerprint') or None
    else:
        entries = sorted(target.entries, key=lambda e: addresses.sort_key(e.net))
        view['entries'] = [_entry_view(target, e, assessor, by_entry) for e in entries]
    view['entry_count'] = len(view['entries'])
    return view


def build_report(plan, orgs, targets, woodcore_targets, findings, assessor, requests=0, warnings=()):
    counts = summary(findings)
    grouped = findings_by_target(findings)
    all_targets = sorted(orgs + targets + woodcore_targets,
                         key=lambda t: (KIND_ORDER.index(t.kind), not t.managed, str(t.name)))
    params = plan.params
    credential = plan.atlas_kp or {}
    scope = dict(
        atlas_base_url=params['atlas_base_url'] if plan.atlas_kp else None,
        atlas_cloud=plan.atlas_cloud,
        credential=('service account %s' % credential['client_id']) if credential.get('client_id') else
        ('API key %s' % credential['public_key']) if credential.get('public_key') else None,
        audit_all=params['audit_all'], org_ids=plan.org_ids,
        managed_targets=len(plan.targets) + len(plan.woodcore),
        fleet=None if plan.networks is None else dict(
            hosts=len(plan.fleet_map), entries=len(plan.networks), merge=params['merge'],
            extra_entries=list(params['extra_entries'] or []),
            unknown_entries_checked=plan.assess_unknown),
        thresholds=dict(max_prefix=dict(plan.max_prefix), stale_days=params['stale_days'],
                        woodcore_pending_hours=PENDING_HOURS, expiring_hours=EXPIRING_HOURS),
    )
    return dict(
        schema_version=SCHEMA_VERSION,
        generator='apiaccess.ipwhitelist.access_audit %s' % COLLECTION_VERSION,
        generated_at=_iso(plan.now),
        scope=scope,
        summary=counts,
        findings=findings,
        targets=[target_view(t, assessor, grouped.get(_target_key(t.ref()), [])) for t in all_targets],
        unreadable=[dict(kind=t.kind, name=t.name, id=t.id, error=t.error) for t in all_targets
                    if t.status != 'ok'],
        read=len([t for t in all_targets if t.status == 'ok']),
        requests=requests,
        warnings=list(warnings),
    )


def failing(report, fail_on):
    """Findings at or above ``fail_on`` (never: none). Unreadable targets are findings (unreadable-target, high)."""
    if fail_on == 'never':
        return []
    limit = SEVERITIES.index(fail_on)
    return [f for f in report['findings'] if SEVERITIES.index(f['severity']) <= limit]


def summary_line(report):
    counts = report['summary']
    line = ', '.join('%d %s' % (counts[s], s) for s in SEVERITIES)
    unreadable = len(report['unreadable'])
    return '%s; %d targets read%s' % (line, report['read'],
                                      ', %d unreadable' % unreadable if unreadable else '')


_MD_SPECIAL = re.compile(r'([\\`*_\[\]<>!|~:])')  # ':': no scheme, so no autolink (https://...)
_MD_WWW = re.compile(r'(?i)\b(www)\.')  # nor www. one


def _md(text):
    """One table cell of text from anywhere (names, comments and descriptions come from the API): HTML escaped,
    and every character Markdown gives a meaning escaped (links, images, emphasis, code, the cell's ``|``), so a
    hostile name shows as text and makes no link, image or tag in a pull request."""
    text = ' '.join(str('' if text is None else text).split())
    text = text.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;').replace('"', '&quot;')
    return _MD_WWW.sub(r'\1\\.', _MD_SPECIAL.sub(r'\\\1', text))


def _target_name(ref):
    return '%s %s' % (KIND_LABELS[ref['kind']], ref['name']) + (
        ' (%s)' % ref['id'] if ref.get('id') and ref['id'] != ref['name'] else '')


def markdown(report):
    """access-report.md: for a pull request or a ticket."""
    counts = report['summary']
    lines = ['# Access audit', '',
             'Generated %s by %s. %s.' % (report['generated_at'], report['generator'], summary_line(report)), '',
             '| ' + ' | '.join(SEVERITIES) + ' |', '|' + '---|' * len(SEVERITIES),
             '| ' + ' | '.join(str(counts[s]) for s in SEVERITIES) + ' |', '', '## Findings', '']
    if report['findings']:
        lines += ['| severity | code | target | entry | message | fix |', '|---|---|---|---|---|---|']
        lines += ['| %s | `%s` | %s | %s | %s | %s |' % (
            f['severity'], f['code'], _md(_target_name(f['target'])), _md(f.get('entry') or ''), _md(f['message']),
            _md(f['fix'])) for f in report['findings']]
    else:
        lines.append('No findings.')
    lines += ['', '## Targets', '', '| target | managed | status | entries | findings |', '|---|---|---|---|---|']
    for t in report['targets']:
        status = t['status'] + (': %s' % t['error'] if t.get('error') else '')
        lines.append('| %s | %s | %s | %d | %d |' % (_md(_target_name(t)), 'yes' if t['managed'] else 'no',
                                                     _md(status), t['entry_count'], t['findings']))
    if report['warnings']:
        lines += ['', '## Warnings', ''] + ['- %s' % _md(w) for w in report['warnings']]
    return '\n'.join(lines) + '\n'


def write_file(path, text):
    """Write atomically and privately: a new file of its own (mkstemp: O_EXCL, mode 0600) beside ``path``, then
    renamed over it. A reader (a CI step, a browser) never sees half a report, and a symlink planted at ``path``
    is replaced, never written through."""
    directory = os.path.dirname(path) or '.'
    fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), suffix='.tmp', dir=directory)
    try:
        with os.fdopen(fd, 'w', encoding='utf-8') as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def report_directory(directory):
    """The report directory, created private (0700) when missing; refused (OSError) when it is a symlink, another
    user's, or writable by everyone, where someone else could swap the files."""
    directory = os.path.abspath(os.path.expanduser(directory))
    if not os.path.lexists(directory):
        os.makedirs(directory, mode=0o700)
        os.chmod(directory, 0o700)  # makedirs' mode is filtered by the umask
    info = os.lstat(directory)
    if stat.S_ISLNK(info.st_mode):
        raise OSError('%s is a symbolic link; give the real directory' % directory)
    if not stat.S_ISDIR(info.st_mode):
        raise OSError('%s is not a directory' % directory)
    if hasattr(os, 'getuid') and info.st_uid != os.getuid():
        raise OSError('%s belongs to another user (uid %d); give a directory of your own' % (directory, info.st_uid))
    if info.st_mode & stat.S_IWOTH:
        raise OSError('%s is writable by every user; give a private directory' % directory)
    return directory


def write_reports(report, directory, render_html):
    """The three files, into ``directory`` (report_directory); returns their paths by format."""
    directory = report_directory(directory)
    paths = dict(json=os.path.join(directory, REPORT_FILES[0]), markdown=os.path.join(directory, REPORT_FILES[1]),
                 html=os.path.join(directory, REPORT_FILES[2]))
    write_file(paths['json'], json.dumps(report, indent=1, sort_keys=False) + '\n')
    write_file(paths['markdown'], markdown(report))
    write_file(paths['html'], render_html(report))
    return paths


# -- the run ------------------------------------------------------------------------------------

def run(params, render_html, clock=None, limit_hazard=None):
    """The whole audit: plan, read, assess, write the reports. Returns the module result; fails (``failed``)
    only after the reports are written, when findings reach ``fail_on``. ``limit_hazard``: why --limit narrows
    the fleet (then unknown-entry, which a narrowed fleet would get wrong, is not assessed)."""
    now = (clock or time.time)()
    plan = Plan(params, now)
    warnings = []
    if limit_hazard and plan.networks is not None:
        plan.assess_unknown = False
        warnings.append('--limit narrows the fleet (%s): unknown-entry is not assessed, since the addresses of the '
                        'hosts outside the limit would look unknown. Name the fleet (hosts) to assess it'
                        % limit_hazard)
    reader = Reader(plan)
    orgs, targets, woodcore_targets = reader.run()
    findings, assessor = assess(plan, orgs, targets, woodcore_targets, reader.caller)
    requests = sum(c.request_count for c in reader.clients)
    report = build_report(plan, orgs, targets, woodcore_targets, findings, assessor, requests,
                          warnings + reader.warnings)
    paths = write_reports(report, params['report_dir'], render_html)
    over = failing(report, params['fail_on'])
    nothing_read = report['read'] == 0
    result = dict(changed=False, failed=bool(over) or nothing_read, findings_at_fail_on=len(over),
                  summary=report['summary'], findings=report['findings'], unreadable=report['unreadable'],
                  nothing_read=nothing_read, report=paths, requests=requests,
                  summary_lines=[summary_line(report), 'report: %s' % paths['html']], warnings=report['warnings'])
    if nothing_read:
        # whatever fail_on says: an audit that read nothing vouches for nothing (a revoked or mistyped credential)
        result['msg'] = 'the audit read nothing: %s. The report is written: %s' % (
            '; '.join('%s %s: %s' % (KIND_LABELS[u['kind']], u['name'], u['error']) for u in report['unreadable'][:5])
            or 'no target to audit (no organization, Atlas list or Woodcore key given)', paths['html'])
    elif over:
        shown = '; '.join('%s %s %s' % (f['severity'], f['code'], _target_name(f['target'])) for f in over[:5])
        result['msg'] = '%d findings at or above %s (fail_on): %s%s. The report is written: %s' % (
            len(over), params['fail_on'], shown, ' ...' if len(over) > 5 else '', paths['html'])
    else:
        result['msg'] = 'audit: %s' % summary_line(report)
    return result
