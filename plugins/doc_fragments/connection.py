# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment(object):

    # Connection options shared by every module (common.http_argument_spec), and the libraries every module needs
    # (common.check_libraries: requests for the HTTP client, netaddr for the address checks).
    DOCUMENTATION = r'''
requirements:
  - requests
  - netaddr
options:
  timeout:
    description:
      - Seconds to wait for the server to accept the connection and to send each response.
    type: float
    default: 30
  validate_certs:
    description:
      - Verify the server's TLS certificate.
      - Set to V(false) only against test servers; the module warns when it is off.
    type: bool
    default: true
  ca_path:
    description:
      - Path to a PEM CA bundle used instead of the system trust store to verify the server.
    type: path
  proxy:
    description:
      - Proxy URL for all requests, for example V(http://proxy.example.com:3128).
      - When set, every request goes through it, whatever C(HTTPS_PROXY), C(HTTP_PROXY), C(ALL_PROXY) and
        C(NO_PROXY) say.
      - When not set, those environment variables apply as usual (C(NO_PROXY) included).
      - It may carry credentials (V(http://user:password@proxy.example.com:3128)). The option is C(no_log), and
        the user and password are masked wherever they would appear.
    type: str
  retries:
    description:
      - How many times one request is retried.
      - Statuses 429 and 503 (refused before acting) and 502 and 504 (a gateway's answer; the request may have
        been applied) are retried for every Atlas request, where repeating an addition or a removal does no harm;
        Woodcore requests that email an OTP are retried on 429 only.
      - A write whose outcome stays unknown is reported in C(outcome_unknown) until a re-read settles it.
      - Connection errors and read timeouts are retried only for idempotent requests (GET, DELETE);
        a write that may have been applied is never sent twice. The module re-reads the state instead.
      - Waits follow C(Retry-After) (seconds or HTTP date), then C(RateLimit-Reset) or
        C(X-RateLimit-Reset), and otherwise a jittered exponential backoff.
    type: int
    default: 5
  retry_max_wait:
    description:
      - Upper bound, in seconds, on the total time one module run spends waiting between retries of failures
        (5xx, lost connections, a 429 outside any token bucket).
      - When the next wait would exceed it, the module fails with C(gave up after N tries) and the last cause.
      - Waiting for an Atlas token bucket to refill is progress, not failure, and is never charged to it. The
        client paces itself to each bucket (learned from C(RateLimit-Limit) and C(RateLimit-Remaining), refilled
        at the documented rate between answers), and a C(429) with C(Retry-After) pauses every request of that
        bucket in the run. A run bound by a bucket therefore finishes, however often it waits for a refill; each
        single wait is bounded by O(rate_limit_max_wait). A server that keeps answering C(429) still ends the run
        after O(retries).
    type: float
    default: 60
  rate_limit_max_wait:
    description:
      - Upper bound, in seconds, on any single wait for a rate limit; must be greater than 0.
      - That is the C(Retry-After) (or C(RateLimit-Reset)) of a C(429), or the time until an Atlas token bucket
        holds a token again, or a pause that another request's C(429) set on the same bucket.
      - When one wait would be longer, the request fails before waiting, naming the bucket (endpoint set and
        scope, for example C(Programmatic API Keys) of an organization) and the wait. Other requests of the run
        that would wait out the same pause fail the same way, without being sent.
      - Unlike O(retry_max_wait), it does not add waits up, so a long run that waits often for a bucket still
        finishes. A C(429) outside any known bucket counts against O(retry_max_wait) too.
      - The default, five minutes, leaves room for Atlas's buckets, which refill per minute (a C(429) asks for
        at most about 60 s), and for the OAuth token endpoint's limit of about 10 a minute; yet an anomalous
        answer (a C(Retry-After) of a day, a reset time misread) fails the task within minutes instead of
        holding it, and the job slot, for hours.
    type: float
    default: 300
  allow_http:
    description:
      - Allow a plain C(http://) base URL to a host that is not loopback, for an on-premises server without TLS.
      - Without it, such a URL fails before any request, since API keys, bearer tokens and OAuth client secrets
        would cross the network in cleartext. Loopback (C(localhost), C(127.0.0.0/8), C(::1)) is always allowed.
      - The module warns when it uses plain http to another host.
    type: bool
    default: false
'''
