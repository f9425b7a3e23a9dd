# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one place where this collection makes HTTP requests.

* :class:`ApiClient` wraps one ``requests.Session`` per run: base URL, TLS, proxy,
  User-Agent, a per-run request log, secret redaction, and retries.
* Retries are urllib3's ``Retry`` (mounted on the session's adapter), extended only
  where it has no knob: 429/502/503/504 are retried for every method unless a caller narrows them (429 and
  503 are refusals; after a 502/504 the write journal keeps the outcome unknown), ``RateLimit-Reset``/
  ``X-RateLimit-Reset`` are honoured when there is no
  ``Retry-After``, the sleeps are injectable, and the total wait of a run is bounded.
  No single rate-limit wait (a 429's, or a bucket's refill) is longer than ``rate_limit_max_wait``: past
  it the request fails, naming the bucket and the wait, before sleeping.
  Connection errors and read timeouts are retried only for idempotent methods (GET,
  DELETE, ...), as urllib3 does with ``allowed_methods``.
* ``proxy`` is passed with every request, which requests ranks above ``HTTPS_PROXY``/``HTTP_PROXY``
  (it ranks ``Session.proxies`` below them); without it the environment applies, ``NO_PROXY`` included.
* A body is read as JSON only through :meth:`ApiClient.read_json`: an answer that is not JSON (a captive
  portal, a proxy's error page) is an :class:`ApiError` naming what came, never a ``JSONDecodeError``.
* Every failure is raised as :class:`ApiError`, which the error boundary of each target
  (``common.TargetRun``) turns into a structured failure in one place.
* Every write is journaled as it happens (:class:`WriteJournal`): what the server acknowledged, and
  what may have been applied. ``changed`` and what a result says was done come from the journal.
* Rate limits: a :class:`Pacer` (one per credential and run, shared by every thread) waits for a
  token of the service's bucket before each request; a 429 pauses every thread of that bucket.
* Threads: never more requests in flight than pooled connections; an API key's digest challenge
  is fetched once per run and shared (:class:`SharedDigestAuth`).
"""

from __future__ import annotations

import contextlib
import ssl
import threading
import time
import traceback
from urllib.parse import unquote, urlsplit

from ansible.module_utils.ansible_release import __version__ as ANSIBLE_CORE_VERSION

from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.redaction import Redactor, install_log_filter

REQUESTS_IMPORT_ERROR = None
try:
    import requests
    from requests.adapters import HTTPAdapter
    from requests.auth import AuthBase, HTTPBasicAuth, HTTPDigestAuth
    from urllib3.util.retry import Retry
    from urllib3.util.ssl_match_hostname import CertificateError as HostnameMismatch
except ImportError:  # pragma: no cover - exercised by the sanity import test
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()
    AuthBase = HTTPAdapter = HTTPDigestAuth = Retry = object  # so the class statements below still work
    HostnameMismatch = ssl.SSLCertVerificationError
    HTTPBasicAuth = None
else:
    HAS_REQUESTS = True

COLLECTION_VERSION = '0.1.0'
USER_AGENT = 'apiaccess.ipwhitelist/%s ansible-core/%s' % (COLLECTION_VERSION, ANSIBLE_CORE_VERSION)

# Methods whose repetition cannot do harm; only these are retried after a connection
# error or read timeout, when the request may already have been applied.
IDEMPOTENT_METHODS = frozenset(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE'])
RETRY_STATUSES = frozenset([429, 502, 503, 504])
# Answers after which a write may or may not have been applied (the server failed while, or after, acting).
UNKNOWN_OUTCOME_STATUSES = frozenset([500, 502, 504])
BODY_EXCERPT_CHARS = 300
NOT_JSON_EXCERPT_CHARS = 120
# The longest single wait for a rate limit (rate_limit_max_wait): Atlas's buckets refill per minute and the
# OAuth token endpoint allows ~10 a minute, so a sane Retry-After is at most ~60 s. Five minutes leaves room
# for that and a slow refill, yet a day-long Retry-After (or a reset epoch read as seconds) fails in minutes.
RATE_LIMIT_MAX_WAIT = 300.0


class ApiError(Exception):
    """Every failure of a request, with what a user needs to act on it.

    ``ambiguous``: a non-idempotent request lost its answer after it was sent (a reset, a timeout), so the
    caller re-reads the state instead of sending it again. ``outcome_unknown`` is wider, for the write
    journal: any write that may have been applied, also when the server failed while acting (500, 502, 504,
    on the last attempt or a retried one) or a page that is not the API's answered it. It is decided here, once:
    from ``ambiguous``, ``answer_lost`` (the request was sent and no answer came, whatever its method), the
    status, and the ``history`` of retried attempts.
    """

    def __init__(self, message, method=None, url=None, status=None, error_code=None,
                 provider_message=None, body_excerpt=None, tries=1, ambiguous=False, answer_lost=False,
                 history=()):
        super(ApiError, self).__init__(message)
        self.message = message
        self.method = method
        self.url = url
        self.status = status
        self.error_code = error_code
        self.provider_message = provider_message
        self.body_excerpt = body_excerpt
        self.tries = tries
        self.ambiguous = ambiguous
        # a write that may have been applied: the answer was lost, or the server failed while acting, on this
        # attempt or on a retried one (a 409 or 404 after a retried 502/504 may answer what that attempt did)
        self.outcome_unknown = bool(ambiguous or answer_lost or status in UNKNOWN_OUTCOME_STATUSES or
                                    _may_have_acted(history))

    def details(self):
        """The structured fields, for ``fail_json`` (all already redacted)."""
        return dict(
            method=self.method, url=self.url, http_status=self.status, error_code=self.error_code,
            provider_message=self.provider_message, body_excerpt=self.body_excerpt, tries=self.tries,
        )


DONE, UNKNOWN, NOT_APPLIED = 'done', 'unknown', 'not applied'


class Write(object):
    """What a write request does, for the journal: ``scope`` (the target: a list's path, a key's fingerprint),
    ``action`` (add, remove, update, request_otp, approve) and the ``items`` it acts on."""

    __slots__ = ('scope', 'action', 'items')

    def __init__(self, scope, action, items):
        self.scope = scope
        self.action = action
        self.items = [str(i) for i in items]


class WriteJournal(object):
    """Every write of a run, recorded by the client as it happens: ``done`` (the server acknowledged it) or
    ``unknown`` (it may have been applied: a lost answer, a 5xx). A caller that re-reads the state settles
    what it saw. Results take ``changed`` and what was done from here, so no path can report
    ``changed=false`` after a write."""

    def __init__(self):
        self._records = []
        self._lock = threading.Lock()

    def record(self, write, outcome):
        with self._lock:
            self._records.append(dict(scope=write.scope, action=write.action, items=list(write.items),
                                      outcome=outcome))

    def settle(self, scope, action, applied, checked=None):
        """The state was re-read: of the ``action`` writes of unknown outcome, the items in ``applied`` were done
        and the other ``checked`` items were not applied. ``checked``: the items the re-read can tell about
        (None: every item of unknown outcome); the others stay unknown (a parallel write's, say)."""
        applied = set(str(i) for i in applied)
        checked = None if checked is None else set(str(i) for i in checked)
        with self._lock:
            settled = []
            for record in self._records:
                if record['scope'] != scope or record['action'] != action or record['outcome'] != UNKNOWN:
                    settled.append(record)
                    continue
                by_outcome = {DONE: [], NOT_APPLIED: [], UNKNOWN: []}
                for item in record['items']:
                    known = checked is None or item in checked
                    by_outcome[(DONE if item in applied else NOT_APPLIED) if known else UNKNOWN].append(item)
                settled.extend(dict(record, items=items, outcome=outcome)
                               for outcome, items in by_outcome.items() if items)
            self._records = settled

    def retract(self, scope, action, items):
        """Writes that the server acknowledged but did not apply (seen in its answer): not a change."""
        items = set(str(i) for i in items)
        with self._lock:
            for record in self._records:
                if record['scope'] == scope and record['action'] == action and record['outcome'] == DONE:
                    record['items'] = [i for i in record['items'] if i not in items]

    def records(self, scope=None):
        with self._lock:
            return [dict(r) for r in self._records if scope is None or r['scope'] == scope]

    def items(self, action, outcome=DONE, scope=None):
        """Every item of ``action`` with that outcome, in the order first written."""
        seen, known = [], set()  # a POST of 1,000 entries: a set, not 500,000 list comparisons
        for record in self.records(scope):
            if record['action'] == action and record['outcome'] == outcome:
                for item in record['items']:
                    if item not in known:
                        known.add(item)
                        seen.append(item)
        return seen

    def changed(self, scope=None):
        """Whether the service's state changed, or may have: a write done or of unknown outcome."""
        return any(r['items'] and r['outcome'] in (DONE, UNKNOWN) for r in self.records(scope))


class RetryBudgetExhausted(Exception):
    """Raised from inside urllib3's retry loop when the next wait would exceed the budget."""

    def __init__(self, wanted, waited, budget):
        super(RetryBudgetExhausted, self).__init__(
            'the next retry would wait %.1fs, beyond the retry wait budget (%.1fs of %.1fs used)'
            % (wanted, waited, budget))


class RateLimitWaitTooLong(Exception):
    """Raised before sleeping when one rate-limit wait would exceed ``rate_limit_max_wait``."""

    def __init__(self, bucket, wanted, ceiling, why):
        super(RateLimitWaitTooLong, self).__init__(
            '%s asks to wait %.1fs (%s), beyond rate_limit_max_wait (%.1fs); gave up instead of waiting. Raise '
            'rate_limit_max_wait to wait it out' % (bucket, wanted, why, ceiling))


def _check_rate_limit_wait(ceiling, bucket, wanted, why):
    if ceiling is not None and wanted > ceiling:
        raise RateLimitWaitTooLong(bucket, wanted, ceiling, why)


# A worker waiting for a token looks again at least this often: meanwhile another worker's answer may show
# that the server holds more tokens than the mirror believed (it refilled in a step, or faster than documented).
PACER_RECHECK = 0.25


class _Bucket(object):
    """This run's mirror of one server token bucket: learned from RateLimit-Limit/-Remaining, refilled at the
    documented rate between answers, paused by a 429's Retry-After."""

    def __init__(self, refill):
        self.refill = refill        # tokens per second
        self.capacity = None        # unknown until the server says
        self.tokens = 0.0
        self.stamp = 0.0
        self.paused_until = 0.0
        self.in_flight = 0          # requests sent with a token of this bucket and not answered yet
        self.answers = 0            # answers seen: a request's ticket is this count when it was sent

    def take(self, now, new_request=True):
        """Take a token if the mirror holds one (0.0), else the seconds until it will; and whether that wait
        is a server's pause (which no answer can shorten)."""
        pause = self.paused_until - now
        if pause > 0:
            return pause, True
        if self.capacity is not None:
            # a full server still counts this run's requests on their way: never more than capacity less those
            self.tokens = min(self.capacity - self.in_flight, self.tokens + (now - self.stamp) * self.refill)
            self.stamp = now
            # a token short by a rounding error counts as whole: a wait too small to move a clock is no wait
            if self.tokens < 1 - 1e-6:
                return (1 - self.tokens) / self.refill, False
            self.tokens -= 1
        if new_request:
            self.in_flight += 1
        return 0.0, False

    def observe(self, limit, remaining, now, ticket=None):
        """An answer came back (headers may be missing: "Atlas might not always return" them). ``ticket``: the
        answer count when its request was sent (None: unknown, taken as no answer since)."""
        self.in_flight = max(0, self.in_flight - 1)
        overtaken = 0 if ticket is None else max(0, self.answers - ticket)
        self.answers += 1
        if limit is not None:
            if self.capacity is None and remaining is None:
                self.tokens, self.stamp = float(limit), now
            self.capacity = limit
        if remaining is not None and self.capacity is not None:
            # the server's count when it answered, less what this run sent that it may not have counted yet:
            # up to date when the server refills faster than documented, or in a step
            believed = float(remaining - self.in_flight)
            if believed > self.tokens and overtaken:
                # more than the mirror holds: a refill, or an answer overtaken by the answers that came since its
                # request was sent, which the server may have counted after it. Credit only what the overtaking
                # cannot explain, so an old answer never grants a token the server does not hold
                believed = max(self.tokens, believed - overtaken)
            self.tokens, self.stamp = min(float(self.capacity), believed), now


class Pacer(object):
    """Pacing to the service's token buckets, shared by every worker of a run (the fleet's threads use one
    client per credential). ``classify(path)`` names the bucket of a request and its documented refill per
    second, or None. Before a request a worker waits for a token of the bucket's mirror; every answer sets the
    mirror to the server's RateLimit-Remaining (less the requests still in flight); a 429 pauses every worker
    of that bucket for its Retry-After. Waiting for a bucket is progress, not failure: it is never charged to
    the retry wait budget."""

    def __init__(self, classify, clock=None, sleep=None, max_wait=None):
        self.classify = classify
        self.clock = clock or time.monotonic
        self.sleep = sleep or time.sleep
        # the longest single wait for a bucket (the client sets its rate_limit_max_wait); None: no ceiling
        self.max_wait = max_wait
        self._buckets = {}
        self._lock = threading.Lock()

    def name(self, path):
        """The bucket of a request, as a user reads it: endpoint set and scope key."""
        found = self.classify(path)
        if found is None:
            return None
        key = found[0]
        if isinstance(key, tuple) and len(key) == 2:
            return "the rate limit '%s' of %s" % key if key[1] else "the rate limit '%s'" % key[0]
        return 'the rate limit %s' % (key,)

    def _bucket(self, path):
        found = self.classify(path)
        if found is None:
            return None
        key, refill = found
        with self._lock:
            return self._buckets.setdefault(key, _Bucket(refill))

    def before(self, path, retry=False):
        """Wait for a token. ``retry``: the retry of a request already in flight (it takes a token too).
        Returns the request's ticket for ``after`` (None without a bucket)."""
        bucket = self._bucket(path)
        if bucket is None:
            return None
        while True:
            with self._lock:
                wait, paused = bucket.take(self.clock(), new_request=not retry)
                ticket = bucket.answers
            if wait <= 0:
                return ticket
            # before sleeping: a pause another worker's 429 set, or a refill, longer than the ceiling
            _check_rate_limit_wait(self.max_wait, self.name(path), wait,
                                   'paused by a 429' if paused else 'waiting for a token')
            self.sleep(wait if paused else min(wait, PACER_RECHECK))

    def after(self, path, headers, ticket=None):
        """The request's answer (``headers`` None when none came): exactly once per ``before``, with its ticket."""
        bucket = self._bucket(path)
        if bucket is None:
            return
        limit, remaining = _header_int(headers, 'RateLimit-Limit'), _header_int(headers, 'RateLimit-Remaining')
        with self._lock:
            bucket.observe(limit, remaining, self.clock(), ticket)

    def resume(self, path):
        """The worker that got the 429 has waited it out: the bucket is open again from now on."""
        bucket = self._bucket(path)
        if bucket is not None:
            with self._lock:
                bucket.paused_until = min(bucket.paused_until, self.clock())

    def pause(self, path, seconds):
        """A 429 told one worker to wait: every worker of that bucket waits. Returns whether the path has a
        bucket (then the wait is progress, not charged to the retry budget)."""
        bucket = self._bucket(path)
        if bucket is None:
            return False
        with self._lock:
            now = self.clock()
            bucket.paused_until = max(bucket.paused_until, now + seconds)
            bucket.tokens, bucket.stamp = 0.0, now  # no refill from before the 429 is credited after it
        return True


def _header_int(headers, name):
    value = headers.get(name) if headers is not None else None  # requests' and urllib3's headers ignore case
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


class _RetryState(object):
    """Shared by every Retry object of one client: injectable sleep/clock and the wait budget."""

    def __init__(self, budget, sleep, clock, rate_limit_max_wait=None):
        self.budget = budget
        self.sleep = sleep
        self.clock = clock
        self.rate_limit_max_wait = rate_limit_max_wait
        self.waited = 0.0
        self.lock = threading.Lock()
        self.local = threading.local()
        self.pacer = None


class RetryPolicy(Retry):
    """urllib3 ``Retry`` with the three things it lacks (see the module docstring)."""

    def __init__(self, *args, **kwargs):
        self.state = kwargs.pop('state')
        super(RetryPolicy, self).__init__(*args, **kwargs)
        if getattr(self, 'retry_after_max', None) is not None:
            # newer urllib3 clamps Retry-After to 6 h and would wait that; rate_limit_max_wait fails instead,
            # naming what the server really asked for
            self.retry_after_max = float('inf')

    def new(self, **kw):
        kw.setdefault('state', self.state)
        return super(RetryPolicy, self).new(**kw)

    def is_retry(self, method, status_code, has_retry_after=False):
        if self.status_forcelist and status_code in self.status_forcelist:
            return True
        return super(RetryPolicy, self).is_retry(method, status_code, has_retry_after)

    def increment(self, *args, **kwargs):
        new = super(RetryPolicy, self).increment(*args, **kwargs)
        self.state.local.history = new.history  # what the client reports as "tries"
        return new

    def get_retry_after(self, response):
        seconds = super(RetryPolicy, self).get_retry_after(response)
        if seconds is not None or response.status != 429:
            return seconds
        for header in ('RateLimit-Reset', 'X-RateLimit-Reset'):
            value = response.headers.get(header)
            if value is None:
                continue
            try:
                reset = float(value)
            except ValueError:
                continue
            # An epoch timestamp (Woodcore) or a delta in seconds (IETF RateLimit-Reset).
            return max(0.0, reset - self.state.clock()) if reset > 1e9 else max(0.0, reset)
        return None

    def sleep(self, response=None):
        wait = None
        if response is not None and self.respect_retry_after_header:
            wait = self.get_retry_after(response)
        if wait is None:
            wait = self.get_backoff_time()
        state = self.state
        # a retried response may carry no URL; the retry history does
        url = (getattr(response, 'url', None) if response is not None else None) or \
            (self.history[-1].url if self.history else None) or ''
        path = urlsplit(url).path
        if response is not None and response.status == 429:
            paced = state.pacer is not None and state.pacer.pause(path, wait)
            # the pause is set first: the other workers of the bucket then fail without sending either
            bucket = (state.pacer.name(path) if paced else None) or "the server's rate limit for %s" % path
            _check_rate_limit_wait(state.rate_limit_max_wait, bucket, wait, 'told by a 429')
        else:
            paced = False
        if paced:
            # a token bucket said wait: progress, not failure; the other workers of the bucket wait too
            if wait > 0:
                state.sleep(wait)
            state.pacer.resume(path)
            state.pacer.before(path, retry=True)  # the retry takes its turn for a token too: no burst after the pause
            return
        with state.lock:
            if state.waited + wait > state.budget:
                raise RetryBudgetExhausted(wait, state.waited, state.budget)
            state.waited += wait
        if wait > 0:
            state.sleep(wait)


def _make_retry(retries, backoff_factor, state, statuses=RETRY_STATUSES):
    kwargs = dict(
        total=retries, connect=retries, read=retries, status=retries, other=0, redirect=False,
        allowed_methods=IDEMPOTENT_METHODS, status_forcelist=frozenset(statuses),
        backoff_factor=backoff_factor, raise_on_status=False, respect_retry_after_header=True,
        state=state,
    )
    try:
        return RetryPolicy(backoff_jitter=backoff_factor, **kwargs)
    except TypeError:  # urllib3 < 2 has no jitter
        return RetryPolicy(**kwargs)


class SharedDigestAuth(HTTPDigestAuth):
    """HTTP Digest (Atlas API keys) whose challenge serves every thread of the run.

    requests' ``HTTPDigestAuth`` keeps the server's challenge per thread: each new thread (the fleet's workers,
    a purge's DELETE workers) pays a 401 round trip first. Here the first request of the run is challenged
    while the others wait for it (at most ``FIRST_CHALLENGE_WAIT``), and then every thread answers the same
    challenge with one nonce count that rises with each request (RFC 7616). A server that refuses a nonce
    (expired, used up, a count that arrived out of order) answers 401 with a new challenge: requests answers
    it once for that request, and once that request is through, the new challenge becomes everyone's.
    """

    FIRST_CHALLENGE_WAIT = 10.0

    def __init__(self, username, password):
        super(SharedDigestAuth, self).__init__(username, password)
        self._shared_lock = threading.Lock()
        self._shared = None            # (challenge dict, nonce, nonce count) once a challenge came
        self._first = None             # the thread fetching the first challenge
        self._challenged = threading.Event()

    def __call__(self, request):
        self.init_per_thread_state()
        local = self._thread_local
        with self._shared_lock:
            first = self._shared is None and self._first is None
            if first:
                self._first = threading.current_thread()
            waiting = self._shared is None and self._first is not threading.current_thread() and \
                not self._challenged.is_set()
        if waiting and not self._challenged.wait(self.FIRST_CHALLENGE_WAIT):
            # the first request never came back (a lost connection): nobody waits for it again, each
            # thread is challenged on its own until one challenge has served a request
            self._challenged.set()
        with self._shared_lock:
            if self._shared is not None:
                local.chal, local.last_nonce = self._shared[0], self._shared[1]
        request = super(SharedDigestAuth, self).__call__(request)
        if first:  # after requests' own hooks: it runs once the challenge is answered
            request.register_hook('response', self._first_answer)
        return request

    def _first_answer(self, response, **kwargs):
        """Whatever the first request got (a challenge already answered by handle_401, or an answer that needed
        none), the others stop waiting."""
        self._challenged.set()
        return response

    def handle_401(self, r, **kwargs):
        answer = super(SharedDigestAuth, self).handle_401(r, **kwargs)
        if answer is not r:
            # a fresh challenge, answered: it becomes everyone's only now, so no other thread can spend its
            # nonce (or a higher count) before this request did, which a strict server would refuse
            if answer.status_code != 401:
                local = self._thread_local
                with self._shared_lock:
                    self._shared = (local.chal, local.last_nonce, local.nonce_count)
            self._challenged.set()
        return answer

    def build_digest_header(self, method, url):
        local = self._thread_local
        with self._shared_lock:
            shared = self._shared is not None and local.chal is self._shared[0]
            if shared:  # the run's challenge: its one nonce count goes on rising
                local.last_nonce, local.nonce_count = self._shared[1], self._shared[2]
            header = super(SharedDigestAuth, self).build_digest_header(method, url)
            if shared:
                self._shared = (local.chal, local.last_nonce, local.nonce_count)
        return header


def digest_auth(username, password):
    """HTTP Digest (Atlas API keys: public key / private key): one challenge per run, shared by its threads."""
    return SharedDigestAuth(username, password)


class BearerAuth(AuthBase):
    """A static bearer token (Woodcore API keys)."""

    def __init__(self, token):
        self.token = token

    def __call__(self, request):
        request.headers['Authorization'] = 'Bearer %s' % self.token
        return request


class _OAuthToken(object):
    """``write=`` of the OAuth token request: it changes nothing the user manages (as ``write=False``), and it is
    the one request other than a read that a read-only client sends."""

    def __bool__(self):
        return False

    def __repr__(self):
        return 'OAUTH_TOKEN'


OAUTH_TOKEN = _OAuthToken()


class ClientCredentialsAuth(AuthBase):
    """OAuth2 client credentials (Atlas service accounts).

    The token is fetched once per run, reused until shortly before it expires, and
    refreshed when a request comes back 401 (revoked or expired early): once per rejected token, however
    many threads saw it rejected (the token endpoint allows ~10 a minute, an account ~100 live tokens).
    """

    EXPIRY_MARGIN = 60.0

    def __init__(self, client, token_path, client_id, client_secret):
        self._client = client
        self._token_path = token_path
        self._basic = HTTPBasicAuth(client_id, client_secret)
        self._token = None
        self._expires_at = 0.0
        self._lock = threading.Lock()
        self._local = threading.local()
        client.add_secret(client_secret)

    def token(self):
        with self._lock:
            if self._token is None or self._client.clock() >= self._expires_at:
                self._fetch()
            return self._token

    def refresh(self, rejected):
        """The token after the server rejected ``rejected``: a new one only if ``rejected`` is still the current
        token; a thread that was rejected with a token another thread has already replaced reuses the new one."""
        with self._lock:
            if self._token is None or self._token == rejected:
                self._fetch()
            return self._token

    def _fetch(self):
        response = self._client.request(
            'POST', self._token_path, data={'grant_type': 'client_credentials'}, auth=self._basic, write=OAUTH_TOKEN,
            headers={'Accept': 'application/json', 'Content-Type': 'application/x-www-form-urlencoded'})
        payload = self._client.read_json(response)
        try:
            token = payload['access_token']
            lifetime = float(payload.get('expires_in', 3600))
        except (ValueError, KeyError, TypeError):
            raise ApiError('the OAuth token endpoint answered without an access_token',
                           method='POST', url=self._client.redact(self._client.url(self._token_path)),
                           status=response.status_code)
        self._client.add_secret(token)
        self._token = token
        self._expires_at = self._client.clock() + max(0.0, lifetime - self.EXPIRY_MARGIN)

    def __call__(self, request):
        self._local.refreshed = False
        request.headers['Authorization'] = 'Bearer %s' % self.token()
        request.register_hook('response', self._refresh_on_401)
        return request

    def _refresh_on_401(self, response, **kwargs):
        if response.status_code != 401 or getattr(self._local, 'refreshed', False):
            return response
        self._local.refreshed = True
        response.content  # pylint: disable=pointless-statement  # drain, so the connection can be reused
        response.close()
        retry = response.request.copy()
        # the token this very request carried: refreshed only if no other thread has replaced it meanwhile
        rejected = (retry.headers.get('Authorization') or '').split(' ', 1)[-1]
        retry.headers['Authorization'] = 'Bearer %s' % self.refresh(rejected)
        new = response.connection.send(retry, **kwargs)
        new.history.append(response)
        new.request = retry
        return new


NEVER_SENT_ERRORS = ('NewConnectionError', 'ConnectTimeoutError')  # urllib3: the connection was never made


def _may_have_acted(history):
    """Whether one of these retried attempts reached the server and failed there, or lost its answer."""
    return any(a.status in UNKNOWN_OUTCOME_STATUSES or
               (a.status is None and not any(name in repr(a.error) for name in NEVER_SENT_ERRORS))
               for a in history)


def _certificate_rejected(exc):
    """Whether the server's certificate was refused (ssl.SSLCertVerificationError somewhere in the chain of
    causes urllib3 and requests wrap it in), as opposed to a TLS error that may come after the request was sent."""
    seen, pending = set(), [exc]
    while pending:
        error = pending.pop()
        if not isinstance(error, BaseException) or id(error) in seen:
            continue
        seen.add(id(error))
        if isinstance(error, (ssl.SSLCertVerificationError, HostnameMismatch)):  # urllib3's own hostname check
            return True
        pending.extend([getattr(error, 'reason', None), error.__cause__, error.__context__])
        pending.extend(a for a in getattr(error, 'args', ()) if isinstance(a, BaseException))
    return False


def json_object(response):
    """The response body when it is a JSON object, else None (error parsers start here)."""
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def default_error_parser(response):
    """(code, message) from a JSON error body, or (None, None)."""
    body = json_object(response)
    if body is None:
        return None, None
    code = body.get('errorCode') or body.get('error_code') or body.get('code')
    message = body.get('detail') or body.get('message') or body.get('reason') or body.get('error')
    if isinstance(message, dict):
        message = message.get('message') or message.get('error')
    return (str(code) if code is not None else None), (str(message) if message is not None else None)


class ApiClient(object):
    """One session per run. ``request`` returns a response whose status is expected, or raises ApiError."""

    def __init__(self, base_url, auth=None, timeout=30.0, validate_certs=True, ca_path=None, proxy=None,
                 retries=5, retry_max_wait=60.0, backoff_factor=0.5, headers=None, error_parser=None,
                 redact_patterns=(), session=None, sleep=None, clock=None, pool_size=16, error_hint=None,
                 pacer=None, redactor=None, rate_limit_max_wait=RATE_LIMIT_MAX_WAIT, read_only=False):
        self.base_url = base_url.rstrip('/')
        # read_only: every request other than GET/HEAD is refused before it is sent (the audit), except the OAuth
        # token request of a service account (write=OAUTH_TOKEN), which changes nothing
        self.read_only = read_only
        # error_hint(status, code, body) -> what to do about an HTTP error, or None (provider-specific)
        self.error_hint = error_hint
        self.timeout = timeout
        self.clock = clock or time.time
        self.error_parser = error_parser or default_error_parser
        self.request_log = []
        self._log_lock = threading.Lock()
        self.redactor = redactor or Redactor()
        for pattern, replacement in redact_patterns:
            self.redactor.add_pattern(pattern, replacement)
        install_log_filter()
        self.journal = WriteJournal()
        self.rate_limit_max_wait = float(rate_limit_max_wait) if rate_limit_max_wait is not None else None
        self._state = _RetryState(float(retry_max_wait), sleep or time.sleep, self.clock, self.rate_limit_max_wait)
        self._state.pacer = self.pacer = pacer
        if pacer is not None:
            pacer.max_wait = self.rate_limit_max_wait
        self._retry_args = (retries, backoff_factor, pool_size)
        # never more requests in flight than pooled connections (threads beyond it would open and throw
        # away connections, and urllib3 would warn about each)
        self._slots = threading.BoundedSemaphore(pool_size)
        self._holding = threading.local()
        self._sessions = {}
        if session is None:
            session = self._new_session(RETRY_STATUSES)
        self._sessions[RETRY_STATUSES] = session
        self.session = session
        self.session.headers['User-Agent'] = USER_AGENT
        if headers:
            self.session.headers.update(headers)
        # A CA bundle path replaces the default trust store; validate_certs=false disables checks.
        # Passed with every request: requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE override Session.verify.
        self.verify = (ca_path or True) if validate_certs else False
        self.session.verify = self.verify
        # Passed with every request too: requests ranks Session.proxies below HTTPS_PROXY/HTTP_PROXY, and a
        # request's own proxies above them. None: the environment decides (NO_PROXY included).
        self.proxies = None
        if proxy:
            self.proxies = {'http': proxy, 'https': proxy}
            self.session.proxies = dict(self.proxies)
            self.add_secret_from_url(proxy)
        if auth is not None:
            self.session.auth = auth(self) if callable(auth) and not isinstance(auth, AuthBase) else auth

    def _new_session(self, statuses):
        retries, backoff_factor, pool_size = self._retry_args
        session = requests.Session()
        adapter = HTTPAdapter(max_retries=_make_retry(retries, backoff_factor, self._state, statuses),
                              pool_connections=pool_size, pool_maxsize=pool_size)
        session.mount('http://', adapter)
        session.mount('https://', adapter)
        return session

    def _session_for(self, statuses):
        """A session whose retries only cover ``statuses`` (same headers, auth, TLS and proxies)."""
        statuses = frozenset(statuses)
        if statuses not in self._sessions:
            session = self._new_session(statuses)
            for name in ('headers', 'auth', 'verify', 'proxies'):
                setattr(session, name, getattr(self.session, name))
            self._sessions[statuses] = session
        return self._sessions[statuses]

    # -- redaction ------------------------------------------------------------------------

    def add_secret(self, value):
        """Register a value that must never appear in errors, results or logs."""
        self.redactor.add(value)

    def add_secret_from_url(self, url):
        """Credentials in a proxy URL (http://user:password@host): the password and the user are secrets, the
        password also percent-decoded; an '@' inside the password is allowed (the last '@' ends them)."""
        authority = url.split('://', 1)[-1].split('/', 1)[0]
        if '@' in authority:
            userinfo = authority.rsplit('@', 1)[0]
            user, _sep, password = userinfo.partition(':')
            for value in (userinfo, password, unquote(password), user, unquote(user)):
                self.add_secret(value)

    def redact(self, text):
        return self.redactor.text(text)

    # -- requests -------------------------------------------------------------------------

    def url(self, path):
        return self.base_url + path

    @property
    def request_count(self):
        return len(self.request_log)

    def writes(self):
        return [entry for entry in self.request_log if entry['method'] not in ('GET', 'HEAD')]

    def _log(self, method, path, status):
        with self._log_lock:
            self.request_log.append({'method': method, 'path': self.redact(path), 'status': status})

    @contextlib.contextmanager
    def _slot(self):
        """One of the pool's slots for this thread; a request made while sending another (the OAuth token
        fetched by the auth of a request) uses the slot its thread holds, so the pool cannot deadlock."""
        if getattr(self._holding, 'slot', False):
            yield
            return
        with self._slots:
            self._holding.slot = True
            try:
                yield
            finally:
                self._holding.slot = False

    def request(self, method, path, params=None, json=None, data=None, headers=None, expected=(200,), auth=None,
                retry_statuses=RETRY_STATUSES, write=None):
        """Send one request. ``retry_statuses`` narrows which statuses are retried, for writes where
        even a gateway error (502/504) may mean the write happened.

        Every request that is not a read names what it writes (``write``, a :class:`Write`), or says that it
        changes nothing the user manages (``write=False``; the OAuth token request: ``write=OAUTH_TOKEN``): the
        journal records it as it happens, done or of unknown outcome, so no caller can forget a write it made.
        A read-only client sends GET and HEAD, and the OAuth token request alone besides."""
        method = method.upper()
        if self.read_only and write is not OAUTH_TOKEN and method not in ('GET', 'HEAD'):
            shown_url = self.redact(self.url(path))
            raise ApiError('%s %s: refused, this client only reads (read_only); nothing was sent' % (method, shown_url),
                           method=method, url=shown_url, tries=0)
        if write is None and method not in ('GET', 'HEAD'):
            raise ValueError('%s %s: a write request must name what it writes (write=Write(...)) for the journal'
                             % (method, path))
        try:
            response = self._request(method, path, params, json, data, headers, expected, auth, retry_statuses)
        except ApiError as exc:
            if write:  # refused writes too, so that a failure can say that nothing was done
                self.journal.record(write, UNKNOWN if exc.outcome_unknown else NOT_APPLIED)
            raise
        if write:
            if response.content and 'json' not in (response.headers.get('Content-Type') or '').lower():
                try:
                    self.read_json(response)  # a page that is not the API's answer (a proxy's): outcome unknown
                except ApiError as exc:
                    self.journal.record(write, UNKNOWN if exc.outcome_unknown else NOT_APPLIED)
                    raise
            self.journal.record(write, DONE)
        return response

    def _request(self, method, path, params, json, data, headers, expected, auth, retry_statuses):
        url = self.url(path)
        shown_url = self.redact(url)
        shown_path = path
        if params:
            shown_path += '?' + '&'.join('%s=%s' % (k, v) for k, v in params.items())
        self._state.local.history = ()
        kwargs = dict(params=params, json=json, data=data, headers=headers, timeout=self.timeout, verify=self.verify)
        if self.proxies:
            kwargs['proxies'] = self.proxies
        if auth is not None:
            kwargs['auth'] = auth
        response = failure = ticket = None
        with self._slot():
            if self.pacer is not None:
                try:
                    ticket = self.pacer.before(path)
                except RateLimitWaitTooLong as exc:
                    raise ApiError('%s %s: %s; not sent' % (method, shown_url, self.redact(exc)), method=method,
                                   url=shown_url, tries=0)
            try:
                response = self._session_for(retry_statuses).request(method, url, **kwargs)
            except (RetryBudgetExhausted, RateLimitWaitTooLong, requests.exceptions.RequestException) as exc:
                failure = exc
            except (ValueError, TypeError) as exc:
                # raised while the request was built or its headers written (a credential holding a line break,
                # say): nothing reached the server. Its text may quote the credential, escaped: redacted below
                failure = requests.exceptions.InvalidHeader('the request could not be sent: %s' % exc)
            finally:
                if self.pacer is not None:
                    self.pacer.after(path, response.headers if response is not None else None, ticket)
        if isinstance(failure, RateLimitWaitTooLong):
            history = self._state.local.history
            for attempt in history:
                self._log(method, shown_path, attempt.status)
            # a 429 is a refusal before acting; an earlier attempt that failed at the server may have acted
            raise ApiError('%s %s: %s' % (method, shown_url, self.redact(failure)), method=method, url=shown_url,
                           status=history[-1].status if history else None, tries=len(history), history=history)
        if isinstance(failure, RetryBudgetExhausted):
            # urllib3 counted the attempt that failed before the wait that did not fit the budget
            history = self._state.local.history
            tries = len(history)
            for attempt in history:
                self._log(method, shown_path, attempt.status)
            last = history[-1]
            cause = 'HTTP %s' % last.status if last.status else self.redact(last.error)
            raise ApiError('%s %s: gave up after %d tries: %s (last: %s)' % (method, shown_url, tries, failure, cause),
                           method=method, url=shown_url, status=last.status, tries=tries, history=history)
        if failure is not None:
            history = self._state.local.history
            self._log(method, shown_path, None)
            # an earlier attempt (retried) may have acted even when the last one never reached the server
            raise self._transport_error(method, shown_url, failure, history)
        history = self._retry_history(response)
        for attempt in history:
            self._log(method, shown_path, attempt.status)
        self._log(method, shown_path, response.status_code)
        if response.status_code in expected:
            return response
        final_leg = getattr(getattr(response.raw, 'retries', None), 'history', None) or ()
        raise self._http_error(method, shown_url, response, len(final_leg) + 1, history)

    def read_json(self, response):
        """The JSON body of an answer: the one way this collection reads one. A body that is not JSON (a captive
        portal or a proxy's error page answering 200) raises ApiError naming the request, the status, the content
        type and a short redacted excerpt, instead of a JSONDecodeError that would end the run with a traceback.
        After a write, such an answer leaves the outcome unknown: it may not come from the API at all."""
        try:
            return response.json()
        except ValueError:
            pass
        method = getattr(getattr(response, 'request', None), 'method', None) or 'GET'
        shown_url = self.redact(response.url)
        content_type = response.headers.get('Content-Type') or 'no Content-Type'
        # redacted whole before it is cut, so no secret survives half-masked at the cut
        text = ' '.join(self.redact(response.text or '').split())
        excerpt = text[:NOT_JSON_EXCERPT_CHARS] + ('...' if len(text) > NOT_JSON_EXCERPT_CHARS else '')
        write = method not in ('GET', 'HEAD')
        raise ApiError(
            '%s %s: answered %d with a body that is not JSON: %s, %s (a proxy or captive portal?)%s'
            % (method, shown_url, response.status_code, content_type, repr(excerpt) if excerpt else 'empty',
               '; the request may or may not have been applied' if write else ''),
            method=method, url=shown_url, status=response.status_code, body_excerpt=excerpt, ambiguous=write)

    @staticmethod
    def _retry_history(response):
        """Retried attempts of every leg (an auth handshake leg can have been retried too)."""
        attempts = []
        for leg in list(response.history) + [response]:
            retries = getattr(leg.raw, 'retries', None)
            attempts.extend(getattr(retries, 'history', None) or ())
        return tuple(attempts)

    def _transport_error(self, method, shown_url, exc, history):
        cause = self.redact(exc)
        tries = len(history) + 1
        if isinstance(exc, requests.exceptions.SSLError) and _certificate_rejected(exc):
            # the certificate is checked in the handshake, before the request is sent
            return ApiError('%s %s: TLS certificate verification failed (%s); set ca_path to the CA bundle '
                            'that signed the server certificate, or validate_certs=false for testing only'
                            % (method, shown_url, cause), method=method, url=shown_url, tries=tries, history=history)
        connect_failed = isinstance(exc, (requests.exceptions.ConnectTimeout,)) or (
            isinstance(exc, requests.exceptions.ConnectionError) and 'NewConnectionError' in repr(exc))
        ambiguous = method not in IDEMPOTENT_METHODS and not connect_failed
        # any other TLS error may come after the request was sent (a bad record in the answer, a proxy's alert)
        kind = 'timed out' if isinstance(exc, requests.exceptions.Timeout) else \
            'TLS error' if isinstance(exc, requests.exceptions.SSLError) else 'connection failed'
        prefix = 'gave up after %d tries: ' % tries if tries > 1 else ''
        note = ' (the request may or may not have been applied)' if ambiguous else ''
        # even a DELETE (retried as idempotent, so not ambiguous) may have acted before its answer was lost
        return ApiError('%s %s: %s%s: %s%s' % (method, shown_url, prefix, kind, cause, note), method=method,
                        url=shown_url, tries=tries, ambiguous=ambiguous, answer_lost=not connect_failed,
                        history=history)

    def _http_error(self, method, shown_url, response, tries, history=()):
        code, message = self.error_parser(response)
        excerpt = self.redact(response.text or '')[:BODY_EXCERPT_CHARS]  # redacted whole, then cut
        message = self.redact(message)
        status = response.status_code
        text = 'HTTP %d' % status
        if code:
            text += ' %s' % code
        if message:
            text += ': %s' % message
        elif excerpt:
            text += ': %s' % excerpt
        hint = self.error_hint(status, code, json_object(response)) if self.error_hint else None
        if hint:
            text += '. %s' % self.redact(hint)
        if tries > 1:
            text = 'gave up after %d tries: %s' % (tries, text)
        return ApiError('%s %s: %s' % (method, shown_url, text), method=method, url=shown_url, status=status,
                        error_code=code, provider_message=message, body_excerpt=excerpt, tries=tries, history=history)

    def close(self):
        for session in self._sessions.values():
            session.close()
