# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The shared client against real loopback servers (the simulators)."""

from __future__ import annotations

import email.utils
import json
import threading
import time
import types

import pytest
from urllib3.util import retry as urllib3_retry

from ansible.module_utils.ansible_release import __version__ as core_version
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import atlas as atlas_api
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import woodcore as woodcore_api
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.http_client import (
    USER_AGENT, ApiClient, ApiError, BearerAuth, ClientCredentialsAuth, digest_auth, UNKNOWN, Write,
)
from ansible_collections.apiaccess.ipwhitelist.tests.unit.conftest import (
    CLIENT_ID, CLIENT_SECRET, KEY_ID, ORG, PRIVATE, PUBLIC, WC_KEY,
)

LIST = '/api/atlas/v2/orgs/%s/apiKeys/%s/accessList' % (ORG, KEY_ID)
V2 = {'Accept': 'application/vnd.atlas.2023-01-01+json'}
POST_HEADERS = {'Content-Type': 'application/vnd.atlas.2023-01-01+json'}


def digest_client(sim, **kwargs):
    kwargs.setdefault('sleep', lambda s: None)
    client = ApiClient(sim.url, auth=digest_auth(PUBLIC, PRIVATE), headers=V2,
                       error_parser=atlas_api.error_parser, **kwargs)
    client.add_secret(PRIVATE)
    return client


def statuses(sim, method=None):
    return [e['status'] for e in sim.log if method is None or e['method'] == method]


def settled(sim, seen, guard=30.0):
    """Wait until ``seen()`` holds and the simulator is answering nothing any more: a handler still at work
    after its client gave up has finished. False only if that did not happen within ``guard`` seconds."""
    deadline = time.monotonic() + guard
    while not (seen() and sim.in_flight == 0):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_digest_handshake(atlas):
    client = digest_client(atlas)
    assert client.request('GET', LIST).json()['totalCount'] == 2
    client.request('GET', LIST)
    # one challenge for the session, then the nonce is reused
    assert statuses(atlas) == [401, 200, 200]
    assert [e['authorization'] for e in atlas.log] == ['', 'Digest', 'Digest']
    assert client.request_log == [{'method': 'GET', 'path': LIST, 'status': 200}] * 2


def test_a_lost_first_challenge_is_waited_for_once(atlas, monkeypatch):
    """The threads of a run wait for the first request's challenge; when that request is lost, they wait
    once (at most FIRST_CHALLENGE_WAIT), not before every request of theirs."""
    auth = digest_auth(PUBLIC, PRIVATE)
    client = ApiClient(atlas.url, auth=auth, headers=V2, error_parser=atlas_api.error_parser, retries=0,
                       sleep=lambda s: None)
    waits = []
    monkeypatch.setattr(auth._challenged, 'wait', lambda timeout: waits.append(timeout) or False)
    atlas.add_fault('reset_before', method='GET', times=3)
    first = threading.Thread(target=lambda: pytest.raises(ApiError, client.request, 'GET', LIST))
    first.start()
    first.join()
    # another thread: its requests are lost too for a while; it waited once, and goes on without waiting
    for dummy in range(2):
        with pytest.raises(ApiError):
            client.request('GET', LIST)
    for dummy in range(2):
        assert client.request('GET', LIST).status_code == 200
    assert waits == [auth.FIRST_CHALLENGE_WAIT]
    assert statuses(atlas) == [None, None, None, 401, 200, 200]  # then one challenge serves the rest


def test_digest_wrong_password_is_an_api_error(atlas):
    client = ApiClient(atlas.url, auth=digest_auth(PUBLIC, 'wrong-password'), headers=V2,
                       error_parser=atlas_api.error_parser)
    with pytest.raises(ApiError) as exc:
        client.request('GET', LIST)
    assert exc.value.status == 401
    assert 'HTTP 401' in str(exc.value) and 'not authorized' in str(exc.value)


def test_user_agent(atlas):
    digest_client(atlas).request('GET', LIST)
    assert USER_AGENT == 'apiaccess.ipwhitelist/0.1.0 ansible-core/%s' % core_version
    assert atlas.log[-1]['user_agent'] == USER_AGENT


def oauth_client(sim, clock=time.time):
    def auth(client):
        return ClientCredentialsAuth(client, '/api/oauth/token', CLIENT_ID, CLIENT_SECRET)
    return ApiClient(sim.url, auth=auth, headers=V2, error_parser=atlas_api.error_parser, clock=clock)


def test_oauth_token_fetched_once_and_reused(atlas):
    client = oauth_client(atlas)
    for dummy in range(3):
        client.request('GET', LIST)
    assert atlas.token_requests == 1
    assert [(e['method'], e['path'], e['authorization']) for e in atlas.log] == (
        [('POST', '/api/oauth/token', 'Basic')] + [('GET', LIST, 'Bearer')] * 3)


def test_oauth_token_refetched_after_expiry_by_clock(atlas):
    now = [1000.0]
    client = oauth_client(atlas, clock=lambda: now[0])
    client.request('GET', LIST)
    now[0] += 3600  # past expires_in minus the margin
    client.request('GET', LIST)
    assert atlas.token_requests == 2


def test_oauth_refreshes_once_on_401(atlas):
    client = oauth_client(atlas)
    client.request('GET', LIST)
    atlas.expire_tokens()  # revoked server-side before its expiry
    client.request('GET', LIST)
    assert atlas.token_requests == 2
    assert statuses(atlas, 'GET') == [200, 401, 200]


def test_oauth_refresh_happens_only_once(atlas):
    client = oauth_client(atlas)
    client.request('GET', LIST)
    atlas.update_settings({'token_ttl': -1})  # every new token is born expired
    atlas.expire_tokens()
    with pytest.raises(ApiError) as exc:
        client.request('GET', LIST)
    assert exc.value.status == 401
    assert atlas.token_requests == 2


def test_oauth_bad_secret(atlas):
    def auth(client):
        return ClientCredentialsAuth(client, '/api/oauth/token', CLIENT_ID, 'not-the-secret')
    client = ApiClient(atlas.url, auth=auth, headers=V2, error_parser=atlas_api.error_parser)
    with pytest.raises(ApiError) as exc:
        client.request('GET', LIST)
    assert exc.value.status == 401 and exc.value.error_code == 'invalid_client'
    assert 'not-the-secret' not in str(exc.value)


def test_429_retry_after_seconds_is_honoured(atlas):
    slept = []
    atlas.add_fault('status', status=429, times=2, headers={'Retry-After': '7'})
    client = digest_client(atlas, sleep=slept.append)
    assert client.request('GET', LIST).status_code == 200
    assert slept == [7.0, 7.0]
    assert [e['status'] for e in client.request_log] == [429, 429, 200]


def test_429_retry_after_http_date_is_honoured(atlas, monkeypatch):
    """A Retry-After date is a wait until then: urllib3 reads the clock for it, a frozen one here (so the wait
    is exact, whatever the machine's speed)."""
    now = 1_800_000_000.0
    monkeypatch.setattr(urllib3_retry, 'time', types.SimpleNamespace(time=lambda: now, sleep=time.sleep))
    slept = []
    when = email.utils.formatdate(now + 30, usegmt=True)
    atlas.add_fault('status', status=429, times=1, headers={'Retry-After': when})
    digest_client(atlas, sleep=slept.append).request('GET', LIST)
    assert slept == [30.0]


def test_x_ratelimit_reset_epoch_is_honoured(woodcore):
    slept = []
    now = 1_800_000_000.0
    woodcore.add_fault('status', status=429, times=1, headers={'x-ratelimit-reset': str(int(now + 12))})
    client = ApiClient(woodcore.url + '/api/v2', auth=BearerAuth(WC_KEY), sleep=slept.append, clock=lambda: now,
                       error_parser=woodcore_api.error_parser)
    client.request('GET', '/gateway/keyprofile')
    assert slept == [12.0]


def test_ratelimit_reset_delta_is_honoured(atlas):
    slept = []
    atlas.add_fault('status', status=429, times=1, headers={'RateLimit-Reset': '4'})
    digest_client(atlas, sleep=slept.append).request('GET', LIST)
    assert slept == [4.0]


def test_503_then_success_for_a_post(atlas):
    client = digest_client(atlas)
    client.request('GET', LIST)  # digest nonce in hand, so the POST is a single leg
    atlas.add_fault('status', method='POST', status=503, times=1)
    client.request('POST', LIST, json=[{'ipAddress': '203.0.113.1'}], headers=POST_HEADERS,
                   write=Write(LIST, 'add', ['203.0.113.1/32']))
    assert statuses(atlas, 'POST') == [503, 200]
    assert '203.0.113.1/32' in atlas.access_list(ORG, KEY_ID)


def test_backoff_without_retry_after_is_exponential_and_bounded(atlas):
    slept = []
    atlas.add_fault('status', status=502, times=4)
    digest_client(atlas, sleep=slept.append).request('GET', LIST)
    # urllib3: the first retry is immediate, then 0.5 * 2**n plus up to 0.5 s of jitter
    assert len(slept) == 3
    assert 1.0 <= slept[0] < slept[1] < slept[2] <= 4.5


def test_connection_reset_retried_for_idempotent_get(atlas):
    client = digest_client(atlas)
    client.request('GET', LIST)
    atlas.add_fault('reset_before', method='GET', times=1)
    assert client.request('GET', LIST).status_code == 200
    assert statuses(atlas, 'GET')[-2:] == [None, 200]


def test_connection_reset_not_retried_for_post(atlas):
    client = digest_client(atlas)
    client.request('GET', LIST)
    atlas.add_fault('reset_after', method='POST', times=1)
    with pytest.raises(ApiError) as exc:
        client.request('POST', LIST, json=[{'ipAddress': '203.0.113.2'}], headers=POST_HEADERS,
                       write=Write(LIST, 'add', ['203.0.113.2/32']))
    assert exc.value.ambiguous is True
    assert 'may or may not have been applied' in str(exc.value)
    assert statuses(atlas, 'POST') == [200]  # sent once, applied, response lost
    assert '203.0.113.2/32' in atlas.access_list(ORG, KEY_ID)
    # the journal knows the write may have happened: changed, and its outcome unknown until re-read
    assert client.journal.items('add', UNKNOWN) == ['203.0.113.2/32'] and client.journal.changed()


def test_read_timeout_retried_for_get_only(atlas):
    client = digest_client(atlas, timeout=0.3)
    client.request('GET', LIST)
    atlas.add_fault('latency', method='GET', seconds=0.6, times=1)
    assert client.request('GET', LIST).status_code == 200
    atlas.add_fault('latency', method='POST', seconds=0.6, times=1)
    with pytest.raises(ApiError) as exc:
        client.request('POST', LIST, json=[{'ipAddress': '203.0.113.3'}], headers=POST_HEADERS,
                       write=Write(LIST, 'add', ['203.0.113.3/32']))
    assert exc.value.ambiguous and 'timed out' in str(exc.value)
    # the slow handler logs the POST when it finishes, after the client gave up: wait for it, then count
    assert settled(atlas, lambda: [e for e in atlas.log if e['method'] == 'POST'])
    assert len([e for e in atlas.log if e['method'] == 'POST']) == 1


def test_retry_count_exhausted(atlas):
    atlas.add_fault('status', status=503, times=10)
    client = digest_client(atlas, retries=2)
    with pytest.raises(ApiError) as exc:
        client.request('GET', LIST)
    assert str(exc.value).endswith('gave up after 3 tries: HTTP 503 SERVICE_UNAVAILABLE: Injected fault.')
    assert exc.value.tries == 3 and exc.value.status == 503


def test_retry_wait_budget_exhausted(atlas):
    slept = []
    atlas.add_fault('status', status=429, times=10, headers={'Retry-After': '30'})
    client = digest_client(atlas, retries=10, retry_max_wait=60, sleep=slept.append)
    with pytest.raises(ApiError) as exc:
        client.request('GET', LIST)
    assert slept == [30.0, 30.0]
    assert 'gave up after 3 tries' in str(exc.value) and 'last: HTTP 429' in str(exc.value)
    assert [e['status'] for e in client.request_log] == [429, 429, 429]


def test_connection_refused_gives_up_with_cause():
    client = ApiClient('http://127.0.0.1:9', retries=1, sleep=lambda s: None)
    with pytest.raises(ApiError) as exc:
        client.request('GET', '/x')
    assert 'gave up after 2 tries: connection failed' in str(exc.value)
    assert exc.value.ambiguous is False


def test_error_carries_provider_code_and_message(atlas):
    client = digest_client(atlas)
    with pytest.raises(ApiError) as exc:
        client.request('DELETE', LIST + '/10.1.0.0%252F24', expected=(204,),
                       write=Write(LIST, 'remove', ['10.1.0.0/24']))
    err = exc.value
    assert (err.method, err.status, err.error_code) == ('DELETE', 400, 'INVALID_IP_ADDRESS_OR_CIDR_NOTATION')
    assert err.provider_message == 'The address 10.1.0.0%2F24 must be in valid IP address or CIDR notation.'
    assert err.url == atlas.url + LIST + '/10.1.0.0%252F24'
    assert json.loads(err.body_excerpt)['errorCode'] == err.error_code


def test_woodcore_object_message_is_parsed(woodcore):
    client = ApiClient(woodcore.url + '/api/v2', auth=BearerAuth(WC_KEY), error_parser=woodcore_api.error_parser)
    with pytest.raises(ApiError) as exc:
        client.request('POST', '/gateway/apiKeys/ipwhitelist/approve/abc', write=Write('key', 'approve', ['ip']))
    assert (exc.value.error_code, exc.value.provider_message) == ('Bad Request', 'No pending IP whitelist request')


def test_secrets_and_otp_absent_from_errors_and_logs(woodcore, atlas):
    otp = 'otpMARKER99x'
    client = ApiClient(woodcore.url + '/api/v2', auth=BearerAuth(WC_KEY), error_parser=woodcore_api.error_parser,
                       redact_patterns=[(woodcore_api.OTP_PATH_RE, r'\1********')])
    client.add_secret(WC_KEY)
    with pytest.raises(ApiError) as exc:
        client.request('POST', '/gateway/apiKeys/ipwhitelist/approve/%s' % otp, write=Write('key', 'approve', ['ip']))
    # a server that echoes the caller's own secret back in an error body
    oauth = oauth_client(atlas)
    oauth.request('GET', LIST)
    atlas.add_fault('status', status=500, times=1, body={'error': 500, 'errorCode': 'X', 'detail': CLIENT_SECRET})
    with pytest.raises(ApiError) as exc3:
        oauth.request('GET', LIST)
    atlas.add_fault('status', status=500, times=1, body={'error': 500, 'errorCode': 'X', 'detail': PRIVATE})
    digest = digest_client(atlas)
    with pytest.raises(ApiError) as exc2:
        digest.request('GET', LIST)
    texts = [str(exc.value), json.dumps(exc.value.details()), json.dumps(client.request_log),
             str(exc2.value), json.dumps(exc2.value.details()), json.dumps(oauth.request_log),
             str(exc3.value), json.dumps(exc3.value.details())]
    for secret in (otp, WC_KEY, CLIENT_SECRET, PRIVATE):
        assert not any(secret in text for text in texts), secret
    assert '/approve/********' in str(exc.value)
    assert client.request_log[0]['path'] == '/gateway/apiKeys/ipwhitelist/approve/********'
