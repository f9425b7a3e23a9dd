# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The client's safety promises (issue 19, items 5, 6, 8, 9 and 10), against loopback servers only:

* 5: the ``proxy`` option wins over ``HTTPS_PROXY``/``HTTP_PROXY``; without it the environment applies;
* 6: one OAuth token refresh per rejected token, however many threads saw it rejected;
* 8: a 200 answer that is not JSON is a structured failure naming what came, never a traceback;
* 9: nothing an HTTP library logs carries an OTP or a key, whatever logger or formatter writes it;
* 10: no single rate-limit wait is longer than ``rate_limit_max_wait``, checked before sleeping.

Each test fails on a788d62 (the code before these fixes); the docstrings say how.
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import atlas as atlas_api
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import common, fleet, http_client
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import woodcore as woodcore_api
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.http_client import (
    ApiClient, ApiError, BearerAuth, ClientCredentialsAuth, Pacer, digest_auth,
)
from ansible_collections.apiaccess.ipwhitelist.plugins.modules import atlas_apikey_whitelist as apikey_module
from ansible_collections.apiaccess.ipwhitelist.plugins.modules import atlas_service_account_whitelist as sa_module
from ansible_collections.apiaccess.ipwhitelist.plugins.modules import woodcore_ipwhitelist as woodcore_module
from ansible_collections.apiaccess.ipwhitelist.tests.unit.conftest import (
    CLIENT_ID, CLIENT_SECRET, KEY2_ID, KEY_ID, ORG, PRIVATE, PUBLIC, SA_ID, WC_KEY, FakeClock, run_module,
)

LIST = '/api/atlas/v2/orgs/%s/apiKeys/%s/accessList' % (ORG, KEY_ID)
V2 = {'Accept': 'application/vnd.atlas.2023-01-01+json'}
TOKEN_PATH = '/api/oauth/token'
APPROVE = '/gateway/apiKeys/ipwhitelist/approve/%s'
OTP = 'otpMARKER4242'
HTML = (b'<!DOCTYPE html><html><head><title>Hotel Wi-Fi: sign in</title></head>\n<body>\n\n  <form>Room number'
        b' <input name="room"></form>' + b' padding' * 50 + b'</body></html>')
PROXY_ENV = ('HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'all_proxy',
             'no_proxy')


# -- loopback helpers -----------------------------------------------------------------------------

class LoopbackProxy(object):
    """A forward proxy on 127.0.0.1 that records what it is asked. With ``upstream`` (a loopback simulator's
    URL) it forwards plain-http requests there, whatever host they name; without, it answers 200 naming itself.
    A CONNECT (an https target) is recorded and refused: nothing ever leaves loopback."""

    def __init__(self, name, upstream=None):
        self.name = name
        self.upstream = upstream
        self.seen = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *args):
                pass

            def _serve(self):
                proxy.seen.append((self.command, self.path))
                length = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(length) if length else b''
                if self.command == 'CONNECT':
                    self._answer(403, b'', {})
                elif proxy.upstream:
                    target = urlsplit(proxy.upstream)
                    parts = urlsplit(self.path)
                    conn = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
                    hop = ('host', 'proxy-connection')
                    headers = dict((k, v) for k, v in self.headers.items() if k.lower() not in hop)
                    conn.request(self.command, parts.path + ('?' + parts.query if parts.query else ''), body, headers)
                    answer = conn.getresponse()
                    data = answer.read()
                    self._answer(answer.status, data, dict((k, v) for k, v in answer.getheaders()
                                                           if k.lower() not in ('content-length', 'connection')))
                    conn.close()
                else:
                    self._answer(200, json.dumps({'via': proxy.name}).encode(), {'Content-Type': 'application/json'})

            def _answer(self, status, data, headers):
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = do_CONNECT = _serve

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.server.daemon_threads = True
        self.url = 'http://127.0.0.1:%d' % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={'poll_interval': 0.05}, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def proxies():
    made = []

    def make(name, upstream=None):
        made.append(LoopbackProxy(name, upstream))
        return made[-1]
    yield make
    for proxy in made:
        proxy.stop()


@pytest.fixture
def clean_proxy_env(monkeypatch):
    """No proxy variable of the machine's own environment leaks into a test."""
    for name in PROXY_ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def set_env_proxy(monkeypatch, url):
    for name in ('HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy'):
        monkeypatch.setenv(name, url)


def closed_port():
    """A loopback port nobody listens on: a connection to it is refused at once."""
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def atlas_args(sim, **kwargs):
    base = dict(base_url=sim.url, org_id=ORG, api_key=KEY_ID, public_key=PUBLIC, private_key=PRIVATE)
    base.update(kwargs)
    return base


def fleet_params(atlas, woodcore, tmp_path, **kwargs):
    raw = dict(atlas_base_url=atlas.url, atlas_public_key=PUBLIC, atlas_private_key=PRIVATE,
               woodcore_base_url=woodcore.url + '/api/v2', woodcore_api_key=WC_KEY, fleet={'web1': '203.0.113.7'},
               woodcore_pending_state_path=str(tmp_path / 'pending.json'))
    raw.update(kwargs)
    result = ArgumentSpecValidator(fleet.argument_spec()).validate(raw)
    assert not result.error_messages, result.error_messages
    return result.validated_parameters


# -- 5. the proxy option wins over the environment -------------------------------------------------

@pytest.mark.parametrize('scheme', ['http', 'https'])
def test_the_proxy_option_wins_over_the_environment(clean_proxy_env, proxies, scheme):
    """a788d62 put the option in Session.proxies, which requests ranks below HTTP(S)_PROXY: the request went
    to the environment's proxy (``chosen.seen`` empty)."""
    chosen, other = proxies('chosen'), proxies('environment')
    set_env_proxy(clean_proxy_env, other.url)
    client = ApiClient('%s://atlas.invalid' % scheme, proxy=chosen.url, retries=0)
    if scheme == 'http':
        assert client.request('GET', '/api/ping').json() == {'via': 'chosen'}
        assert chosen.seen == [('GET', 'http://atlas.invalid/api/ping')]
    else:  # a CONNECT tunnel, which the loopback proxy refuses: only who was asked matters
        with pytest.raises(ApiError):
            client.request('GET', '/api/ping')
        assert chosen.seen == [('CONNECT', 'atlas.invalid:443')]
    assert other.seen == []


def test_the_proxy_option_wins_over_no_proxy_too(clean_proxy_env, proxies):
    """The option is for every request: NO_PROXY is the environment's exception list, not the option's."""
    chosen = proxies('chosen')
    clean_proxy_env.setenv('NO_PROXY', 'atlas.invalid')
    clean_proxy_env.setenv('no_proxy', 'atlas.invalid')
    client = ApiClient('http://atlas.invalid', proxy=chosen.url, retries=0)
    assert client.request('GET', '/api/ping').json() == {'via': 'chosen'}


def test_without_the_option_the_environment_applies_no_proxy_included(clean_proxy_env, proxies, atlas):
    environment = proxies('environment')
    set_env_proxy(clean_proxy_env, environment.url)
    client = ApiClient('http://atlas.invalid', retries=0)
    assert client.request('GET', '/api/ping').json() == {'via': 'environment'}
    # NO_PROXY names the loopback simulator: straight there, the proxy is not asked
    clean_proxy_env.setenv('NO_PROXY', '127.0.0.1')
    clean_proxy_env.setenv('no_proxy', '127.0.0.1')
    direct = ApiClient(atlas.url, auth=digest_auth(PUBLIC, PRIVATE), headers=V2, retries=0)
    assert direct.request('GET', LIST).status_code == 200
    assert environment.seen == [('GET', 'http://atlas.invalid/api/ping')]
    assert [e['path'] for e in atlas.log] == [LIST, LIST]  # the digest challenge, then the answer


def test_a_module_sends_through_the_proxy_option_not_the_environment(capsys, clean_proxy_env, proxies, atlas):
    """A whole module run: every request (digest challenge included) through the proxy option, which forwards
    to the loopback simulator; the environment's proxy (which would answer for any host) sees nothing."""
    chosen, other = proxies('chosen', upstream=atlas.url), proxies('environment')
    set_env_proxy(clean_proxy_env, other.url)
    failed, result = run_module(capsys, apikey_module.main, atlas_args(
        atlas, base_url='http://atlas.invalid', allow_http=True, proxy=chosen.url, entries=['192.0.2.10']))
    assert not failed, result['msg']
    assert [m for m, _p in chosen.seen] == ['GET', 'GET'] and other.seen == []
    assert all(p.startswith('http://atlas.invalid/api/atlas/v2/') for _m, p in chosen.seen)


# -- 6. one OAuth refresh per rejected token -------------------------------------------------------

def oauth_client(sim, **kwargs):
    def auth(client):
        return ClientCredentialsAuth(client, TOKEN_PATH, CLIENT_ID, CLIENT_SECRET)
    return ApiClient(sim.url, auth=auth, headers=V2, error_parser=atlas_api.error_parser, **kwargs)


def gate_first_sends(client, sim, workers):
    """Make the race deterministic: the first GET of every worker leaves together (after each took the current
    token), and no token request leaves before all of them were answered 401."""
    adapter = client.session.get_adapter(sim.url)
    send = adapter.send
    barrier = threading.Barrier(workers, timeout=20)
    lock = threading.Lock()
    counted = [0]

    def rejected():
        return len([e for e in sim.log if e['method'] == 'GET' and e['status'] == 401])

    def gated(request, **kwargs):
        if request.method == 'GET':
            with lock:
                counted[0] += 1
                first = counted[0] <= workers
            if first:
                barrier.wait()
        elif request.path_url == TOKEN_PATH:
            deadline = time.monotonic() + 20
            while rejected() < workers and time.monotonic() < deadline:
                time.sleep(0.005)
        return send(request, **kwargs)
    adapter.send = gated


def test_parallel_requests_rejected_with_one_token_refresh_it_once(atlas):
    """8 workers, every first GET answered 401: one new token, reused by all eight retries. a788d62 fetched a
    new token in every worker (1 + 8 token requests)."""
    workers = 8
    client = oauth_client(atlas)
    client.request('GET', LIST)  # the run's first token
    atlas.add_fault('status', method='GET', path='/accessList$', status=401, times=workers,
                    body={'error': 401, 'errorCode': 'NOT_ORG_GROUP_CREATOR', 'detail': 'token revoked'})
    gate_first_sends(client, atlas, workers)
    answers, errors = [], []

    def work():
        try:
            answers.append(client.request('GET', LIST).status_code)
        except Exception as exc:  # pylint: disable=broad-except  # reported by the assertion below
            errors.append(exc)
    threads = [threading.Thread(target=work) for dummy in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == [] and answers == [200] * workers
    assert atlas.token_requests == 2
    assert [e['path'] for e in atlas.log if e['method'] == 'POST'] == [TOKEN_PATH] * 2
    gets = [e['status'] for e in atlas.log if e['method'] == 'GET']
    assert sorted(gets) == [200] * (workers + 1) + [401] * workers


def test_a_token_rejected_again_after_its_refresh_is_refreshed_again(atlas):
    """Once per rejected token, not once per run: a later revocation gets its own refresh."""
    client = oauth_client(atlas)
    client.request('GET', LIST)
    for expected in (2, 3):
        atlas.expire_tokens()
        assert client.request('GET', LIST).status_code == 200
        assert atlas.token_requests == expected


# -- 8. a 200 that is not JSON --------------------------------------------------------------------

def html_fault(sim, method='GET', path=None, status=200):
    sim.add_fault('status', method=method, path=path, status=status, body=HTML,
                  headers={'Content-Type': 'text/html; charset=utf-8'})


def test_read_json_names_the_request_status_content_type_and_an_excerpt(atlas):
    client = ApiClient(atlas.url, auth=digest_auth(PUBLIC, PRIVATE), headers=V2)
    client.add_secret('Room number')  # stands in for a secret a portal might echo
    html_fault(atlas, path='/accessList$')
    with pytest.raises(ApiError) as exc:
        client.read_json(client.request('GET', LIST))
    message = str(exc.value)
    assert message.startswith('GET %s%s' % (atlas.url, LIST))
    assert 'answered 200 with a body that is not JSON: text/html; charset=utf-8' in message
    assert '(a proxy or captive portal?)' in message
    assert "<title>Hotel Wi-Fi: sign in</title>" in message and 'Room number' not in message
    assert exc.value.status == 200 and exc.value.method == 'GET' and not exc.value.outcome_unknown
    assert len(exc.value.body_excerpt) <= http_client.NOT_JSON_EXCERPT_CHARS + 3
    assert '\n' not in exc.value.body_excerpt


def test_a_module_whose_read_gets_html_fails_with_a_message_not_a_traceback(capsys, atlas):
    """a788d62 raised JSONDecodeError out of the module (pytest.raises(SystemExit) fails: a traceback)."""
    html_fault(atlas, path='/accessList$')
    failed, result = run_module(capsys, apikey_module.main, atlas_args(atlas, entries=['203.0.113.5']))
    assert failed and result['changed'] is False
    assert 'GET %s%s?pageNum=1&itemsPerPage=500: answered 200 with a body that is not JSON: text/html' % (
        atlas.url, LIST) in result['msg']
    assert 'a proxy or captive portal?' in result['msg'] and 'Traceback' not in json.dumps(result)
    assert result['http_status'] == 200 and 'exception' not in result
    assert [e['method'] for e in atlas.log if e['status'] != 401] == ['GET']  # nothing written after it


def test_an_oauth_token_endpoint_answering_html_fails_clearly(capsys, atlas):
    html_fault(atlas, method='POST', path=TOKEN_PATH)
    failed, result = run_module(capsys, sa_module.main, dict(
        base_url=atlas.url, org_id=ORG, service_account=SA_ID, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
        entries=['203.0.113.5']))
    assert failed and 'POST %s%s: answered 200 with a body that is not JSON' % (atlas.url, TOKEN_PATH) in result['msg']
    assert CLIENT_SECRET not in json.dumps(result)


def test_a_woodcore_profile_answering_html_fails_clearly(capsys, woodcore, tmp_path):
    html_fault(woodcore, path='/keyprofile$')
    failed, result = run_module(capsys, woodcore_module.main, dict(
        api_key=WC_KEY, base_url=woodcore.url + '/api/v2', ip='203.0.113.8',
        pending_state_path=str(tmp_path / 'pending.json')))
    assert failed and result['changed'] is False
    assert 'GET %s/api/v2/gateway/keyprofile: answered 200 with a body that is not JSON' % woodcore.url \
        in result['msg']
    assert WC_KEY not in json.dumps(result) and woodcore.emails() == []


def test_one_fleet_key_answered_with_html_leaves_the_others_results(atlas, woodcore, tmp_path):
    """The fleet keeps every other target's result when one target's read is answered with a portal page."""
    html_fault(atlas, path='/apiKeys/%s/accessList$' % KEY_ID)
    result = fleet.run(fleet_params(atlas, woodcore, tmp_path, atlas_keys=[
        dict(name='broken', org_id=ORG, api_key=KEY_ID), dict(name='fine', org_id=ORG, api_key=KEY2_ID)]))
    by_name = dict((r['name'], r) for r in result['atlas'])
    assert by_name['broken']['failed'] and 'not JSON' in by_name['broken']['msg']
    assert not by_name['fine'].get('failed') and by_name['fine']['changed']
    assert '203.0.113.7/32' in atlas.access_list(ORG, KEY2_ID)


# -- 9. nothing the HTTP libraries log carries a secret ---------------------------------------------

class Collect(logging.Handler):
    """What a log file would receive: every record, formatted as Ansible's log_path formats it."""

    def __init__(self):
        super(Collect, self).__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter('%(asctime)s n=%(name)s %(levelname)s| %(message)s'))
        self.lines = []

    def emit(self, record):
        self.lines.append(self.format(record))


@pytest.fixture
def root_log():
    root = logging.getLogger()
    handler, level = Collect(), root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)  # the most a user could ask for
    yield handler
    root.removeHandler(handler)
    root.setLevel(level)


def woodcore_client(url, **kwargs):
    kwargs.setdefault('sleep', lambda s: None)
    client = ApiClient(url + '/api/v2', auth=BearerAuth(WC_KEY), error_parser=woodcore_api.error_parser,
                       redact_patterns=[(woodcore_api.OTP_PATH_RE, r'\1********')], **kwargs)
    client.add_secret(WC_KEY)
    client.add_secret(OTP)
    return client


def test_an_approve_whose_connection_breaks_logs_no_otp(root_log):
    """urllib3 logs 'Retrying (...) after connection broken by ...: <path>' at WARNING, here with the approve
    path: a788d62 wrote the OTP to every root handler (Ansible's log_path file among them)."""
    client = woodcore_client('http://127.0.0.1:%d' % closed_port(), retries=2)
    with pytest.raises(ApiError):
        client.request('POST', APPROVE % OTP, retry_statuses=(429,), write=False)
    retrying = [line for line in root_log.lines if 'Retrying' in line]
    assert len(retrying) == 2  # still logged, redacted
    assert all('WARNING' in line and '/approve/********' in line for line in retrying)
    assert not any(OTP in line for line in root_log.lines)


def test_an_approve_answered_logs_no_otp_even_at_debug(root_log, woodcore):
    """At DEBUG urllib3 logs every request line ('"POST /api/v2/.../approve/<otp> HTTP/1.1" 400'), and a reset
    connection's retry too."""
    client = woodcore_client(woodcore.url)
    woodcore.add_fault('reset_before', method='GET', times=1)
    client.request('GET', '/gateway/keyprofile')
    with pytest.raises(ApiError):
        client.request('POST', APPROVE % OTP, retry_statuses=(429,), write=False)
    assert any('/approve/********' in line for line in root_log.lines)
    assert any('Retrying' in line for line in root_log.lines)
    assert not any(OTP in line or WC_KEY in line for line in root_log.lines)


def test_child_loggers_and_late_formatting_are_redacted_too(root_log):
    """Gaps of the per-logger filter of 60d0319: a logger filter sees only records of its own logger (not
    urllib3.http2.connection, nor any child urllib3 adds later), and an exception is formatted by the handler,
    after every filter ran."""
    client = woodcore_client('http://127.0.0.1:9')
    url = client.url(APPROVE % OTP)
    logging.getLogger('urllib3.http2.connection').warning('sending %s', url)
    logging.getLogger('urllib3.some.future.child').warning('retrying %s', url)
    try:
        raise ConnectionError('connection to %s broken' % url)
    except ConnectionError:
        logging.getLogger('urllib3.connectionpool').warning('broken', exc_info=True)
        logging.getLogger('requests').error('with stack', stack_info=True, exc_info=True)
    text = '\n'.join(root_log.lines)
    assert text.count('/approve/********') == 4 and OTP not in text
    assert client is not None  # its redactor is alive while records are made


# -- 10. no rate-limit wait longer than rate_limit_max_wait -----------------------------------------

def paced_client(sim, fake, **kwargs):
    client = ApiClient(sim.url, auth=digest_auth(PUBLIC, PRIVATE), headers=V2, error_parser=atlas_api.error_parser,
                       sleep=fake.sleep, clock=fake.clock,
                       pacer=Pacer(atlas_api.rate_limit_bucket, clock=fake.clock, sleep=fake.sleep), **kwargs)
    client.add_secret(PRIVATE)
    return client


def test_a_429_asking_for_a_day_fails_before_sleeping_and_the_bucket_sends_nothing_more(atlas):
    """a788d62 slept the whole Retry-After (86400 s), up to ``retries`` times: no ceiling."""
    fake = FakeClock()
    client = paced_client(atlas, fake)
    client.request('GET', LIST)
    atlas.log.clear()
    atlas.add_fault('status', status=429, times=1, headers={'Retry-After': '86400'})
    with pytest.raises(ApiError) as exc:
        client.request('GET', LIST)
    message = str(exc.value)
    assert "the rate limit 'Programmatic API Keys' of %s asks to wait 86400.0s (told by a 429)" % ORG in message
    assert 'beyond rate_limit_max_wait (300.0s)' in message and message.startswith('GET %s%s' % (atlas.url, LIST))
    assert exc.value.status == 429 and not exc.value.outcome_unknown
    assert fake.slept == []
    assert [e['status'] for e in atlas.log] == [429]
    # another worker of the same bucket: fails at once, nothing sent
    with pytest.raises(ApiError) as again:
        client.request('GET', '/api/atlas/v2/orgs/%s/apiKeys/%s/accessList' % (ORG, KEY2_ID))
    assert "the rate limit 'Programmatic API Keys' of %s asks to wait" % ORG in str(again.value)
    assert '(paused by a 429)' in str(again.value) and 'not sent' in str(again.value)
    assert [e['status'] for e in atlas.log] == [429] and fake.slept == []


def test_a_wait_within_the_ceiling_is_waited(atlas):
    fake = FakeClock()
    client = paced_client(atlas, fake, rate_limit_max_wait=30)
    atlas.add_fault('status', status=429, times=1, headers={'Retry-After': '30'})
    assert client.request('GET', LIST).status_code == 200
    assert 30.0 in fake.slept


def test_a_token_wait_beyond_the_ceiling_fails_naming_the_bucket():
    fake = FakeClock()
    pacer = Pacer(atlas_api.rate_limit_bucket, clock=fake.clock, sleep=fake.sleep, max_wait=0.1)
    path = LIST
    pacer.before(path)
    pacer.after(path, {'RateLimit-Limit': '1', 'RateLimit-Remaining': '0'})
    with pytest.raises(http_client.RateLimitWaitTooLong) as exc:
        pacer.before(path)  # one token at 250 per 60 s is 0.24 s away
    assert "the rate limit 'Programmatic API Keys' of %s asks to wait 0.2s (waiting for a token)" % ORG \
        in str(exc.value)
    assert fake.slept == []


def test_a_429_outside_any_bucket_is_bounded_too(woodcore):
    """Woodcore has no bucket mirror: its 429's wait (X-RateLimit-Reset) has the same ceiling, and the message
    names the path with the OTP masked."""
    fake = FakeClock()
    client = woodcore_client(woodcore.url, sleep=fake.sleep, clock=fake.clock, retry_max_wait=100000,
                             rate_limit_max_wait=60)
    woodcore.add_fault('status', method='POST', status=429, times=1, headers={'Retry-After': '3600'})
    with pytest.raises(ApiError) as exc:
        client.request('POST', APPROVE % OTP, retry_statuses=(429,), write=False)
    assert "the server's rate limit for /api/v2/gateway/apiKeys/ipwhitelist/approve/******** asks to wait " \
        "3600.0s" in str(exc.value)
    assert OTP not in str(exc.value) and fake.slept == [] and len(woodcore.log) == 1


def test_a_module_fails_clearly_instead_of_waiting_a_day(capsys, atlas, monkeypatch):
    slept = []
    monkeypatch.setattr(http_client.time, 'sleep', slept.append)
    atlas.add_fault('status', status=429, times=5, headers={'Retry-After': '86400'})
    failed, result = run_module(capsys, apikey_module.main, atlas_args(atlas, entries=['203.0.113.5']))
    assert failed and "the rate limit 'Programmatic API Keys' of %s asks to wait 86400.0s" % ORG in result['msg']
    assert 'rate_limit_max_wait (300.0s)' in result['msg'] and result['changed'] is False
    assert not [s for s in slept if s > 1] and len(atlas.log) == 1


@pytest.mark.parametrize('value', [0, -5.0])
def test_rate_limit_max_wait_must_be_positive(capsys, atlas, value):
    failed, result = run_module(capsys, apikey_module.main,
                                atlas_args(atlas, entries=['203.0.113.5'], rate_limit_max_wait=value))
    assert failed and result['msg'] == 'rate_limit_max_wait must be greater than 0, got %r' % float(value)
    assert atlas.log == []


def test_the_option_is_everywhere_and_reaches_every_client(atlas, woodcore, tmp_path):
    """In every module's and the fleet's argument spec, the doc fragment, and each fleet target's client."""
    assert common.http_argument_spec()['rate_limit_max_wait'] == dict(type='float', default=300.0)
    assert fleet.argument_spec()['rate_limit_max_wait']['default'] == 300.0
    from ansible_collections.apiaccess.ipwhitelist.plugins.doc_fragments.connection import ModuleDocFragment
    documented = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)['options']['rate_limit_max_wait']
    assert (documented['type'], documented['default']) == ('float', 300)
    params = fleet_params(atlas, woodcore, tmp_path, rate_limit_max_wait=12.5)
    assert fleet._atlas_params(params, {})['rate_limit_max_wait'] == 12.5  # pylint: disable=protected-access
    key = dict(name='payments', api_key=WC_KEY)
    assert fleet._woodcore_params(params, key, '203.0.113.7')['rate_limit_max_wait'] == 12.5  # noqa
    client = common.client_from_params(dict(params, base_url=atlas.url), atlas.url)
    assert client.rate_limit_max_wait == 12.5


def test_the_fleet_fails_the_rate_limited_key_clearly(atlas, woodcore, monkeypatch, tmp_path):
    slept = []
    monkeypatch.setattr(http_client.time, 'sleep', slept.append)
    atlas.add_fault('status', status=429, times=1, headers={'Retry-After': '120'})
    result = fleet.run(fleet_params(atlas, woodcore, tmp_path, rate_limit_max_wait=60, concurrency=1,
                                    atlas_keys=[dict(name='ops', org_id=ORG, api_key=KEY_ID)]))
    ops = result['atlas'][0]
    assert ops['failed'] and "the rate limit 'Programmatic API Keys' of %s asks to wait 120.0s" % ORG in ops['msg']
    assert 'rate_limit_max_wait (60.0s)' in ops['msg']
    assert not [s for s in slept if s > 1] and len(atlas.log) == 1
