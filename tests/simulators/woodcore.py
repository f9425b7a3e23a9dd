# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Woodcore Access Gateway simulator (API key IP whitelist with OTP approval).

Follows ``shared/specs`` (README Woodcore section and woodcore-gateway.openapi.json): five
paths under ``/api/v2``, bearer auth, the ``{"status": "01", ...}`` envelope. The unknowns
are named settings (``SETTINGS``, documented in docs/simulators.md). Every successful
whitelist POST "emails" an OTP: it lands in the outbox, readable at ``GET /__sim__/outbox``;
this stands in for the key owner reading their email.

Seed::

    keys:
      - {key: wc_test_..., name: payments-sandbox, owner_email: ops@example.com, ip: 203.0.113.7}
"""

from __future__ import annotations

import ipaddress
import secrets
import string
import time

from .base import Response, Simulator

PREFIX = '/api/v2'
OTP_ALPHABETS = {'alnum11': (string.ascii_lowercase + string.digits, 11), 'digits6': (string.digits, 6)}


class WoodcoreSimulator(Simulator):
    name = 'woodcore'
    SETTINGS = {
        # [U] Dotted path, inside the keyprofile ``data`` object, of the field holding the
        # whitelisted IP. The module detects it unless told (profile_ip_field option).
        'profile_ip_field': 'whitelistedIp',
        # [U] Whether keyprofile shows an IP waiting for approval, and under which field.
        'pending_visible': False,
        'profile_pending_field': 'pendingWhitelistedIp',
        # [U] Whether keyprofile echoes the API key itself (the module must mask it).
        'profile_echoes_key': True,
        # [U] OTP format: 'alnum11' (11 lowercase alphanumerics, as the docs' example) or 'digits6'.
        'otp_format': 'alnum11',
        # [U] OTP lifetime in seconds and wrong attempts allowed before the request is void.
        'otp_ttl': 600,
        'otp_attempt_limit': 5,
        # [U] The texts of refused OTPs: 'distinct' ("Invalid OTP", "OTP has expired", "Too many invalid OTP
        # attempts; request a new OTP", "No pending IP whitelist request") or 'combined' (every refusal says
        # "Invalid or expired OTP", so a client cannot tell a typo from a void request).
        'otp_error_texts': 'distinct',
        # [U] A second whitelist POST while one is pending: 'replace' (new OTP, old one void)
        # or 'reject' (400, the pending request stays).
        'second_post_while_pending': 'replace',
        # [U] Whether remove-whitelistedip needs OTP approval like a new IP does.
        'removal_requires_otp': False,
        # [U] IPv6 in ``ips``: 'reject' (400 Invalid IP format) or 'accept'.
        'ipv6': 'reject',
        # [V] Production: requests must come from the key's whitelisted IP (403 otherwise).
        # 'off', 'live' (wc_live_ keys only) or 'all'.
        'enforce_source_ip': 'off',
        'caller_ip': None,
        # [R] Fixed-window rate limit with X-RateLimit-* headers, then 429.
        'rate_limit': 100,
        'rate_limit_window': 60,
    }
    # the values of each enumerated setting above (docs/simulators.md lists them too)
    CHOICES = {
        'otp_format': ('alnum11', 'digits6'),
        'otp_error_texts': ('distinct', 'combined'),
        'second_post_while_pending': ('replace', 'reject'),
        'ipv6': ('reject', 'accept'),
        'enforce_source_ip': ('off', 'live', 'all'),
    }

    def settings_changed(self):
        self.window_start = time.time()
        self.window_count = 0

    # -- state --------------------------------------------------------------------------------

    def load_seed(self, seed):
        self.keys = {}
        self.outbox = []
        for index, item in enumerate(seed.get('keys', [])):
            self.keys[item['key']] = {
                'key': item['key'], 'name': item.get('name', 'key-%d' % (index + 1)),
                'owner_email': item.get('owner_email', 'owner%d@example.com' % (index + 1)),
                'ip': item.get('ip'), 'pending': None,
                'created': item.get('created', '2025-10-01T09:00:00Z'),
            }
        self.settings_changed()

    def snapshot(self):
        with self.lock:
            return {'keys': {k['name']: {'ip': k['ip'], 'pending_ip': (k['pending'] or {}).get('ip'),
                                         'pending_action': (k['pending'] or {}).get('action')}
                             for k in self.keys.values()},
                    'emails_sent': len(self.outbox)}

    def key_state(self, name):
        with self.lock:
            for key in self.keys.values():
                if key['name'] == name:
                    return {'ip': key['ip'], 'pending_ip': (key['pending'] or {}).get('ip')}
        raise KeyError(name)

    def emails(self, name=None):
        with self.lock:
            return [dict(e) for e in self.outbox if name is None or e['key_name'] == name]

    def extra_control(self, action, request, payload):
        if action == 'outbox' and request.method == 'GET':
            name = request.query.get('key_name')
            return Response(200, {'emails': self.emails(name)})
        if action == 'expire-otps' and request.method == 'POST':
            self.expire_otps()
            return Response(200, {'expired': True})
        return None

    def expire_otps(self):
        with self.lock:
            for key in self.keys.values():
                if key['pending']:
                    key['pending']['expires'] = 0

    def fault_body(self, status):
        return {'status': 0, 'message': 'Injected fault (HTTP %d)' % status}

    # -- helpers ------------------------------------------------------------------------------

    @staticmethod
    def _ok(message, data=None, headers=None):
        return Response(200, {'status': '01', 'message': message, 'data': data if data is not None else {}},
                        headers=headers)

    @staticmethod
    def _fail(status, body, headers=None):
        return Response(status, body, headers=headers)

    def _new_otp(self):
        alphabet, length = OTP_ALPHABETS[self.settings['otp_format']]
        return ''.join(secrets.choice(alphabet) for dummy in range(length))

    def _valid_ip(self, value):
        if not isinstance(value, str):
            return False
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            return False
        return address.version == 4 or self.settings['ipv6'] == 'accept'

    def _rate_headers(self):
        now = time.time()
        window = self.settings['rate_limit_window']
        if now - self.window_start >= window:
            self.window_start, self.window_count = now, 0
        self.window_count += 1
        limit = self.settings['rate_limit']
        remaining = max(0, limit - self.window_count)
        # header case varies in real traffic [R]; clients must not depend on it
        headers = {'X-RateLimit-Limit': str(limit), 'x-ratelimit-remaining': str(remaining),
                   'X-Ratelimit-Reset': str(int(self.window_start + window))}
        return headers, self.window_count > limit

    def _profile(self, key):
        data = {'name': key['name'], 'email': key['owner_email'],
                'environment': 'live' if key['key'].startswith('wc_live_') else 'sandbox',
                'createdAt': key['created'], 'status': 'active'}
        if self.settings['profile_echoes_key']:
            data['apiKey'] = key['key']
        self._set_path(data, self.settings['profile_ip_field'], key['ip'])
        if self.settings['pending_visible']:
            pending = key['pending'] if key['pending'] and key['pending']['action'] == 'whitelist' \
                and key['pending']['expires'] > time.time() else None  # an expired request is not shown [I]
            self._set_path(data, self.settings['profile_pending_field'], pending['ip'] if pending else None)
        return data

    @staticmethod
    def _set_path(data, dotted, value):
        parts = dotted.split('.')
        for part in parts[:-1]:
            data = data.setdefault(part, {})
        data[parts[-1]] = value

    # -- routing ------------------------------------------------------------------------------

    def route(self, request):
        path = request.raw_path
        if not path.startswith(PREFIX + '/'):
            return self._fail(404, {'status': 404, 'message': 'Route not found'})
        path = path[len(PREFIX):]
        if path == '/gateway/health' and request.method == 'GET':
            return self._ok('Success', {'status': 'healthy'})
        header = request.headers.get('Authorization', '')
        key = self.keys.get(header[7:]) if header.startswith('Bearer ') else None
        if key is None:
            return self._fail(401, {'status': 0, 'message': 'Unauthorized: invalid or missing API key'})
        headers, limited = self._rate_headers()
        if limited:
            return self._fail(429, {'status': 0, 'message': 'Too many requests'}, headers=headers)
        enforce = self.settings['enforce_source_ip']
        if key['ip'] and (enforce == 'all' or (enforce == 'live' and key['key'].startswith('wc_live_'))):
            source = self.settings['caller_ip'] or request.client_ip
            if source != key['ip']:
                return self._fail(403, {'status': '0', 'message': {
                    'message': 'Requests for this API key must come from its whitelisted IP', 'error': 'Forbidden'}},
                    headers=headers)
        if path == '/gateway/keyprofile' and request.method == 'GET':
            return self._ok('Success', self._profile(key), headers)
        if request.method != 'POST':
            return self._fail(404, {'status': 404, 'message': 'Route not found'}, headers)
        if path == '/gateway/apiKeys/ipwhitelist':
            return self._request_whitelist(request, key, headers)
        if path.startswith('/gateway/apiKeys/ipwhitelist/approve/'):
            return self._approve(path.rsplit('/', 1)[1], key, headers)
        if path == '/gateway/apiKeys/remove-whitelistedip':
            return self._remove(request, key, headers)
        return self._fail(404, {'status': 404, 'message': 'Route not found'}, headers)

    def _body_ip(self, request):
        body = request.json_or_none()
        return body.get('ips') if isinstance(body, dict) else None

    def _send_otp(self, key, action, ip):
        otp = self._new_otp()
        key['pending'] = {'action': action, 'ip': ip, 'otp': otp, 'attempts': 0,
                          'expires': time.time() + self.settings['otp_ttl']}
        self.outbox.append({'to': key['owner_email'], 'key_name': key['name'], 'action': action, 'ip': ip,
                            'otp': otp, 'sent_at': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())})

    def _request_whitelist(self, request, key, headers):
        ip = self._body_ip(request)
        if not self._valid_ip(ip):
            return self._fail(400, {'status': 0, 'message': 'Invalid IP format'}, headers)
        if key['pending'] and self.settings['second_post_while_pending'] == 'reject' \
                and key['pending']['expires'] > time.time():
            return self._fail(400, {'status': '0', 'message': 'An IP whitelist request is already awaiting approval'},
                              headers)
        self._send_otp(key, 'whitelist', ip)
        return self._ok('OTP sent successfully', {}, headers)

    def _otp_refused(self, text, headers):
        if self.settings['otp_error_texts'] == 'combined':
            text = 'Invalid or expired OTP'
        return self._fail(400, {'status': '0', 'message': {'message': text, 'error': 'Bad Request'}}, headers)

    def _approve(self, otp, key, headers):
        pending = key['pending']
        if pending is None:
            return self._otp_refused('No pending IP whitelist request', headers)
        if pending['expires'] <= time.time():
            key['pending'] = None
            return self._otp_refused('OTP has expired', headers)
        if not secrets.compare_digest(otp, pending['otp']):
            pending['attempts'] += 1
            if pending['attempts'] >= self.settings['otp_attempt_limit']:
                key['pending'] = None
                return self._otp_refused('Too many invalid OTP attempts; request a new OTP', headers)
            return self._otp_refused('Invalid OTP', headers)
        key['pending'] = None
        if pending['action'] == 'remove':
            key['ip'] = None
            return self._ok('IP removed successfully', {}, headers)
        key['ip'] = pending['ip']
        return self._ok('IP whitelisted successfully', {'ips': key['ip']}, headers)

    def _remove(self, request, key, headers):
        ip = self._body_ip(request)
        if not self._valid_ip(ip):
            return self._fail(400, {'status': 0, 'message': 'Invalid IP format'}, headers)
        if key['ip'] != ip:
            return self._fail(404, {'status': 404, 'message': 'IP address is not whitelisted for this key'}, headers)
        if self.settings['removal_requires_otp']:
            self._send_otp(key, 'remove', ip)
            return self._ok('OTP sent successfully', {}, headers)
        key['ip'] = None
        return self._ok('IP removed successfully', {}, headers)
