# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Glue shared by every module: argspec pieces, the client factory, and the one
place where errors become ``fail_json``."""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit

from ansible.module_utils.basic import env_fallback, missing_required_lib
from ansible.module_utils.errors import AnsibleFallbackNotFound

from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import addresses
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.addresses import (
    AddressError, HAS_NETADDR, NETADDR_IMPORT_ERROR,
)
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.http_client import (
    ApiClient, ApiError, HAS_REQUESTS, REQUESTS_IMPORT_ERROR,
)


class PlanError(Exception):
    """A request that is refused before anything is sent (bad input, unsafe plan)."""


# ``*_FILE`` variables whose file could not be read, by variable name: a fallback can only say "not
# found", so validation (check_secret_files) turns these into an error naming the variable and path.
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
        proxy=dict(type='str'),
        retries=dict(type='int', default=5),
        retry_max_wait=dict(type='float', default=60.0),
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


def check_concurrency(value, error=PlanError):
    """The ``concurrency`` option (the fleet's, and the list modules' DELETEs): 1 or more."""
    if value < 1:
        raise error('concurrency must be 1 or more, got %r' % value)


def client_from_params(params, base_url, auth=None, **kwargs):
    """Build the run's ApiClient from the shared connection options."""
    return ApiClient(
        base_url, auth=auth, timeout=params['timeout'], validate_certs=params['validate_certs'],
        ca_path=params['ca_path'], proxy=params['proxy'], retries=params['retries'],
        retry_max_wait=params['retry_max_wait'], **kwargs)


def run_module(module, work):
    """Run ``work()`` (which returns the result dict) and turn every known error into fail_json.

    ``work`` may set ``module.apiaccess_client`` so a failure can report the request count. An error
    may carry ``partial`` (what was already written, and ``changed``: a failure after a write reports
    ``changed=true``) and ``warnings`` (emitted on failure too).
    """
    try:
        result = work()
    except (AddressError, PlanError, ApiError) as exc:
        fields = {}
        if isinstance(exc, ApiError):
            fields.update((k, v) for k, v in exc.details().items() if v is not None)
        partial = dict(getattr(exc, 'partial', None) or {})
        partial.setdefault('changed', bool(partial.get('added') or partial.get('removed')))
        fields.update(partial)
        for warning in (getattr(exc, 'warnings', None) or []) + _connection_warnings(module):
            module.warn(warning)
        module.fail_json(msg=str(exc), requests=_request_count(module), **fields)
    for warning in _connection_warnings(module):
        module.warn(warning)
    result.setdefault('requests', _request_count(module))
    module.exit_json(**result)


def _connection_warnings(module):
    return connection_warnings(getattr(module, 'apiaccess_client', None), module.params)


def _request_count(module):
    client = getattr(module, 'apiaccess_client', None)
    return client.request_count if client is not None else 0
