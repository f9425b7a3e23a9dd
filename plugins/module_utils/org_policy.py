# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The organization's API access-list requirement (``apiAccessListRequired``), with its lockout guards.

Facts [V] (shared/specs, "organization settings"): an API key with no access-list entry can call the Atlas
Administration API from any address while its organization does not require API access lists; once the
organization requires them, such a key can make no request at all until it has an entry. A key with entries is
always held to them. Whether the requirement binds service accounts too is not documented [U]: this module treats
them as bound (the conservative reading).

So turning the requirement on can lock credentials out, and turning it off opens every empty-listed credential to
the internet. :func:`converge_policy` reads every API key and service account of the organization (their lists in
parallel) before it writes anything, refuses to lock anyone out unless told to (``allow_lockout``), and names the
credentials either way.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import addresses
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.atlas import (
    json_value, org_settings_scope,
)
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.common import PlanError
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.http_client import ApiError

REQUIREMENT = 'apiAccessListRequired'
SA_BINDING_UNKNOWN = ('whether the requirement binds service accounts is not documented; if it does, the account can '
                      'make no request once it is on')


class EmptyList(object):
    """What a credential with an empty access list can do: ``callable_from_anywhere`` and ``locked_out`` (it can
    make no request at all) are each true when a reading of the facts makes them so, and ``why`` says which."""

    def __init__(self, callable_from_anywhere, locked_out, why):
        self.callable_from_anywhere = callable_from_anywhere
        self.locked_out = locked_out
        self.why = why


def empty_list(kind, required):
    """The one rule of an empty access list, for the audit and the policy module alike.

    ``kind``: ``api_key``, or a service account's (``service_account``, ``org_service_account``,
    ``project_service_account``); ``required``: the organization's apiAccessListRequired (None: unknown).
    An API key [V]: callable from any address while its organization does not require lists, no request at all while
    it does. A service account [U], both readings: if the requirement binds service accounts, as an API key; if not,
    callable from any address whatever the setting."""
    if kind == 'api_key':
        if required is True:
            return EmptyList(False, True, 'it can make no request while the organization requires API access lists')
        if required is False:
            return EmptyList(True, False, 'its organization does not require API access lists')
        return EmptyList(True, True, 'unless its organization requires API access lists, which could not be read')
    why = SA_BINDING_UNKNOWN.split(';', maxsplit=1)[0]
    if required is True:
        return EmptyList(True, True, SA_BINDING_UNKNOWN + '; if it does not, the account can call from any address')
    if required is False:
        return EmptyList(True, False, why + '; this organization does not require lists')
    return EmptyList(True, True, why + ", and the organization's requirement could not be read")


class Credential(object):
    """One API key or service account of the organization, with its organization-level access list."""

    def __init__(self, kind, ident, name, description, caller):
        self.kind = kind              # 'api_key' or 'service_account'
        self.id = ident               # key ID or client ID
        self.name = name              # public key or account name
        self.description = description
        self.caller = caller          # the credential this run calls with
        self.entries = []             # networks

    @property
    def list_kind(self):
        return 'api_key' if self.kind == 'api_key' else 'org_service_account'

    def label(self):
        details = [self.id]
        if self.kind == 'api_key' and self.description:
            details.append('"%s"' % self.description)
        if self.caller:
            details.append('the one this run calls with')
        return '%s %s (%s)' % ('API key' if self.kind == 'api_key' else 'service account', self.name,
                               ', '.join(details))

    def info(self):
        return dict(kind=self.kind, id=self.id, name=self.name, caller=self.caller,
                    entries=addresses.sorted_canonical(self.entries))


def read_credentials(api, org_id, concurrency=8):
    """Every API key and service account of the organization with its list; the lists are read ``concurrency`` at
    a time (each read paced to its bucket). Raises ApiError / PlanError: nothing is written here."""
    caller_kind, caller_name = api.caller
    credentials = [Credential('api_key', k['id'], k.get('publicKey'), k.get('desc'),
                              caller_kind == 'api_key' and k.get('publicKey') == caller_name)
                   for k in api.list_keys(org_id)]
    credentials += [Credential('service_account', a['clientId'], a.get('name') or a['clientId'], a.get('description'),
                               caller_kind == 'service_account' and a['clientId'] == caller_name)
                    for a in api.list_service_accounts(org_id)]

    def read(credential):
        credential.entries = [e.net for e in api.access_list(credential.list_kind, org_id, credential.id)
                              .list_entries()]

    if concurrency <= 1 or len(credentials) <= 1:
        for credential in credentials:
            read(credential)
    else:
        with ThreadPoolExecutor(max_workers=min(concurrency, len(credentials))) as pool:
            list(pool.map(read, credentials))  # the first failure is raised here
    return credentials


def lockout_problems(api, credentials):
    """Why turning the requirement on would lock a credential out: one text each, the caller's first."""
    problems = []
    callers = [c for c in credentials if c.caller]
    caller_kind, caller_name = api.caller
    what = 'API key' if caller_kind == 'api_key' else 'service account'
    if not callers:
        problems.append('the %s this run calls with, %s, is not among the organization\'s %ss, so its own access '
                        'list cannot be checked' % (what, caller_name, what))
    for credential in callers:
        if not credential.entries:
            effect = empty_list(credential.kind, True)
            problems.append('%s has an empty access list: once the requirement is on it can make no request, not '
                            'even to turn the requirement off again%s'
                            % (credential.label(), '' if credential.kind == 'api_key' else ' (%s)' % effect.why))
            continue
        try:
            address = api.caller_ip()
        except PlanError as exc:
            problems.append('%s: cannot tell whether its access list covers this controller (%s)'
                            % (credential.label(), exc))
            continue
        if not any(addresses.contains(n, address) for n in credential.entries):
            problems.append('%s: its access list (%s) does not cover %s, the address Atlas sees this controller call '
                            'from' % (credential.label(), ', '.join(addresses.sorted_canonical(credential.entries)),
                                      addresses.canonical(address)))
    for credential in credentials:
        if credential.entries or credential.caller:
            continue
        effect = empty_list(credential.kind, True)
        if effect.locked_out:
            problems.append('%s has an empty access list: %s' % (credential.label(), effect.why))
    return problems


def converge_policy(api, org_id, want, allow_lockout=False, check_mode=False, concurrency=8, warn=None):
    """Make the organization require API access lists (``want``) or not. Returns the module result; ``warn(text)``
    takes the warnings as they arise (before the write, so a failing write still carries them)."""
    warn = warn or (lambda text: None)
    settings = api.org_settings(org_id)
    if not isinstance(settings, dict):
        raise ApiError('GET organization settings of %s answered %r, not the settings object' % (org_id, settings))
    have = bool(settings.get(REQUIREMENT))
    result = dict(org_id=org_id, require_api_access_list=want, previous=have, changed=have != want,
                  settings=settings, empty_lists=[],
                  diff=dict(before={REQUIREMENT: have}, after={REQUIREMENT: want}))
    if have == want:
        return result  # nothing to guard: no credential's reach changes
    try:
        credentials = read_credentials(api, org_id, concurrency)
    except ApiError as exc:
        exc.args = ('%s (nothing was changed: the credentials of organization %s and their access lists must be read '
                    'before the requirement changes)' % (exc.message, org_id),)
        exc.message = exc.args[0]
        raise
    empty = [c for c in credentials if not c.entries]
    result['empty_lists'] = [c.info() for c in empty]
    if want:
        problems = lockout_problems(api, credentials)
        if problems and not allow_lockout:
            raise PlanError('refusing to require API access lists in organization %s: %s. Nothing was changed. Give '
                            'each credential an entry first (the fleet_whitelist role converges the lists before it '
                            'applies fleet_whitelist_atlas_org_policy), remove the unused ones, or set '
                            'allow_lockout=true' % (org_id, '; '.join(problems)))
        if problems:
            warn('allow_lockout=true: organization %s now requires API access lists although %s'
                 % (org_id, '; '.join(problems)))
    elif empty:
        warn('organization %s no longer requires API access lists: every credential with an empty access list can '
             'now call the Atlas Administration API from any address on the internet: %s'
             % (org_id, '; '.join(c.label() + ('' if c.kind == 'api_key' else ' (%s)' % empty_list(c.kind, False).why)
                                  for c in empty if empty_list(c.kind, False).callable_from_anywhere)))
    if check_mode:
        result['settings'] = dict(settings, **{REQUIREMENT: want})
        return result
    result['settings'] = _update(api, org_id, want)
    return result


def _update(api, org_id, want):
    """One PATCH; an answer of unknown outcome is settled by reading the settings again."""
    journal = api.client.journal
    item = '%s=%s' % (REQUIREMENT, json_value(want))
    try:
        answer = api.update_org_settings(org_id, {REQUIREMENT: want})
    except ApiError as exc:
        if exc.outcome_unknown:
            try:
                now = api.org_settings(org_id)
            except ApiError:
                raise exc  # the journal keeps the outcome unknown, and the failure says so
            journal.settle(org_settings_scope(org_id), 'update_settings',
                           [item] if bool((now or {}).get(REQUIREMENT)) == want else [])
        raise
    if isinstance(answer, dict) and REQUIREMENT in answer and bool(answer[REQUIREMENT]) != want:
        journal.retract(org_settings_scope(org_id), 'update_settings', [item])
        raise ApiError('Atlas acknowledged the PATCH of organization %s but answered %s=%s' % (
            org_id, REQUIREMENT, json_value(answer[REQUIREMENT])))
    return answer if isinstance(answer, dict) else {REQUIREMENT: want}
