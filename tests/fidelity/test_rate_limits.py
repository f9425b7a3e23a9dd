# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The simulators' WAN profile and Atlas's documented token buckets (shared/specs README, rate limits):
a bucket per endpoint set and scope key, RateLimit headers, 429 RATE_LIMITED_TOKEN_BUCKET with
Retry-After, the OAuth token endpoint's own limit, latency on every request, and one time-scale factor.
No wall-clock assertions: sleeps are recorded, buckets are inspected."""

from __future__ import annotations

import pytest
import requests
from requests.auth import HTTPDigestAuth

from ansible_collections.apiaccess.ipwhitelist.tests.simulators import base
from ansible_collections.apiaccess.ipwhitelist.tests.simulators.atlas import AtlasSimulator
from ansible_collections.apiaccess.ipwhitelist.tests.unit.conftest import (
    CLIENT_ID, CLIENT_SECRET, KEY_ID, ORG, PRIVATE, PROJECT, PUBLIC, atlas_seed,
)

KEYS = '/api/atlas/v2/orgs/%s/apiKeys' % ORG
SA_LIST = '/api/atlas/v2/orgs/%s/serviceAccounts' % ORG
PROJECT_LIST = '/api/atlas/v2/groups/%s/accessList' % PROJECT
V2 = {'Accept': 'application/vnd.atlas.2023-01-01+json'}
SA = {'Accept': 'application/vnd.atlas.2024-08-05+json'}


def session():
    s = requests.Session()
    s.auth = HTTPDigestAuth(PUBLIC, PRIVATE)
    return s


def test_documented_buckets_per_endpoint_set_and_scope(atlas):
    s = session()
    keys = s.get(atlas.url + KEYS, headers=V2)
    accounts = s.get(atlas.url + SA_LIST, headers=SA)
    project = s.get(atlas.url + PROJECT_LIST, headers=V2)
    assert (keys.headers['Ratelimit-Limit'], keys.headers['Ratelimit-Remaining']) == ('500', '499')
    assert (accounts.headers['Ratelimit-Limit'], accounts.headers['Ratelimit-Remaining']) == ('500', '499')
    assert (project.headers['Ratelimit-Limit'], project.headers['Ratelimit-Remaining']) == ('1200', '1199')
    # the documented refill: 250 per 60 s for the API-key set, 500 per 60 s for the project list
    assert abs(atlas.buckets[('Programmatic API Keys', ORG)].rate - 250 / 60.0) < 1e-9
    assert abs(atlas.buckets[('Project IP Access List', PROJECT)].rate - 500 / 60.0) < 1e-9
    assert atlas.settings['rate_limit_refill'] == 250 / 60.0


@pytest.mark.parametrize('mode, retry_after', [('continuous', '1'), ('interval', '60')])
def test_an_empty_bucket_answers_429_with_retry_after_and_the_documented_body(atlas, mode, retry_after):
    atlas.update_settings({'rate_limit_refill_mode': mode})
    s = session()
    s.get(atlas.url + KEYS, headers=V2)
    bucket = atlas.buckets[('Programmatic API Keys', ORG)]
    bucket.tokens, bucket.clock = 0, lambda: bucket.stamp  # empty, and no time passes until the next request
    limited = s.get(atlas.url + KEYS, headers=V2)
    # continuous: one token is 0.24 s away; interval: the next 250 come with the next 60 s step
    assert limited.status_code == 429 and limited.headers['Retry-After'] == retry_after
    body = limited.json()
    assert body['errorCode'] == 'RATE_LIMITED_TOKEN_BUCKET' and body['parameters'][2] == 500
    assert 'Refill rate: 250 per 60 seconds' in body['detail']
    # another set is another bucket
    assert s.get(atlas.url + SA_LIST, headers=SA).status_code == 200


class FakeClock(object):
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_interval_refill_comes_in_steps_and_continuous_refill_token_by_token():
    clock = FakeClock()
    stepped = base.TokenBucket(10, 5 / 60.0, clock, step=60.0)
    smooth = base.TokenBucket(10, 5 / 60.0, clock)
    for bucket in (stepped, smooth):
        assert [bucket.take()[0] for dummy in range(11)] == [True] * 10 + [False]
    clock.now += 59.0
    assert stepped.take() == (False, 0, 1.0)          # nothing until the step
    assert smooth.take()[:2] == (True, 3)             # 59 s at 5 per 60 s: 4 tokens, one taken
    clock.now += 1.0
    assert stepped.take()[:2] == (True, 4)            # the step brought 5 at once
    clock.now += 125.0
    assert stepped.take()[:2] == (True, 9) and stepped.stamp == 100.0 + 180.0  # capped, steps kept aligned


def test_time_scale_refills_faster():
    with AtlasSimulator(seed=atlas_seed(), time_scale=60.0) as sim:
        session().get(sim.url + KEYS, headers=V2)
        assert abs(sim.buckets[('Programmatic API Keys', ORG)].rate - 250.0) < 1e-9


def test_the_token_endpoint_has_its_own_limit(atlas):
    atlas.update_settings({'oauth_token_limit': 3})
    answers = [requests.post(atlas.url + '/api/oauth/token', auth=(CLIENT_ID, CLIENT_SECRET),
                             data={'grant_type': 'client_credentials'}) for dummy in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[-1].json()['errorCode'] == 'RATE_LIMITED' and answers[-1].json()['parameters'] == [
        '/api/oauth/token', 3, 1]
    assert int(answers[-1].headers['Retry-After']) >= 1


def test_capacity_zero_turns_every_bucket_off(atlas):
    atlas.update_settings({'rate_limit_capacity': 0})
    s = session()
    assert 'Ratelimit-Limit' not in s.get(atlas.url + KEYS, headers=V2).headers
    assert 'Ratelimit-Limit' not in s.get(atlas.url + PROJECT_LIST, headers=V2).headers


def test_latency_applies_to_every_request_scaled(atlas, monkeypatch):
    slept = []
    monkeypatch.setattr(base.time, 'sleep', slept.append)
    atlas.update_settings({'latency': 0.1, 'latency_jitter': 0.0, 'time_scale': 2.0})
    s = session()
    s.get(atlas.url + '/api/atlas/v2/orgs/%s/apiKeys/%s/accessList' % (ORG, KEY_ID), headers=V2)
    requests.post(atlas.url + '/api/oauth/token', auth=(CLIENT_ID, CLIENT_SECRET),
                  data={'grant_type': 'client_credentials'})
    requests.get(atlas.url + '/__sim__/log')  # the control path is not an API request
    # the digest challenge leg, the authenticated GET and the token request: one delay each, scaled
    assert slept == [0.05, 0.05, 0.05]


def test_latency_jitter_stays_within_its_bound(woodcore, monkeypatch):
    slept = []
    monkeypatch.setattr(base.time, 'sleep', slept.append)
    woodcore.update_settings({'latency': 0.1, 'latency_jitter': 0.05})
    for dummy in range(5):
        requests.get(woodcore.url + '/api/v2/gateway/health')
    assert len(slept) == 5 and all(0.1 <= s <= 0.15 for s in slept)
