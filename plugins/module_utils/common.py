# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Glue shared by every module: argspec pieces, the client factory, and the one
place where errors become ``fail_json``."""

from __future__ import annotations

import functools
import os
import re
from urllib.parse import urlsplit

from ansible.module_utils.basic import env_fallback, missing_required_lib
from ansible.module_utils.errors import AnsibleFallbackNotFound

from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import addresses
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.addresses import (
    AddressError, HAS_NETADDR, NETADDR_IMPORT_ERROR,
)
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.redaction import redact_everywhere
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.http_client import (
    RATE_LIMIT_MAX_WAIT, UNKNOWN, ApiClient, ApiError, HAS_REQUESTS, REQUESTS_IMPORT_ERROR,
)


class PlanError(Exception):
    """A request that is refused before anything is sent (bad input, unsafe plan)."""


# ``*_FILE`` variables whose file could not be read, by variable name: a fallback cannot fail with a
# message, so validation (check_secret_files) turns these into an error naming the variable and path.
_SECRET_FILE_PROBLEMS = {}


def secret_fallback(*names):
    """Argspec fallback for secrets: Ansible's env_fallback, then ``<NAME>_FILE``, a variable that
    names a file holding the secret. AWX file injectors and container secrets hand secrets over
    that way, so the value never sits in an environment that job runners dump to disk."""
    try:
        return env_fallback(*names)
    except AnsibleFallbackNotFound:
        pass
    for name in names:
        variable = name + '_FILE'
        path = os.environ.get(variable)
        if not path:
            continue
        try:
            with open(path, 'r') as handle:
                value = handle.read().strip()
        except (IOError, OSError) as exc:
            _SECRET_FILE_PROBLEMS[variable] = '%s names %s, which cannot be read (%s)' % (
                variable, path, exc.strerror or type(exc).__name__)
            continue
        if not value:
            _SECRET_FILE_PROBLEMS[variable] = '%s names %s, which is empty' % (variable, path)
            continue
        _SECRET_FILE_PROBLEMS.pop(variable, None)
        return value
    if any(os.environ.get(name + '_FILE') for name in names):
        # a *_FILE was set and could not be used: the option is set, but empty. Else the argspec's required=True
        # (api_key) fails first, with "missing required arguments", before validation (check_secret_files) can
        # name the variable and the path
        return ''
    raise AnsibleFallbackNotFound


def check_secret_files():
    """Fail, naming the variable and the path (never the content), when a ``*_FILE`` secret was unreadable."""
    if _SECRET_FILE_PROBLEMS:
        problems = sorted(_SECRET_FILE_PROBLEMS.values())
        _SECRET_FILE_PROBLEMS.clear()
        raise PlanError('%s; nothing was sent' % '; '.join(problems))


def validate_base_url(url, allow_http=False, label='base_url'):
    """An http(s) URL; plain http only to loopback, or with ``allow_http``. Raises PlanError naming it."""
    parts = urlsplit(url or '')
    if parts.scheme not in ('http', 'https') or not parts.hostname or re.search(r'\s', url or ''):
        raise PlanError('%s %r is not an http(s) URL' % (label, url))
    if parts.scheme == 'http' and not allow_http and not addresses.is_loopback_host(parts.hostname):
        raise PlanError(
            '%s %r uses plain http to %s, a host that is not loopback: API keys, bearer tokens and OAuth client '
            'secrets would cross the network in cleartext. Nothing was sent. Use https, or set allow_http=true '
            'for an on-premises server that only speaks plain http' % (label, url, parts.hostname))
    return parts


def connection_warnings(client, params):
    """Warnings about the transport of a run, for modules and the fleet alike."""
    warnings = []
    if client is None:
        return warnings
    if params.get('validate_certs') is False:
        warnings.append('validate_certs=false: the TLS certificate of %s is not verified' % client.base_url)
    parts = urlsplit(client.base_url)
    if parts.scheme == 'http' and not addresses.is_loopback_host(parts.hostname):
        warnings.append('allow_http=true: credentials and tokens travel to %s in cleartext (plain http)'
                        % parts.hostname)
    return warnings


def http_argument_spec():
    """Connection options shared by every module; documented by the ``http`` doc fragment."""
    return dict(
        timeout=dict(type='float', default=30.0),
        validate_certs=dict(type='bool', default=True),
        ca_path=dict(type='path'),
        proxy=dict(type='str', no_log=True),  # may carry credentials (http://user:password@host)
        retries=dict(type='int', default=5),
        retry_max_wait=dict(type='float', default=60.0),
        rate_limit_max_wait=dict(type='float', default=RATE_LIMIT_MAX_WAIT),
        allow_http=dict(type='bool', default=False),
    )


def check_libraries(module):
    if not HAS_REQUESTS:
        module.fail_json(msg=missing_required_lib('requests'), exception=REQUESTS_IMPORT_ERROR)
    if not HAS_NETADDR:
        module.fail_json(msg=missing_required_lib('netaddr'), exception=NETADDR_IMPORT_ERROR)


def validate_http_params(params):
    check_secret_files()
    if params['timeout'] <= 0:
        raise PlanError('timeout must be greater than 0, got %r' % params['timeout'])
    if params['retries'] < 0:
        raise PlanError('retries must be 0 or more, got %r' % params['retries'])
    if params['retry_max_wait'] < 0:
        raise PlanError('retry_max_wait must be 0 or more, got %r' % params['retry_max_wait'])
    # .get: params built by hand (tests, older callers) may lack it; the argspec always sets it
    if params.get('rate_limit_max_wait', RATE_LIMIT_MAX_WAIT) <= 0:
        raise PlanError('rate_limit_max_wait must be greater than 0, got %r' % params['rate_limit_max_wait'])


def check_not_negative(params, names, error=PlanError):
    """Options that count seconds or tries from 0 up (resend_after, wait_timeout, ...), naming the bad one."""
    for name in names:
        if params.get(name) is not None and params[name] < 0:
            raise error('%s must be 0 or more, got %r' % (name, params[name]))


def check_concurrency(value, error=PlanError):
    """The ``concurrency`` option (the fleet's, and the list modules' DELETEs): 1 or more."""
    if value < 1:
        raise error('concurrency must be 1 or more, got %r' % value)


def client_from_params(params, base_url, auth=None, **kwargs):
    """Build the run's ApiClient from the shared connection options."""
    return ApiClient(
        base_url, auth=auth, timeout=params['timeout'], validate_certs=params['validate_certs'],
        ca_path=params['ca_path'], proxy=params['proxy'], retries=params['retries'],
        retry_max_wait=params['retry_max_wait'],
        rate_limit_max_wait=params.get('rate_limit_max_wait', RATE_LIMIT_MAX_WAIT), **kwargs)


# How the journal's actions read in "already done: ..." (Atlas lists, then Woodcore keys).
WRITE_WORDS = (('add', 'added'), ('remove', 'removed'), ('update', 'updated'),
               ('request_otp', 'requested an OTP for'), ('request_removal', 'requested the removal of'),
               ('approve', 'approved'),
               ('update_settings', 'changed the organization setting'))  # issue 20: atlas_org_access_policy
LIST_FIELDS = (('add', 'added'), ('remove', 'removed'), ('update', 'updated'))


class TargetRun(object):
    """The error boundary of one target (a module run, or one key of the fleet).

    ``work(run)`` does the target's work and returns its result; on the way it sets ``run.client`` (whose
    journal holds every write) and ``run.scope`` (the target's writes in a client shared by several
    targets; None: all of them). Whatever happens inside, :meth:`run` returns ``(failed, result)`` and never
    raises:

    * ``changed`` outside check mode, and ``added``/``removed``/``updated``, come from the journal: a run
      that wrote anything says ``changed=true``, on success and on failure;
    * a failure says what was already done, and which writes have an unknown outcome (``outcome_unknown``);
    * an unexpected exception (a bug, an answer nobody foresaw) is a failure like any other: no traceback,
      and the other targets of the run keep their results;
    * everything is redacted with the client's secrets (the one redaction point, ``redaction.Redactor``).
    """

    def __init__(self, check_mode=False, list_target=False, scope=None):
        self.check_mode = check_mode
        self.list_target = list_target  # an Atlas list: results carry added / removed / updated
        self.client = None
        self.scope = scope
        self.warnings = []

    def run(self, work):
        try:
            result, failed = work(self), False
        except (AddressError, PlanError, ApiError) as exc:
            result, failed = self._failure(exc, str(exc)), True
        except Exception as exc:  # pylint: disable=broad-except  # the boundary: nothing escapes a target
            result, failed = self._failure(exc, 'unexpected error (%s at %s): %s; nothing more was sent for this '
                                                'target' % (type(exc).__name__, _where(exc), exc)), True
        self._report_writes(result, failed)
        redactor = self.client.redactor if self.client is not None else None
        if redactor is not None:
            result = redactor.deep(result)
            self.warnings = [redactor.text(w) for w in self.warnings]
        return failed, result

    def _failure(self, exc, msg):
        fields = dict(failed=True, msg=msg)
        if isinstance(exc, ApiError):
            fields.update((k, v) for k, v in exc.details().items() if v is not None)
        fields.update(getattr(exc, 'partial', None) or {})
        self.warnings.extend(getattr(exc, 'warnings', None) or [])
        return fields

    def _report_writes(self, result, failed):
        journal = self.client.journal if self.client is not None else None
        if journal is None:  # no client, no write: only a failure needs saying so (the fleet module has its own)
            if failed:
                result['changed'] = False
            return
        if failed or not self.check_mode:
            result['changed'] = journal.changed(self.scope)
        if self.list_target and not self.check_mode:
            for action, field in LIST_FIELDS:
                items = journal.items(action, scope=self.scope)
                if action != 'update' or field in result or items:  # only the project list updates entries
                    result[field] = sorted_items(items)
        unknown = ['%s %s' % (action, item) for action, _word in WRITE_WORDS
                   for item in journal.items(action, UNKNOWN, self.scope)]
        if unknown:
            result['outcome_unknown'] = unknown
        if failed and journal.records(self.scope):  # the target sent writes: say what became of them
            done = []
            for action, word in WRITE_WORDS:
                items = journal.items(action, scope=self.scope)
                if items or (self.list_target and action in ('add', 'remove')):  # a list always says both
                    done.append('%s %s' % (word, ', '.join(sorted_items(items)) or 'nothing'))
            result['msg'] = '%s (already done: %s%s)' % (
                result['msg'], '; '.join(done) or 'nothing',
                '; outcome unknown, re-read to see: %s' % ', '.join(unknown) if unknown else '')


def sorted_items(items):
    """Journal items (canonical networks, security group names, IPs) in address order."""
    return sorted(items, key=_item_order)


@functools.lru_cache(maxsize=65536)
def _item_order(item):
    """The sort key of one journal item. Cached: a fleet run sorts the same texts for every list, and parsing
    them again (50,000 times for 1,000 hosts on 50 keys) was a third of the run's CPU."""
    try:
        return (1,) + tuple(addresses.sort_key(addresses.parse_network(item, allow_any=True)))
    except AddressError:
        return (0, item)


_PLUGINS = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep  # this collection's plugins/


def _where(exc):
    """file:line where an unexpected exception was raised, for a bug report: the innermost frame of this
    collection's code (the library frames below it say less), else the innermost one."""
    tb, ours, last = exc.__traceback__, None, None
    while tb is not None:
        last = tb
        if tb.tb_frame.f_code.co_filename.startswith(_PLUGINS):
            ours = tb
        tb = tb.tb_next
    where = ours or last
    if where is None:
        return 'an unknown place'
    return '%s:%d' % (os.path.basename(where.tb_frame.f_code.co_filename), where.tb_lineno)


def run_module(module, work):
    """A module's whole run inside the error boundary: ``work()`` returns the result dict and sets
    ``module.apiaccess_client`` once it has a client. Every failure becomes ``fail_json`` here, and only here."""
    target = TargetRun(check_mode=module.check_mode)
    warn = module.warn

    def redacted_warn(text):  # warnings a module gives along the way pass the one redaction point too
        client = getattr(module, 'apiaccess_client', None)
        warn(client.redactor.text(text) if client is not None else redact_everywhere(text))

    module.warn = redacted_warn

    def body(run):
        try:
            return work()
        finally:
            run.client = getattr(module, 'apiaccess_client', None)
            run.list_target = getattr(module, 'apiaccess_list_target', False)

    failed, result = target.run(body)
    client = getattr(module, 'apiaccess_client', None)
    if client is not None:
        # ansible-core up to 2.20 echoes the parameters (invocation.module_args), masking only the no_log values
        # as given: a secret as this run used it (an OTP stripped of its line break) is masked too
        module.no_log_values.update(client.redactor.secrets())
    for warning in target.warnings + _connection_warnings(module):
        module.warn(warning)
    result['requests'] = _request_count(module)
    if failed:
        module.fail_json(**result)
    module.exit_json(**result)


def _connection_warnings(module):
    return connection_warnings(getattr(module, 'apiaccess_client', None), module.params)


def _request_count(module):
    client = getattr(module, 'apiaccess_client', None)
    return client.request_count if client is not None else 0
