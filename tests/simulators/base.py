# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Shared machinery of the API simulators: a threaded loopback HTTP/1.1 server, a request
log, fault injection, HTTP Digest verification and the reserved control path.

Control path: everything under ``/__sim__/`` is the simulator's own API (no auth), which
can never collide with a real API path (those all start with ``/api/``):

* ``GET  /__sim__/log``       request log ``[{method, path, status}]`` and counters (``max_in_flight``: the
                               most API requests answered at once)
* ``POST /__sim__/reset``     back to the seed, log cleared (body: optional new seed)
* ``GET|POST /__sim__/settings``  read or update named settings (JSON object)
* ``POST /__sim__/faults``    queue faults (JSON list, see :class:`Fault`)
* ``GET  /__sim__/state``     the whole state, for assertions
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import secrets
import socket
import ssl
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

CONTROL_PREFIX = '/__sim__/'


class Request(object):
    def __init__(self, method, raw_path, headers, body, client_ip):
        self.method = method
        parts = urlsplit(raw_path)
        self.raw_path = parts.path  # still percent-encoded; routes decode segments exactly once
        self.query_pairs = parse_qsl(parts.query, keep_blank_values=True)  # in order, repeated names kept
        self.query = dict(self.query_pairs)
        self.headers = headers
        self.body = body
        self.client_ip = client_ip

    def json(self):
        return json.loads(self.body.decode('utf-8'))

    def json_or_none(self):
        """The parsed body, or None when it is not JSON (routes answer that with their own 400)."""
        try:
            return self.json()
        except ValueError:
            return None


class Response(object):
    def __init__(self, status, body=None, headers=None, content_type='application/json'):
        self.status = status
        self.headers = dict(headers or {})
        if body is None:
            self.body = b''
        elif isinstance(body, bytes):
            self.body = body
        else:
            self.body = json.dumps(body).encode('utf-8')
        if content_type:
            self.headers.setdefault('Content-Type', content_type)


class Fault(object):
    """One injected fault.

    kind: ``status`` (answer ``status`` with ``headers``/``body`` without acting),
    ``reset_before`` (drop the connection without acting), ``reset_after`` (act, then drop
    the connection: the response is lost), ``latency`` (sleep ``seconds`` then act normally),
    ``slow_response`` (act at once, then sleep ``seconds`` before answering: what was read or
    written is fixed before the wait, so concurrent clients really interleave).
    A ``status`` fault's JSON body may contain ``{bearer}``, replaced by the request's own token.
    With ``content_type`` (``status`` and ``status_after``), ``body`` is sent as it is (text or bytes)
    under that Content-Type instead of as JSON: a captive portal's or a proxy's HTML page answering
    200, for example; ``{bearer}`` in a text body is replaced too.
    It applies to requests whose method and path match (``method`` exact, ``path`` regex
    searched in the raw path), after ``skip`` matching requests, ``times`` times.
    """

    KINDS = ('status', 'status_after', 'reset_before', 'reset_after', 'latency', 'slow_response')

    def __init__(self, kind, method=None, path=None, times=1, skip=0, status=503, headers=None, body=None,
                 seconds=0.0, content_type=None):
        if kind not in self.KINDS:
            raise ValueError('unknown fault kind %r (one of %s)' % (kind, ', '.join(self.KINDS)))
        if content_type is not None and not isinstance(body, (str, bytes)):
            raise ValueError('a fault with a content_type answers a text body, got %s' % type(body).__name__)
        self.kind = kind
        self.method = method
        self.path = re.compile(path) if path else None
        self.times = times
        self.skip = skip
        self.status = status
        self.headers = headers or {}
        self.body = body
        self.seconds = seconds
        self.content_type = content_type

    def response(self, request, default_body):
        """The answer of a ``status`` or ``status_after`` fault to ``request``."""
        body = self.body if self.body is not None else default_body
        token = (request.headers.get('Authorization') or '').partition(' ')[2]
        if self.content_type is not None:  # raw text under its own Content-Type
            if isinstance(body, str):
                body = body.replace('{bearer}', token).encode('utf-8')
            return Response(self.status, body, headers=self.headers, content_type=self.content_type)
        if isinstance(body, dict):  # '{bearer}' echoes the request's own token back, as a leaky server might
            body = json.dumps(body).replace('{bearer}', token).encode('utf-8')
        return Response(self.status, body, headers=self.headers)

    def matches(self, request):
        if self.method and request.method != self.method:
            return False
        if self.path and not self.path.search(request.raw_path):
            return False
        return True


class DigestVerifier(object):
    """Server side of RFC 7616 digest (MD5, qop=auth), as Atlas serves it. Every challenge carries a fresh
    nonce. ``policy`` says how often a nonce may serve ([U] for Atlas): 'reuse' (any number of requests, any
    nonce count), 'increasing_nc' (each request's nc above every nc seen with that nonce, as RFC 7616 lets a
    server demand against replays) or 'single_use' (one request per nonce). A refused nonce is answered with
    a fresh challenge, ``stale=true``."""

    def __init__(self, realm, policy='reuse'):
        self.realm = realm
        self.policy = policy
        self.opaque = secrets.token_hex(8)
        self.nonces = {}       # nonce -> the highest nonce count seen with it (0: none yet)
        self.stale = False     # the last refusal was a known nonce used beyond the policy
        self.lock = threading.Lock()

    def challenge(self):
        nonce = secrets.token_hex(16)
        with self.lock:
            self.nonces[nonce] = 0
            stale, self.stale = self.stale, False
        return ('Digest realm="%s", domain="", nonce="%s", opaque="%s", algorithm=MD5, qop="auth", stale=%s'
                % (self.realm, nonce, self.opaque, 'true' if stale else 'false'))

    @staticmethod
    def parse(header):
        if not header or not header.startswith('Digest '):
            return None
        return dict((k, v1 or v2) for k, v1, v2 in re.findall(r'(\w+)=(?:"([^"]*)"|([^,\s]*))', header[7:]))

    def verify(self, method, header, password_for):
        """Return the username when the header is a valid digest response, else None."""
        fields = self.parse(header)
        if not fields or fields.get('realm') != self.realm or fields.get('nonce') not in self.nonces:
            return None
        password = password_for(fields.get('username'))
        if password is None:
            return None

        def md5(text):
            return hashlib.md5(text.encode('utf-8')).hexdigest()  # nosec - the protocol's own hash

        nonce = fields['nonce']
        ha1 = md5('%s:%s:%s' % (fields['username'], self.realm, password))
        ha2 = md5('%s:%s' % (method, fields.get('uri', '')))
        expected = md5('%s:%s:%s:%s:%s:%s' % (ha1, nonce, fields.get('nc', ''), fields.get('cnonce', ''),
                                              fields.get('qop', ''), ha2))
        if not secrets.compare_digest(expected, fields.get('response', '')):
            return None
        try:
            count = int(fields.get('nc', ''), 16)
        except ValueError:
            return None
        with self.lock:
            seen = self.nonces[nonce]
            if (self.policy == 'increasing_nc' and count <= seen) or (self.policy == 'single_use' and seen):
                self.stale = True
                return None
            self.nonces[nonce] = max(seen, count)
        return fields['username']


class TokenBucket(object):
    """Rate limit: ``capacity`` requests, refilled at ``rate`` per second: continuously, or (``step``
    seconds) ``rate * step`` tokens at once every ``step`` seconds."""

    def __init__(self, capacity, rate, clock=time.monotonic, step=None):
        self.capacity = capacity
        self.rate = rate
        self.clock = clock
        self.step = step
        self.tokens = float(capacity)
        self.stamp = clock()

    def take(self):
        """(allowed, remaining, seconds until one token is back)."""
        now = self.clock()
        if self.step:
            steps = int((now - self.stamp) // self.step)
            self.tokens = min(self.capacity, self.tokens + steps * self.rate * self.step)
            self.stamp += steps * self.step
        else:
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True, int(self.tokens), 0
        if self.rate <= 0:
            return False, 0, 3600
        if self.step:
            return False, 0, self.stamp + self.step - now
        return False, 0, (1 - self.tokens) / self.rate


def retry_after(wait):
    """A Retry-After header's whole seconds for a wait: rounded up, at least 1."""
    return max(1, int(wait + 0.999))


# Settings of every simulator (docs/simulators.md, "WAN profile").
COMMON_SETTINGS = {
    # Every API request (digest challenge legs and the OAuth token endpoint included) waits
    # latency + uniform(0, latency_jitter) seconds before it is answered: a WAN round trip.
    'latency': 0.0,
    'latency_jitter': 0.0,
    # One factor that speeds simulated time up: latency is divided by it, token buckets refill that
    # many times faster (Retry-After shrinks with it), so a bucket-bound scenario runs in minutes.
    'time_scale': 1.0,
}


class Simulator(object):
    """Base class: subclasses define ``SETTINGS`` (name -> default), ``load_seed`` and ``route``."""

    SETTINGS = {}
    name = 'simulator'

    def __init__(self, seed=None, **settings):
        self.lock = threading.RLock()
        self.seed = seed or {}
        self.SETTINGS = dict(COMMON_SETTINGS, **self.SETTINGS)
        self.settings = dict(self.SETTINGS)
        self.update_settings(settings)
        self.log = []
        self.faults = []
        self.server = None
        self.thread = None
        self.url = None
        self.reset()

    # -- state ------------------------------------------------------------------------------

    # The enumerated settings and their values (subclasses); every other setting takes the type of its default
    CHOICES = {}

    def update_settings(self, settings):
        unknown = set(settings) - set(self.SETTINGS)
        if unknown:
            raise ValueError('unknown %s setting(s): %s (known: %s)'
                             % (self.name, ', '.join(sorted(unknown)), ', '.join(sorted(self.SETTINGS))))
        for name in sorted(settings):
            self._check_setting(name, settings[name])
        self.settings.update(settings)
        self.settings_changed()

    def _check_setting(self, name, value):
        """A typo in a test's setting would quietly test another value: refuse it, naming the values there are."""
        allowed = self.CHOICES.get(name)
        if allowed is not None:
            if not any(value == choice and type(value) is type(choice) for choice in allowed):
                raise ValueError('%s setting %s=%r: not one of %s'
                                 % (self.name, name, value, ', '.join(repr(c) for c in allowed)))
            return
        default = self.SETTINGS[name]
        if isinstance(default, bool):
            ok = isinstance(value, bool)
        elif isinstance(default, (int, float)):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        elif isinstance(default, str):
            ok = isinstance(value, str)
        else:
            ok = True  # None by default: a value of any type (an IP, a dotted path)
        if not ok:
            raise ValueError('%s setting %s=%r: a %s like its default %r'
                             % (self.name, name, value, type(default).__name__, default))

    def settings_changed(self):
        """Hook for settings that need derived state (rate limiter...)."""

    def reset(self, seed=None):
        with self.lock:
            if seed is not None:
                self.seed = seed
            self.log = []
            self.faults = []
            self.in_flight = self.max_in_flight = 0  # API requests being answered; the most at once
            self.load_seed(self.seed)

    def load_seed(self, seed):
        raise NotImplementedError

    def snapshot(self):
        raise NotImplementedError

    def add_fault(self, kind, **kwargs):
        with self.lock:
            self.faults.append(Fault(kind, **kwargs))

    def requests(self, method=None, control=False):
        with self.lock:
            return [e for e in self.log if (method is None or e['method'] == method)]

    def writes(self):
        return [e for e in self.requests() if e['method'] not in ('GET', 'HEAD')]

    # -- dispatch ---------------------------------------------------------------------------

    def _take_fault(self, request):
        with self.lock:
            for fault in self.faults:
                if fault.times > 0 and fault.matches(request):
                    if fault.skip > 0:
                        fault.skip -= 1
                        continue
                    fault.times -= 1
                    return fault
        return None

    def handle(self, request):
        """Returns (Response or None for a dropped connection, whether to reset after sending)."""
        if request.raw_path.startswith(CONTROL_PREFIX):
            return self.control(request), False
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return self._handle(request)
        finally:
            with self.lock:
                self.in_flight -= 1

    def _handle(self, request):
        delay = self.settings['latency'] + random.uniform(0, self.settings['latency_jitter'])
        if delay > 0:
            time.sleep(delay / self.settings['time_scale'])
        fault = self._take_fault(request)
        if fault is not None and fault.kind == 'latency':
            time.sleep(fault.seconds)
            fault = None
        if fault is not None and fault.kind == 'reset_before':
            self._record(request, None)
            return None, False
        if fault is not None and fault.kind == 'status':
            response = fault.response(request, self.fault_body(fault.status))
            self._record(request, response.status)
            return response, False
        with self.lock:
            response = self.route(request)
        if fault is not None and fault.kind == 'status_after':  # acted, but the answer is an error
            if fault.content_type is not None:
                response = fault.response(request, self.fault_body(fault.status))
            else:
                response = Response(fault.status, fault.body if fault.body is not None else
                                    self.fault_body(fault.status), headers=fault.headers)
        self._record(request, response.status)
        if fault is not None and fault.kind == 'reset_after':
            return None, True
        if fault is not None and fault.kind == 'slow_response':
            time.sleep(fault.seconds)
        return response, False

    def fault_body(self, status):
        return {'error': status, 'reason': 'Injected fault'}

    def _record(self, request, status):
        with self.lock:
            self.log.append({'method': request.method, 'path': request.raw_path, 'status': status,
                             'query': request.query, 'user_agent': request.headers.get('User-Agent'),
                             'authorization': (request.headers.get('Authorization') or '').split(' ')[0]})

    def control(self, request):
        action = request.raw_path[len(CONTROL_PREFIX):].strip('/')
        try:
            payload = request.json() if request.body else None
            if action == 'log' and request.method == 'GET':
                log = self.requests()
                return Response(200, {'requests': log, 'count': len(log), 'max_in_flight': self.max_in_flight,
                                      'writes': len([e for e in log if e['method'] not in ('GET', 'HEAD')])})
            if action == 'reset' and request.method == 'POST':
                self.reset(payload)
                return Response(200, {'reset': True})
            if action == 'settings':
                if request.method == 'POST':
                    self.update_settings(payload or {})
                return Response(200, self.settings)
            if action == 'faults' and request.method == 'POST':
                for spec in payload or []:
                    spec = dict(spec)
                    self.add_fault(spec.pop('kind'), **spec)
                return Response(200, {'queued': len(payload or [])})
            if action == 'state' and request.method == 'GET':
                return Response(200, self.snapshot())
            extra = self.extra_control(action, request, payload)
            if extra is not None:
                return extra
        except (ValueError, TypeError, KeyError) as exc:
            return Response(400, {'error': 'bad control request: %s' % exc})
        return Response(404, {'error': 'unknown control path %s' % request.raw_path})

    def extra_control(self, action, request, payload):
        return None

    def route(self, request):
        raise NotImplementedError

    # -- server -----------------------------------------------------------------------------

    def start(self, host='127.0.0.1', port=0, certfile=None, keyfile=None):
        simulator = self

        class Handler(_Handler):
            sim = simulator

        self.server = _Server((host, port), Handler)
        scheme = 'http'
        if certfile:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(certfile, keyfile)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            scheme = 'https'
        self.url = '%s://%s:%d' % (scheme, host, self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={'poll_interval': 0.05}, daemon=True)
        self.thread.start()
        return self.url

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def __enter__(self):
        if self.server is None:
            self.start()
        return self

    def __exit__(self, *exc):
        self.stop()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class _Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    disable_nagle_algorithm = True  # else keep-alive responses stall ~40 ms on delayed ACK
    sim = None

    def log_message(self, *args):  # quiet
        pass

    def _serve(self):
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length) if length else b''
        request = Request(self.command, self.path, self.headers, body, self.client_address[0])
        response, reset_after = self.sim.handle(request)
        if response is None:
            self._reset_connection()
            return
        self.send_response(response.status)
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.send_header('Content-Length', str(len(response.body)))
        self.end_headers()
        if response.body and self.command != 'HEAD':
            self.wfile.write(response.body)
        if reset_after:
            self._reset_connection()

    def _reset_connection(self):
        # SO_LINGER 0 turns close() into a TCP RST: the client sees "connection reset".
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
        except OSError:
            pass

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = do_HEAD = do_OPTIONS = do_TRACE = _serve
    # errors the handler answers itself (an unknown method, a malformed request line) are JSON too
    error_content_type = 'application/json'
    error_message_format = '{"error": %(code)d, "reason": "%(message)s", "detail": "%(explain)s"}'


def load_seed_file(path):
    """Seeds are YAML or JSON files."""
    if not path:
        return None
    with open(path) as handle:
        text = handle.read()
    if path.endswith('.json'):
        return json.loads(text)
    import yaml  # PyYAML comes with ansible-core
    return yaml.safe_load(text)


def write_url_file(path, url):
    tmp = path + '.tmp'
    with open(tmp, 'w') as handle:
        handle.write(url + '\n')
    os.replace(tmp, path)
