# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Glue shared by every module: argspec pieces, the client factory, and the one
place where errors become ``fail_json``."""

from __future__ import annotations

import os

from ansible.module_utils.basic import env_fallback, missing_required_lib
from ansible.module_utils.errors import AnsibleFallbackNotFound

from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.addresses import (
    AddressError, HAS_NETADDR, NETADDR_IMPORT_ERROR,
)
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.http_client import (
    ApiClient, ApiError, HAS_REQUESTS, REQUESTS_IMPORT_ERROR,
)


class PlanError(Exception):
    """A request that is refused before anything is sent (bad input, unsafe plan)."""


def secret_fallback(*names):
    """Argspec fallback for secrets: Ansible's env_fallback, then ``<NAME>_FILE``, a variable that
    names a file holding the secret. AWX file injectors and container secrets hand secrets over
    that way, so the value never sits in an environment that job runners dump to disk."""
    try:
        return env_fallback(*names)
    except AnsibleFallbackNotFound:
        pass
    for name in names:
        path = os.environ.get(name + '_FILE')
        if path:
            try:
                with open(path, 'r') as handle:
                    return handle.read().strip()
            except (IOError, OSError):
                # treated as unset: the missing-credential error that follows names the options
                continue
    raise AnsibleFallbackNotFound


def http_argument_spec():
    """Connection options shared by every module; documented by the ``http`` doc fragment."""
    return dict(
        timeout=dict(type='float', default=30.0),
        validate_certs=dict(type='bool', default=True),
        ca_path=dict(type='path'),
        proxy=dict(type='str'),
        retries=dict(type='int', default=5),
        retry_max_wait=dict(type='float', default=60.0),
    )


def check_libraries(module):
    if not HAS_REQUESTS:
        module.fail_json(msg=missing_required_lib('requests'), exception=REQUESTS_IMPORT_ERROR)
    if not HAS_NETADDR:
        module.fail_json(msg=missing_required_lib('netaddr'), exception=NETADDR_IMPORT_ERROR)


def validate_http_params(params):
    if params['timeout'] <= 0:
        raise PlanError('timeout must be greater than 0, got %r' % params['timeout'])
    if params['retries'] < 0:
        raise PlanError('retries must be 0 or more, got %r' % params['retries'])
    if params['retry_max_wait'] < 0:
        raise PlanError('retry_max_wait must be 0 or more, got %r' % params['retry_max_wait'])


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
        for warning in getattr(exc, 'warnings', None) or ():
            module.warn(warning)
        module.fail_json(msg=str(exc), requests=_request_count(module), **fields)
    if getattr(module, 'apiaccess_client', None) is not None and module.params.get('validate_certs') is False:
        module.warn('validate_certs=false: the TLS certificate of %s is not verified'
                    % module.apiaccess_client.base_url)
    result.setdefault('requests', _request_count(module))
    module.exit_json(**result)


def _request_count(module):
    client = getattr(module, 'apiaccess_client', None)
    return client.request_count if client is not None else 0
