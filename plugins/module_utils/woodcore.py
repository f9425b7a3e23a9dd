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

import calendar
import contextlib
import fcntl
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
    PlanError, client_from_params, http_argument_spec, secret_fallback, validate_base_url, validate_http_params,
)
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.http_client import (
    ApiError, BearerAuth, Write, json_object,
)

SANDBOX_URL = 'https://spark.test.woodcore.co/api/v2'
# The original request names api.woodcoreapp.com; newer Woodcore docs name api.woodcore.co and say
# woodcoreapp.com is being retired. Override with base_url when that happens.
LIVE_URL = 'https://api.woodcoreapp.com/api/v2'
KEY_PREFIXES = ('wc_test_', 'wc_live_')
OTP_RE = re.compile(r'^[A-Za-z0-9]{4,64}\Z')  # \Z: '$' would let a trailing newline through
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


def error_hint(status, code, body):
    """What to do about a Woodcore error."""
    if status == 401:
        return ('the gateway refused the API key (bearer token): check api_key (WOODCORE_API_KEY / '
                'WOODCORE_API_KEY_FILE); wc_test_ keys work on the sandbox gateway, wc_live_ keys on production')
    if status == 403:
        return ('a live key answers only calls from its whitelisted IP: run from that address, or have the key owner '
                'change it')
    return None


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
    if not re.match(r'^\S+\Z', key[len('wc_test_'):]):  # \Z: '$' would let a trailing line break through
        raise PlanError('api_key is only a key prefix, or contains whitespace; its value is not shown')
    if params.get('base_url'):
        parts = validate_base_url(params['base_url'], params.get('allow_http'))
        path = parts.path.rstrip('/')
        if not path or path.endswith('/gateway') or '/gateway/' in path:
            right = '%s://%s%s/api/v2' % (parts.scheme, parts.netloc, path.split('/gateway')[0] if path else '')
            raise PlanError('base_url %r is not the API root: Woodcore serves its API under /api/v2, and the module '
                            'adds the /gateway/... paths itself. Use %s' % (params['base_url'], right))


def validate_ip(value, state='present', allow_ipv6=False, allow_private=False):
    """The one IP of a key, canonical; refuses (naming it) an address no gateway sees as a caller.

    Only for state=present: removing whatever the key has must stay possible."""
    address = addresses.parse_single_address(value, allow_ipv6=allow_ipv6)
    problem = addresses.egress_problem(address, allow_private=allow_private) if state == 'present' else None
    if problem:
        raise PlanError('ip %r %s: it can never be the address the gateway sees this automation call from, so '
                        'whitelisting it would lock the key' % (value, problem))
    return str(address)


def normalise_otp(otp, label='otp'):
    """The OTP as the text that goes into the approve path, or None; raises PlanError naming ``label`` and the
    type, never the value.

    The format is undocumented [U] (the docs' example is 11 lowercase letters and digits), so an all-digit OTP
    is plausible, and YAML, extra vars and survey integer fields hand one over as a number: it is taken as its
    decimal digits, as Ansible does for a str option. Surrounding whitespace (a pasted line) is dropped."""
    if otp is None:
        return None
    if isinstance(otp, bool) or not isinstance(otp, (str, int)):
        raise PlanError('%s must be text (letters and digits), got a %s; quote it. Nothing was sent (the value is not '
                        'shown)' % (label, type(otp).__name__))
    text = str(otp).strip()
    if not OTP_RE.match(text):
        raise PlanError('%s must be 4 to 64 letters or digits; the value given is not (it is not shown)' % label)
    return text


def validate_otp(otp, label='otp'):
    """Check an OTP before any request; returns it normalised (see :func:`normalise_otp`)."""
    return normalise_otp(otp, label)


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
    """The gateway calls of one key. Every write is journaled under the key's fingerprint (``scope``)."""

    def __init__(self, client, ip_field=None, pending_field=None, scope=None):
        self.client = client
        self.ip_field = ip_field
        self.pending_field = pending_field
        self.scope = scope

    def profile(self):
        body = self.client.read_json(self.client.request('GET', '/gateway/keyprofile'))
        return Profile(body.get('data') if isinstance(body, dict) else None, self.ip_field, self.pending_field)

    def request_whitelist(self, ip):
        # Only 429 is retried: a gateway error after the POST may mean an email went out.
        self.client.request('POST', '/gateway/apiKeys/ipwhitelist', json={'ips': ip}, retry_statuses=(429,),
                            write=Write(self.scope, 'request_otp', [ip]))

    def approve(self, otp, ip):
        """Approve the pending request (for ``ip``: a new IP, or the removal of one) with its OTP."""
        self.client.add_secret(otp)
        self.client.request('POST', '/gateway/apiKeys/ipwhitelist/approve/%s' % otp, retry_statuses=(429,),
                            write=Write(self.scope, 'approve', [ip]))

    def remove(self, ip):
        body = self.client.read_json(self.client.request(
            'POST', '/gateway/apiKeys/remove-whitelistedip', json={'ips': ip}, retry_statuses=(429,),
            write=Write(self.scope, 'request_removal', [ip])))
        return body if isinstance(body, dict) else {}


def build_api(params, **client_kwargs):
    client = client_from_params(
        params, base_url_for(params), auth=BearerAuth(params['api_key']), error_parser=error_parser,
        error_hint=error_hint,
        headers={'Accept': 'application/json'}, redact_patterns=[(OTP_PATH_RE, r'\1********')], **client_kwargs)
    client.add_secret(params['api_key'])
    if params.get('otp') is not None:
        client.add_secret(str(params['otp']).strip())  # as sent (an int, a pasted line: see normalise_otp)
    return WoodcoreApi(client, params.get('profile_ip_field'), params.get('profile_pending_field'),
                       scope=key_fingerprint(params['api_key']))


# -- pending requests -------------------------------------------------------------------------
#
# A request waiting for approval is described by a small record that never holds the key or the OTP:
#   {key_fingerprint, action: whitelist|remove, ip, requested_at: 2026-12-02T10:00:00Z}
# The module returns it (pending_request), takes it back as an option (an earlier AWX job's
# artifact), and keeps it in a local file (pending_state_path) for runs on the same machine.

PENDING_ACTIONS = ('whitelist', 'remove')
PENDING_FIELDS = ('key_fingerprint', 'action', 'ip', 'requested_at')
TIME_FORMAT = '%Y-%m-%dT%H:%M:%SZ'


def pending_request_spec():
    """Argspec of a handed-in pending request (``pending_request``, fleet ``woodcore_pending_requests``)."""
    return dict(
        key_fingerprint=dict(type='str', required=True, no_log=False),
        action=dict(type='str', required=True, choices=list(PENDING_ACTIONS)),
        ip=dict(type='str', required=True),
        requested_at=dict(type='str', required=True),
    )


def format_time(epoch):
    return time.strftime(TIME_FORMAT, time.gmtime(epoch))


def record_time(record):
    """Epoch seconds of a record's ``requested_at`` (ISO 8601 UTC, or epoch seconds in old files); None if unknown."""
    value = (record or {}).get('requested_at')
    if isinstance(value, (int, float)):
        return float(value)
    if not value:
        return None
    try:
        return float(calendar.timegm(time.strptime(str(value), TIME_FORMAT)))
    except ValueError:
        return None


def new_record(fingerprint, action, ip, epoch):
    return dict(key_fingerprint=fingerprint, action=action, ip=ip, requested_at=format_time(epoch))


def parse_pending_request(data, label='pending_request'):
    """Validate a handed-in record; returns it normalised, or None. Raises PlanError naming the bad field."""
    if not data:
        return None
    if not isinstance(data, dict):
        raise PlanError('%s must be the pending_request dict an earlier run returned, got %s'
                        % (label, type(data).__name__))
    missing = [f for f in PENDING_FIELDS if not data.get(f)]
    if missing:
        raise PlanError('%s has no %s; pass the pending_request an earlier run returned, unchanged'
                        % (label, ', '.join(missing)))
    if data['action'] not in PENDING_ACTIONS:
        raise PlanError('%s.action is %r; it must be one of %s' % (label, data['action'], ', '.join(PENDING_ACTIONS)))
    try:
        ip = str(addresses.parse_single_address(str(data['ip']), allow_ipv6=True))
    except addresses.AddressError as exc:
        raise PlanError('%s.ip: %s' % (label, exc))
    epoch = record_time(data)
    if epoch is None:
        raise PlanError('%s.requested_at %r is not a UTC time like 2026-12-02T10:00:00Z'
                        % (label, data['requested_at']))
    return new_record(str(data['key_fingerprint']), data['action'], ip, epoch)


class PendingLedger(object):
    """The local record of requests this collection made, keyed by key fingerprint.

    Whether keyprofile shows a pending IP is unknown; without a record a re-run would email a second
    OTP (which may void the first). Every read-modify-write holds an exclusive ``flock`` on a lock file
    beside the record, so concurrent runs (processes, or fleet threads) neither lose a record nor both
    decide to send: ``claim`` checks and records a request in one step, before it is sent.
    """

    _thread_lock = threading.Lock()
    LOCK_WAIT = 30.0     # seconds another run may hold the record before this one gives up (nothing sent)
    LOCK_RECHECK = 0.05

    def __init__(self, path, clock=time.time, lock_wait=None):
        self.path = os.path.expanduser(path) if path else None
        self.clock = clock
        self.lock_wait = self.LOCK_WAIT if lock_wait is None else lock_wait

    @contextlib.contextmanager
    def _locked(self):
        with self._thread_lock:
            if not self.path:
                yield
                return
            directory = os.path.dirname(self.path) or '.'
            try:
                os.makedirs(directory, mode=0o700, exist_ok=True)
                handle = os.open(self.path + '.lock', os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as exc:
                raise PlanError('cannot open the pending OTP record %s: %s (set pending_state_path)' % (self.path, exc))
            try:
                self._flock(handle)
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
                os.close(handle)

    def _flock(self, handle):
        """The exclusive lock, waited for at most ``lock_wait`` seconds: every wait is bounded."""
        deadline = time.monotonic() + self.lock_wait
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except (BlockingIOError, PermissionError):
                if time.monotonic() >= deadline:  # the caller's finally unlocks nothing and closes the handle
                    raise PlanError('another run has held the pending OTP record %s for more than %ss; nothing was '
                                    'sent. Re-run when it is done (or set pending_state_path)'
                                    % (self.path, self.lock_wait))
                time.sleep(self.LOCK_RECHECK)

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
            handle, tmp = tempfile.mkstemp(prefix='.pending.', dir=directory)
            with os.fdopen(handle, 'w') as out:
                json.dump(data, out, indent=1, sort_keys=True)
            os.replace(tmp, self.path)
        except OSError as exc:
            raise PlanError('cannot write the pending OTP record %s: %s (set pending_state_path)' % (self.path, exc))

    @staticmethod
    def _normalise(fingerprint, entry):
        if not isinstance(entry, dict) or entry.get('action') not in PENDING_ACTIONS or not entry.get('ip'):
            return None
        epoch = record_time(entry)
        return new_record(fingerprint, entry['action'], entry['ip'], epoch if epoch is not None else 0)

    def get(self, fingerprint):
        if not self.path or not os.path.exists(self.path):
            return None  # nothing recorded; reading creates no directory or lock file (check mode writes nothing)
        with self._locked():
            return self._normalise(fingerprint, self._load().get(fingerprint))

    def claim(self, fingerprint, action, ip, max_age):
        """Record a request about to be sent, unless the same one is already pending (younger than
        ``max_age`` s). Returns (record, claimed): claimed is False when another run got there first."""
        with self._locked():
            data = self._load()
            current = self._normalise(fingerprint, data.get(fingerprint))
            if current and current['action'] == action and current['ip'] == ip \
                    and self.clock() - record_time(current) < max_age:
                return current, False
            record = new_record(fingerprint, action, ip, self.clock())
            data[fingerprint] = record
            self._save(data)
            return record, True

    def clear(self, fingerprint, only=None):
        """Forget the key's pending request (only ``only``, when given and still the one recorded)."""
        with self._locked():
            data = self._load()
            current = data.get(fingerprint)
            if current is None or (only is not None and self._normalise(fingerprint, current) != only):
                return
            del data[fingerprint]
            self._save(data)


# -- OTP refusals ---------------------------------------------------------------------------------
# The gateway's texts for a refused OTP are not documented [U]. A void request (expired OTP, too many
# attempts, nothing pending) needs a new OTP; a mistyped OTP must not cost one (a new request may void
# the good OTP). When the text does not say which, neither is assumed.

_SPENT = ('too many', 'attempts')
_VOID = ('expire', 'no pending', 'not pending', 'nothing pending', 'no request', 'no ip whitelist request')
_WRONG = ('invalid', 'incorrect', 'wrong', 'mismatch', 'not match')


def otp_refusal_kind(message):
    """'void', 'wrong' or 'unknown' for the gateway's reason text."""
    text = (message or '').lower()
    if any(w in text for w in _SPENT):
        return 'void'
    void = any(w in text for w in _VOID)
    wrong = any(w in text for w in _WRONG)
    if void and not wrong:
        return 'void'
    if wrong and not void:
        return 'wrong'
    return 'unknown'


# -- converge ---------------------------------------------------------------------------------

def _what(action, ip):
    return 'whitelisting %s' % ip if action == 'whitelist' else 'removal of %s' % ip


def _is_otp_refusal(status):
    """Whether an HTTP status answering the approve is the gateway's verdict on the OTP. 401/403 refuse the
    caller, 429 and 5xx say the gateway did not get to it, no status says it never arrived."""
    return status is not None and 400 <= status < 500 and status not in (401, 403, 407, 429)


class Converger(object):
    """The two-phase flow for one key. ``run()`` returns the module result.

    Every write is journaled by the client (``api.client.journal``, under the key's fingerprint): ``changed``
    of a real run comes from there, on success here and on failure through the error boundary
    (``common.TargetRun``). Check mode takes the same decisions as the real run and stops where the real run
    would write, so it predicts it. Failures are raised (ApiError / PlanError) carrying ``warnings`` and
    ``partial`` (``pending_request`` as it now stands, ``ip`` when known), so that a failed run still says
    where the key stands.
    """

    def __init__(self, api, params, check_mode=False, ledger=None, clock=time.time):
        self.api = api
        self.params = params
        self.check_mode = check_mode
        self.ledger = ledger or PendingLedger(None)
        self.clock = clock
        self.fingerprint = key_fingerprint(params['api_key'])
        self.masked = mask_key(params['api_key'])
        self.live = params['api_key'].startswith('wc_live_')
        self.otp = normalise_otp(params.get('otp'))  # the fleet hands OTPs over as given (an int, say)
        self.warnings = []
        self.handed_in = parse_pending_request(params.get('pending_request'))
        if self.handed_in and self.handed_in['key_fingerprint'] != self.fingerprint:
            self.warnings.append('the pending_request given is for another key (fingerprint %s, this key is %s); '
                                 'it was ignored' % (self.handed_in['key_fingerprint'], self.fingerprint))
            self.handed_in = None

    # -- what is pending

    def known_pending(self, profile=None):
        """(record, source) of the request known to wait for approval, or (None, None). The gateway's
        own pending field wins; else the newest of the handed-in record and the local one."""
        candidates = []
        if self.handed_in:
            candidates.append((self.handed_in, 'the pending_request handed in'))
        local = self.ledger.get(self.fingerprint)
        if local:
            candidates.append((local, 'the local record %s' % self.ledger.path))
        if profile is not None and profile.pending_ip:
            # keep the request time of a matching record; else the time it was seen
            epochs = [record_time(r) for r, _s in candidates if r['action'] == 'whitelist' and r['ip'] ==
                      profile.pending_ip]
            return new_record(self.fingerprint, 'whitelist', profile.pending_ip,
                              epochs[0] if epochs else self.clock()), 'the key profile'
        if not candidates:
            return None, None
        return max(candidates, key=lambda c: record_time(c[0]) or 0)

    def _fresh(self, record, source):
        """Whether a known request still counts as pending. resend_after=0 always asks for a new OTP."""
        if self.params['resend_after'] == 0:
            return False
        return source == 'the key profile' or self.clock() - record_time(record) < self.params['resend_after']

    def _check_otp_target(self, known, source, action, wanted):
        """An OTP approves whatever request it was emailed for: refuse one meant for another IP."""
        if known is None or (known['action'] == action and known['ip'] == wanted):
            return
        raise PlanError(
            'refusing to send the OTP: the request waiting for approval on key %s is %s (known from %s), not %s, '
            'and the OTP would approve that one. Nothing was sent. To approve %s, re-run with ip=%s and the OTP; '
            'to change to %s instead, re-run with ip=%s and no otp, which requests a new OTP for it'
            % (self.masked, _what(known['action'], known['ip']), source, _what(action, wanted), known['ip'],
               known['ip'], wanted, wanted))

    def _settle(self, action, ip, applied):
        """A write of unknown outcome, seen in a re-read of the profile: done, or not applied."""
        self.api.client.journal.settle(self.api.scope, action, [ip] if applied else [])

    # -- result

    def _result(self, changed, ip, ip_field, before, msg, pending=None, otp_sent=False, after=None):
        """``changed`` is the flow's own view, for the diff and check mode; a real run's comes from the journal."""
        return dict(changed=changed, ip=ip, pending_ip=pending['ip'] if pending else None,
                    pending_approval=pending is not None, pending_request=pending, otp_sent=otp_sent, msg=msg,
                    profile_ip_field=ip_field,
                    diff=dict(before={'ip': before}, after={'ip': after if changed else ip}),
                    warnings=self.warnings)

    def _lockout_guard(self, action, before, wanted):
        if not self.live:
            return
        if action == 'whitelist':
            what = 'change the whitelisted IP of live key %s from %s to %s' % (self.masked, before or 'no IP', wanted)
            after = 'once %s is approved, only %s can call the key' % (wanted, wanted)
        else:
            what = 'remove %s, the whitelisted IP of live key %s' % (wanted, self.masked)
            after = 'once the removal is approved, no address can call the key'
        if not self.params.get('allow_lockout'):
            raise PlanError(
                'refusing to %s: a live key answers only calls from its whitelisted IP, so %s, and this automation '
                'is locked out of the key unless that is its own egress address. No change was requested. Set '
                'allow_lockout=true if that is intended' % (what, after))
        self.warnings.append(
            'allow_lockout=true: about to %s; %s. If that is not the egress address of this automation, it is '
            'locked out of the key.' % (what, after))

    # -- flow

    def run(self):
        """The flow's result; outside check mode the error boundary (common.TargetRun) takes ``changed`` from the
        journal, on success and on failure."""
        try:
            return self._run()
        except (ApiError, PlanError) as exc:
            exc.warnings = list(self.warnings)  # warnings reach the user on failures too
            raise

    def _run(self):
        wanted = self.params['ip']
        action = 'whitelist' if self.params['state'] == 'present' else 'remove'
        otp = self.otp
        if otp:
            # before any request, in check mode too (it predicts the refusal): what this run knows without asking
            self._check_otp_target(*(self.known_pending() + (action, wanted)))
        profile = self.api.profile()
        before = profile.ip
        if action == 'whitelist' and before == wanted:
            if not self.check_mode:
                self.ledger.clear(self.fingerprint)
            return self._result(False, before, profile.ip_field, before, 'the key already whitelists %s' % wanted)
        if action == 'remove' and before != wanted:
            if not self.check_mode:
                self._forget_removal(wanted)
            return self._result(False, before, profile.ip_field, before, 'the key does not whitelist %s' % wanted)
        self._lockout_guard(action, before, wanted)
        known, source = self.known_pending(profile)
        if otp:
            self._check_otp_target(known, source, action, wanted)
            if self.check_mode:
                target = wanted if action == 'whitelist' else None
                return self._result(True, before if action == 'whitelist' else None, profile.ip_field, before,
                                    'would approve %s with the OTP given (check mode)' % _what(action, wanted),
                                    after=target)
            return self._approve(profile, action, wanted, known)
        return self._request(profile, action, wanted, known, source)

    def _forget_removal(self, wanted):
        """The key no longer has ``wanted``: a local record of its removal is done with."""
        local = self.ledger.get(self.fingerprint)
        if local and local['action'] == 'remove' and local['ip'] == wanted:
            self.ledger.clear(self.fingerprint, only=local)

    def _request(self, profile, action, wanted, known, source):
        """Request a new IP or a removal: the same decisions in check mode, which stops before the claim."""
        before = profile.ip
        what = _what(action, wanted)
        if known and known['action'] == action and known['ip'] == wanted and self._fresh(known, source):
            return self._result(False, before, profile.ip_field, before,
                                '%s already awaits approval (known from %s); no new OTP was requested. Re-run with '
                                'otp set to the code emailed to the key owner. If that OTP expired or never arrived, '
                                're-run with resend_after=0 to request a new one' % (what, source), pending=known)
        if not self.params['request_otp']:
            if action == 'whitelist':
                raise PlanError('the key whitelists %s, not %s, and request_otp=false forbids asking for an OTP email. '
                                'Nothing was sent' % (before or 'no IP', wanted))
            # whether a removal needs approval is not documented [U]: its request may email an OTP too
            raise PlanError('refusing to request the removal of %s: request_otp=false forbids asking for an OTP '
                            'email, and the gateway may email one to approve a removal. Nothing was sent. Approve a '
                            'removal already requested with its otp, or set request_otp=true' % wanted)
        if self.check_mode:
            if action == 'whitelist':
                return self._result(True, before, profile.ip_field, before,
                                    'would request an OTP for whitelisting %s (check mode)' % wanted, after=wanted)
            # a removal needs no OTP on some gateways, so check mode shows its end state
            return self._result(True, None, profile.ip_field, before,
                                'would request the removal of %s (the gateway removes it at once, or emails an OTP to '
                                'approve it) (check mode)' % wanted, after=None)
        record, claimed = self.ledger.claim(self.fingerprint, action, wanted, self.params['resend_after'])
        if not claimed:  # a concurrent run has just requested the same
            return self._result(False, before, profile.ip_field, before,
                                '%s already awaits approval (requested by a concurrent run); no new OTP was '
                                'requested' % what, pending=record)
        send = self.api.request_whitelist if action == 'whitelist' else self.api.remove
        acknowledged = self._send(lambda: send(wanted), record, action)
        if action == 'whitelist':
            return self._result(True, before, profile.ip_field, before,
                                'requested whitelisting %s: an OTP was emailed to the key owner. Re-run with otp set '
                                'to that code to approve it' % wanted, pending=record, otp_sent=True, after=wanted)
        try:
            after = self.api.profile()
        except ApiError as exc:
            return self._removal_unverified(exc, profile, wanted, record, acknowledged)
        if after.ip is None:
            self._settle('request_removal', wanted, applied=True)
            self.ledger.clear(self.fingerprint)
            return self._result(True, None, after.ip_field, before, 'removed %s' % wanted, after=None)
        # The gateway kept the IP: removal needs OTP approval on this gateway.
        return self._result(True, after.ip, after.ip_field, before,
                            'requested removal of %s: an OTP was emailed to the key owner. Re-run with otp set to '
                            'that code to approve it' % wanted, pending=record, otp_sent=True, after=None)

    def _removal_unverified(self, exc, profile, wanted, record, acknowledged):
        """The removal was sent, and the profile read after it failed."""
        sent = 'the gateway acknowledged it' if acknowledged else 'its answer was lost'
        if exc.status == 403:
            # The read before the removal was answered, so the key let this controller in; refused now, it no
            # longer has the controller's IP: the removal took effect (as after an approval, see _approve).
            self._settle('request_removal', wanted, applied=True)
            self.ledger.clear(self.fingerprint)
            self.warnings.append(
                'key %s: after the removal the gateway refuses this controller (HTTP 403 on the verifying read): the '
                'key whitelists no address now, so this automation is locked out of it.' % self.masked)
            result = self._result(True, None, profile.ip_field, profile.ip,
                                  'removed %s (%s). This controller is now locked out of the key: the profile read '
                                  'before the removal was answered, the verifying read after it was refused (HTTP '
                                  '403)' % (wanted, sent), after=None)
            result.update(locked_out=True)
            return result
        exc.args = ('requested the removal of %s (%s), but the verifying read failed: %s. Whether the key still '
                    'whitelists %s is not known: the gateway removes an IP at once, or emails an OTP to the key '
                    'owner to approve the removal. Nothing more was sent: re-run to see (the re-run reads the key, '
                    'and requests no second removal within resend_after seconds)'
                    % (wanted, sent, exc.message, wanted),)
        exc.partial = dict(pending_request=record)  # in case the gateway emailed an OTP for it
        raise exc

    def _send(self, send, record, action):
        """Send a write that may email an OTP; returns whether the gateway acknowledged it. Never re-sent
        when its outcome is unknown (the client's verdict, also the journal's): that could be a second
        email; the claim stays, so the next run waits for the OTP instead."""
        try:
            send()
        except ApiError as exc:
            if not exc.outcome_unknown:
                self.ledger.clear(self.fingerprint, only=record)  # refused, or never arrived: nothing is pending
                raise
            self.warnings.append('the response to the %s request was lost (%s); the gateway may have emailed an '
                                 'OTP. It is not re-sent: check the key owner\'s inbox and re-run with otp.'
                                 % (action, exc.message))
            return False
        return True

    def _approve(self, profile, action, wanted, known):
        before = profile.ip
        target = wanted if action == 'whitelist' else None
        lost = None
        try:
            self.api.approve(self.otp, wanted)
        except ApiError as exc:
            if not exc.outcome_unknown:
                raise self._refused(exc, action, wanted, known)
            # a lost answer or a 500/502/504: the approval may have been applied; the profile read below says
            lost = exc
        else:
            self.ledger.clear(self.fingerprint)  # the OTP was accepted: nothing is pending any more
        done = 'whitelisted %s' % wanted if action == 'whitelist' else 'removed %s' % wanted
        checked = '' if known else (' The IP could not be checked before approving: no pending request was known '
                                    '(no local record, none handed in, none shown by the key profile).')
        how = ('approved with the OTP' if lost is None else
               'approved with the OTP: the answer to the approval was lost (%s), and the key profile read afterwards '
               'shows it was applied' % lost.message)
        try:
            after = self.api.profile()
        except ApiError as exc:
            if exc.status != 403:
                if lost is not None:
                    raise self._approval_unknown(lost, exc, action, wanted, known)
                exc.args = ('the OTP was accepted, so the key has changed, but the verifying read failed: %s'
                            % exc.message,)
                exc.partial = dict(pending_request=None)
                raise
            if lost is not None:
                # the key let this controller in before the approval and refuses it after: the approval was applied
                self._settle('approve', wanted, applied=True)
                self.ledger.clear(self.fingerprint)
                how = 'approved with the OTP: the answer to the approval was lost (%s)' % lost.message
            self.warnings.append(
                'key %s: after the approval the gateway refuses this controller (HTTP 403 on the verifying read): '
                'the key answers only calls from %s now, so this automation is locked out of it.'
                % (self.masked, target or 'no address'))
            result = self._result(True, target, profile.ip_field, before,
                                  '%s (%s). This controller is now locked out of the key: the verifying read was '
                                  'refused (HTTP 403).%s' % (done, how, checked), after=target)
            result.update(locked_out=True, approval_checked=bool(known))
            return result
        if lost is not None:
            if after.ip == target:
                self._settle('approve', wanted, applied=True)
                self.ledger.clear(self.fingerprint)
            elif after.ip == before:
                self._settle('approve', wanted, applied=False)
                raise self._approval_not_applied(lost, after, action, wanted, known)
            # else: the key changed, but not to what was wanted; the journal keeps the approval unknown
        if after.ip != target:
            exc = ApiError('the OTP was %s, but the key profile now shows that the key whitelists %s, not %s%s'
                           % ('accepted' if lost is None else 'sent and its answer was lost (%s)' % lost.message,
                              after.ip or 'no IP', target or 'no IP',
                              ' (the OTP approved another request)' if not known else ''))
            exc.partial = dict(ip=after.ip, pending_request=None if lost is None else known)
            raise exc
        result = self._result(True, after.ip, after.ip_field, before, '%s (%s).%s' % (done, how, checked),
                              after=target)
        result.update(locked_out=False, approval_checked=bool(known))
        return result

    def _approval_unknown(self, lost, read_error, action, wanted, known):
        """The approval's answer was lost, and so was the read that would have told what it did."""
        error = ApiError(
            'the answer to the approval of %s was lost (%s), and the key profile could not be read afterwards (%s): '
            'whether the approval was applied is unknown. Do not request a new OTP: re-run with the same otp. The '
            're-run reads the key first: if the approval was applied it says so and sends nothing, otherwise it '
            'approves with that OTP' % (_what(action, wanted), lost.message, read_error.message),
            method=lost.method, url=lost.url, status=lost.status, error_code=lost.error_code,
            provider_message=lost.provider_message, body_excerpt=lost.body_excerpt, tries=lost.tries,
            ambiguous=True)
        error.partial = dict(pending_request=known)
        return error

    def _approval_not_applied(self, lost, after, action, wanted, known):
        """The approval's answer was lost, and the profile shows the key as it was before."""
        still = ' The key profile still shows %s pending.' % after.pending_ip if after.pending_ip == wanted else ''
        error = ApiError(
            'the answer to the approval of %s was lost (%s), and the key profile read afterwards still shows %s: '
            'the approval was not applied.%s The OTP may have been used up by that attempt, or may still be valid: '
            're-run with the same otp first; only if the gateway then refuses it as expired or void, re-run without '
            'otp to request a new one' % (_what(action, wanted), lost.message,
                                          'the key whitelisting %s' % after.ip if after.ip else 'no whitelisted IP',
                                          still),
            method=lost.method, url=lost.url, status=lost.status, error_code=lost.error_code,
            provider_message=lost.provider_message, body_excerpt=lost.body_excerpt, tries=lost.tries)
        error.partial = dict(ip=after.ip, pending_request=known)
        return error

    def _refused(self, exc, action, wanted, known):
        what = _what(action, wanted)
        if not _is_otp_refusal(exc.status):
            # not a verdict on the OTP: the gateway did not get to it (or refused the caller)
            error = ApiError('the approval of %s was not processed: %s. The OTP was not used up by it: re-run with '
                             'the same otp (once that is resolved)' % (what, exc.message), method=exc.method,
                             url=exc.url, status=exc.status, error_code=exc.error_code,
                             provider_message=exc.provider_message, body_excerpt=exc.body_excerpt, tries=exc.tries)
            error.partial = dict(pending_request=known)
            return error
        reason = exc.provider_message or exc.message
        kind = otp_refusal_kind(exc.provider_message)
        pending = known
        if kind == 'wrong':
            msg = ('the gateway refused the OTP (%s). The request for %s stays pending: re-run with the correct OTP'
                   % (reason, what))
        elif kind == 'void':
            self.ledger.clear(self.fingerprint)
            pending = None
            msg = ('the gateway refused the OTP (%s): the request for %s is void, and the pending record was cleared. '
                   'Re-run without otp to request a new OTP (one new email), then approve with that one'
                   % (reason, what))
        else:
            msg = ('the gateway refused the OTP (%s). If the OTP was mistyped, re-run with the correct one. If it '
                   'expired or too many attempts were made, re-run without otp and with resend_after=0 to request a '
                   'new OTP for %s' % (reason, what))
        if kind != 'void' and self.otp.isdigit():
            # a number has no leading zeros: 012345 unquoted in YAML (octal, even), extra vars or a survey is not it
            msg += ('. An OTP of digits only that was written unquoted (YAML, extra vars) or in a survey integer field '
                    'has lost any leading zeros: quote it')
        error = ApiError(msg, method=exc.method, url=exc.url, status=exc.status, error_code=exc.error_code,
                         provider_message=exc.provider_message, body_excerpt=exc.body_excerpt, tries=exc.tries)
        error.partial = dict(pending_request=pending)
        return error
