# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Woodcore gateway API key IP whitelist: API calls, profile parsing and the two-phase converge.

One IP per key. A new IP is requested with a POST that emails an OTP to the key's owner, and
takes effect only once approved with that OTP. So a change takes two runs: one that requests
(``pending_approval``), one with ``otp`` that approves and verifies.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import threading
import time

from ansible.module_utils.basic import env_fallback

from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import addresses
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.common import (
    PlanError, client_from_params, http_argument_spec, secret_fallback, validate_http_params,
)
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.http_client import ApiError, BearerAuth, json_object

SANDBOX_URL = 'https://spark.test.woodcore.co/api/v2'
# The original request names api.woodcoreapp.com; newer Woodcore docs name api.woodcore.co and say
# woodcoreapp.com is being retired. Override with base_url when that happens.
LIVE_URL = 'https://api.woodcoreapp.com/api/v2'
KEY_PREFIXES = ('wc_test_', 'wc_live_')
OTP_RE = re.compile(r'^[A-Za-z0-9]{4,64}$')
OTP_PATH_RE = re.compile(r'(/ipwhitelist/approve/)[^/?#\s]+')
DEFAULT_LEDGER = '~/.cache/apiaccess.ipwhitelist/woodcore-pending.json'


def woodcore_argument_spec():
    spec = http_argument_spec()
    spec.update(
        api_key=dict(type='str', required=True, no_log=True, fallback=(secret_fallback, ['WOODCORE_API_KEY'])),
        base_url=dict(type='str', fallback=(env_fallback, ['WOODCORE_BASE_URL'])),
        profile_ip_field=dict(type='str'),
        profile_pending_field=dict(type='str'),
    )
    return spec


def error_parser(response):
    """Woodcore failures: ``{"status": 0|"0"|404, "message": "<text>" | {"message", "error"}}``."""
    body = json_object(response)
    if body is None:
        return None, None
    message = body.get('message')
    code = None
    if isinstance(message, dict):
        code = message.get('error')
        message = message.get('message')
    return code, (str(message) if message is not None else None)


def base_url_for(params):
    if params.get('base_url'):
        return params['base_url'].rstrip('/')
    return LIVE_URL if params['api_key'].startswith('wc_live_') else SANDBOX_URL


def validate_connection(params):
    validate_http_params(params)
    key = params.get('api_key') or ''
    if not key.startswith(KEY_PREFIXES):
        # never echo the key itself
        raise PlanError('api_key does not look like a Woodcore API key: it must start with wc_test_ (sandbox) or '
                        'wc_live_ (live); its value is not shown')
    # Only the prefix is documented; the rest must at least exist and hold no whitespace.
    if not re.match(r'^\S+$', key[len('wc_test_'):]):
        raise PlanError('api_key is only a key prefix, or contains whitespace; its value is not shown')
    if params.get('base_url') and not re.match(r'^https?://[^/\s]+(/[^\s]*)?$', params['base_url']):
        raise PlanError('base_url %r is not an http(s) URL' % params['base_url'])


def key_fingerprint(api_key):
    """A stable, non-reversible name for a key (ledger entries, messages)."""
    return hashlib.sha256(api_key.encode('utf-8')).hexdigest()[:16]


def mask_key(api_key):
    prefix = next((p for p in KEY_PREFIXES if api_key.startswith(p)), '')
    return prefix + '****' + (api_key[-4:] if len(api_key) - len(prefix) > 8 else '')


# -- key profile ------------------------------------------------------------------------------

def _norm(name):
    return re.sub(r'[^a-z]', '', name.lower())


def _is_ip_field(name):
    n = _norm(name)
    return 'pending' not in n and ('whitelist' in n or n in ('ip', 'ips', 'ipaddress', 'allowedip', 'allowedips'))


def _is_pending_field(name):
    n = _norm(name)
    return 'pending' in n and ('ip' in n or 'whitelist' in n)


def _walk(data, prefix=''):
    """(dotted path, value) of every field, two levels deep."""
    for name, value in data.items():
        path = prefix + name
        yield path, name, value
        if isinstance(value, dict) and not prefix:
            yield from _walk(value, path + '.')


def _get_path(data, dotted):
    value = data
    for part in dotted.split('.'):
        if not isinstance(value, dict) or part not in value:
            raise KeyError(dotted)
        value = value[part]
    return value


def _detect(data, wanted, predicate, kind):
    if wanted:
        try:
            return wanted, _get_path(data, wanted)
        except KeyError:
            raise PlanError('the key profile has no field %r (%s); fields present: %s'
                            % (wanted, kind, ', '.join(p for p, _n, _v in _walk(data))))
    found = [(path, value) for path, name, value in _walk(data) if predicate(name) and not isinstance(value, dict)]
    if len(found) > 1:
        raise PlanError('the key profile has several fields that could hold the %s (%s); set the option that names '
                        'it' % (kind, ', '.join(p for p, _v in found)))
    return found[0] if found else (None, None)


def _one_ip(value, field):
    if isinstance(value, list):
        if len(value) > 1:
            raise ApiError('the key profile field %s holds several IPs (%s); this module expects one per key'
                           % (field, ', '.join(map(str, value))))
        value = value[0] if value else None
    if value in (None, ''):
        return None
    try:
        return str(addresses.parse_single_address(str(value), allow_ipv6=True))
    except addresses.AddressError as exc:
        raise ApiError('the key profile field %s holds %r, which is not one IP address: %s'
                       % (field, value, exc.reason))


class Profile(object):
    def __init__(self, data, ip_field=None, pending_field=None):
        if not isinstance(data, dict):
            raise ApiError('the key profile response has no data object')
        self.data = data
        self.ip_field, raw_ip = _detect(data, ip_field, _is_ip_field, 'whitelisted IP')
        if self.ip_field is None:
            raise PlanError('cannot find the whitelisted IP in the key profile; fields present: %s. Set '
                            'profile_ip_field to the dotted path of the field that holds it'
                            % ', '.join(p for p, _n, _v in _walk(data)))
        self.ip = _one_ip(raw_ip, self.ip_field)
        self.pending_field, raw_pending = _detect(data, pending_field, _is_pending_field, 'pending IP')
        self.pending_ip = _one_ip(raw_pending, self.pending_field) if self.pending_field else None

    def masked(self, api_key):
        return _mask(self.data, api_key)


_SECRET_NAME = re.compile(r'(key|secret|token|otp|password)', re.IGNORECASE)


def _mask(value, api_key, name=''):
    if isinstance(value, dict):
        return dict((k, _mask(v, api_key, k)) for k, v in value.items())
    if isinstance(value, list):
        return [_mask(v, api_key, name) for v in value]
    if isinstance(value, str):
        if api_key and api_key in value:
            return value.replace(api_key, mask_key(api_key))
        if value.startswith(KEY_PREFIXES):
            return mask_key(value)
        if _SECRET_NAME.search(name) and value:
            return '********'
    return value


# -- API --------------------------------------------------------------------------------------

class WoodcoreApi(object):
    def __init__(self, client, ip_field=None, pending_field=None):
        self.client = client
        self.ip_field = ip_field
        self.pending_field = pending_field

    def profile(self):
        body = self.client.request('GET', '/gateway/keyprofile').json()
        return Profile(body.get('data') if isinstance(body, dict) else None, self.ip_field, self.pending_field)

    def request_whitelist(self, ip):
        # Only 429 is retried: a gateway error after the POST may mean an email went out.
        self.client.request('POST', '/gateway/apiKeys/ipwhitelist', json={'ips': ip}, retry_statuses=(429,))

    def approve(self, otp):
        self.client.add_secret(otp)
        self.client.request('POST', '/gateway/apiKeys/ipwhitelist/approve/%s' % otp, retry_statuses=(429,))

    def remove(self, ip):
        body = self.client.request('POST', '/gateway/apiKeys/remove-whitelistedip', json={'ips': ip},
                                   retry_statuses=(429,)).json()
        return body if isinstance(body, dict) else {}


def build_api(params, **client_kwargs):
    client = client_from_params(
        params, base_url_for(params), auth=BearerAuth(params['api_key']), error_parser=error_parser,
        headers={'Accept': 'application/json'}, redact_patterns=[(OTP_PATH_RE, r'\1********')], **client_kwargs)
    client.add_secret(params['api_key'])
    if params.get('otp'):
        client.add_secret(params['otp'])
    return WoodcoreApi(client, params.get('profile_ip_field'), params.get('profile_pending_field'))


# -- pending ledger ---------------------------------------------------------------------------

class PendingLedger(object):
    """Controller-side record of OTP requests this collection made, keyed by key fingerprint.

    Whether keyprofile shows a pending IP is unknown; without this record a re-run would send a
    second OTP email (and possibly void the first OTP). Several keys may be converged at once
    (fleet_converge), so every read-modify-write holds one process-wide lock.
    """

    _lock = threading.Lock()

    def __init__(self, path, clock=time.time):
        self.path = os.path.expanduser(path) if path else None
        self.clock = clock

    def _load(self):
        if not self.path or not os.path.exists(self.path):
            return {}
        try:
            with open(self.path) as handle:
                data = json.load(handle)
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _save(self, data):
        if not self.path:
            return
        directory = os.path.dirname(self.path) or '.'
        try:
            os.makedirs(directory, mode=0o700, exist_ok=True)
            handle, tmp = tempfile.mkstemp(prefix='.pending.', dir=directory)
            with os.fdopen(handle, 'w') as out:
                json.dump(data, out, indent=1, sort_keys=True)
            os.replace(tmp, self.path)
        except OSError as exc:
            raise PlanError('cannot write the pending OTP record %s: %s (set pending_state_path)' % (self.path, exc))

    def pending(self, fingerprint, max_age):
        with self._lock:
            entry = self._load().get(fingerprint)
        if entry and self.clock() - entry.get('requested_at', 0) < max_age:
            return entry
        return None

    def record(self, fingerprint, action, ip):
        with self._lock:
            data = self._load()
            data[fingerprint] = {'action': action, 'ip': ip, 'requested_at': self.clock()}
            self._save(data)

    def clear(self, fingerprint):
        with self._lock:
            data = self._load()
            if data.pop(fingerprint, None) is not None:
                self._save(data)


# -- converge ---------------------------------------------------------------------------------

class Converger(object):
    """The two-phase flow for one key. ``run()`` returns the module result."""

    def __init__(self, api, params, check_mode=False, ledger=None):
        self.api = api
        self.params = params
        self.check_mode = check_mode
        self.ledger = ledger or PendingLedger(None)
        self.fingerprint = key_fingerprint(params['api_key'])
        self.live = params['api_key'].startswith('wc_live_')
        self.warnings = []

    def _result(self, changed, profile, ip_before, msg, pending_ip=None, otp_sent=False):
        ip = profile.ip
        return dict(changed=changed, ip=ip, pending_ip=pending_ip, pending_approval=pending_ip is not None,
                    otp_sent=otp_sent, msg=msg, profile_ip_field=profile.ip_field,
                    diff=dict(before={'ip': ip_before}, after={'ip': pending_ip or ip if changed else ip}),
                    warnings=self.warnings)

    def _lockout_warning(self, ip):
        if self.live:
            self.warnings.append(
                'Woodcore live keys accept requests only from their whitelisted IP: once %s is approved, this key '
                'works only from %s. If that is not the egress address of this automation, it is locked out of the '
                'key.' % (ip, ip))

    def _pending_ip(self, profile, action):
        """The IP already waiting for approval: from the profile when it shows one, else the ledger."""
        if action == 'whitelist' and profile.pending_ip:
            return profile.pending_ip
        entry = self.ledger.pending(self.fingerprint, self.params['resend_after'])
        if entry and entry.get('action') == action:
            return entry['ip']
        return None

    def run(self):
        wanted = self.params['ip']
        profile = self.api.profile()
        before = profile.ip
        if self.params['state'] == 'present':
            return self._present(profile, before, wanted)
        return self._absent(profile, before, wanted)

    def _present(self, profile, before, wanted):
        if profile.ip == wanted:
            if not self.check_mode:
                self.ledger.clear(self.fingerprint)
            return self._result(False, profile, before, 'the key already whitelists %s' % wanted)
        self._lockout_warning(wanted)
        if self.check_mode:
            return self._result(True, profile, before, 'would request whitelisting %s (check mode)' % wanted,
                                pending_ip=wanted)
        otp = self.params.get('otp')
        if otp:
            return self._approve(before, wanted, 'whitelist')
        pending = self._pending_ip(profile, 'whitelist')
        if pending == wanted:
            return self._result(False, profile, before,
                                'whitelisting %s already awaits approval; no new OTP was requested. Re-run with otp '
                                'set to the code emailed to the key owner' % wanted, pending_ip=wanted)
        if not self.params['request_otp']:
            raise PlanError('the key whitelists %s, not %s, and request_otp=false forbids asking for an OTP email'
                            % (before or 'no IP', wanted))
        sent = self._post(lambda: self.api.request_whitelist(wanted), 'whitelist', wanted)
        return self._result(True, profile, before,
                            'requested whitelisting %s: an OTP was emailed to the key owner. Re-run with otp set to '
                            'that code to approve it' % wanted, pending_ip=wanted, otp_sent=sent)

    def _absent(self, profile, before, wanted):
        if profile.ip != wanted:
            return self._result(False, profile, before, 'the key does not whitelist %s' % wanted)
        if self.check_mode:
            result = self._result(True, profile, before, 'would remove %s (check mode)' % wanted)
            result['ip'] = None
            result['diff']['after'] = {'ip': None}
            return result
        if self.params.get('otp'):
            return self._approve(before, None, 'remove')
        pending = self._pending_ip(profile, 'remove')
        if pending == wanted:
            return self._result(False, profile, before, 'removal of %s already awaits approval; re-run with otp'
                                % wanted, pending_ip=wanted)
        self._post(lambda: self.api.remove(wanted), 'remove', wanted)
        after = self.api.profile()
        if after.ip is None:
            self.ledger.clear(self.fingerprint)
            result = self._result(True, after, before, 'removed %s' % wanted)
            result['diff']['after'] = {'ip': None}
            return result
        # The gateway kept the IP: removal needs OTP approval on this gateway.
        return self._result(True, after, before, 'requested removal of %s: an OTP was emailed to the key owner. '
                            'Re-run with otp set to that code to approve it' % wanted, pending_ip=wanted,
                            otp_sent=True)

    def _post(self, send, action, ip):
        """Send a write that emails an OTP. Never re-sent after an ambiguous failure: that would be a
        second email. Returns whether an OTP was (probably) sent."""
        try:
            send()
        except ApiError as exc:
            if not exc.ambiguous and exc.status not in (502, 503, 504):
                raise
            # The request may have gone through. Record it so the next run does not send another.
            self.ledger.record(self.fingerprint, action, ip)
            self.warnings.append('the response to the %s request was lost (%s); the gateway may have emailed an '
                                 'OTP. It is not re-sent: check the key owner\'s inbox and re-run with otp.'
                                 % (action, exc.message))
            return True
        self.ledger.record(self.fingerprint, action, ip)
        return True

    def _approve(self, before, wanted, action):
        try:
            self.api.approve(self.params['otp'])
        except ApiError as exc:
            raise ApiError('the gateway did not accept the OTP (%s); request a new one by re-running without otp'
                           % (exc.provider_message or exc.message), method=exc.method, url=exc.url,
                           status=exc.status, error_code=exc.error_code, provider_message=exc.provider_message,
                           body_excerpt=exc.body_excerpt, tries=exc.tries)
        profile = self.api.profile()
        if profile.ip != wanted:
            raise ApiError('the OTP was accepted, but the key profile now shows %s instead of %s'
                           % (profile.ip or 'no IP', wanted or 'no IP'))
        self.ledger.clear(self.fingerprint)
        verb = 'whitelisted %s' % wanted if action == 'whitelist' else 'removed %s' % before
        result = self._result(True, profile, before, '%s (approved with the OTP)' % verb)
        return result
