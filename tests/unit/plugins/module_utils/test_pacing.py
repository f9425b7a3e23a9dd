# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pacing to Atlas's token buckets, shared by every worker of a run: the workers of a fleet run wait for
tokens instead of collecting 429s, a 429 pauses every worker of that bucket, and waiting for a bucket is
never charged to the retry wait budget. Counts, not times."""

from __future__ import annotations


import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import atlas, fleet, http_client
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.http_client import Pacer
from ansible_collections.apiaccess.ipwhitelist.tests.simulators.atlas import AtlasSimulator
from ansible_collections.apiaccess.ipwhitelist.tests.simulators.base import TokenBucket
from ansible_collections.apiaccess.ipwhitelist.tests.unit.conftest import ORG, PRIVATE, PUBLIC, FakeClock

KEYS = '/api/atlas/v2/orgs/%s/apiKeys/%%s/accessList' % ORG


def test_buckets_by_endpoint_set_and_scope():
    assert atlas.rate_limit_bucket(KEYS % ('6a' * 12)) == (('Programmatic API Keys', ORG), 250 / 60.0)
    assert atlas.rate_limit_bucket('/api/atlas/v2/groups/%s/accessList' % ('6b' * 12))[0] == \
        ('Project IP Access List', '6b' * 12)
    assert atlas.rate_limit_bucket('/api/atlas/v2/orgs/%s/serviceAccounts/x/accessList' % ORG)[0][0] == \
        'Service Accounts (org)'
    assert atlas.rate_limit_bucket('/api/oauth/token') is None
    assert atlas.rate_limit_bucket('/api/private/ipinfo') is None


def test_the_pacer_learns_the_bucket_and_waits_for_refill():
    fake = FakeClock()
    pacer = Pacer(atlas.rate_limit_bucket, clock=fake.clock, sleep=fake.sleep)
    path = KEYS % ('6a' * 12)
    pacer.before(path)  # capacity unknown yet: goes at once
    pacer.after(path, {'RateLimit-Limit': '3', 'RateLimit-Remaining': '2'})
    for dummy in range(2):
        pacer.before(path)
    assert fake.slept == []
    pacer.before(path)  # the bucket is empty: one token at 250 per 60 s is 0.24 s away
    assert fake.slept == [0.24]


def test_the_mirror_believes_the_server_less_what_is_in_flight():
    """A server that refilled faster than documented (or in a step) is seen at the next answer; requests
    still in flight are not counted twice, and the retry of a request in flight is not a new one."""
    fake = FakeClock()
    pacer = Pacer(atlas.rate_limit_bucket, clock=fake.clock, sleep=fake.sleep)
    path = KEYS % ('6a' * 12)
    pacer.before(path)
    pacer.after(path, {'RateLimit-Limit': '500', 'RateLimit-Remaining': '0'})
    for dummy in range(3):
        pacer.before(path)                # each waits for one documented token: 0.24 s
    assert fake.slept == [0.24] * 3
    pacer.before(path, retry=True)        # a 429's retry: a token, not another request in flight
    bucket = pacer._buckets[('Programmatic API Keys', ORG)]
    assert bucket.in_flight == 3
    pacer.after(path, {'RateLimit-Limit': '500', 'RateLimit-Remaining': '250'})  # the server refilled 250
    assert bucket.in_flight == 2 and bucket.tokens == 248   # the two still in flight may not be counted yet
    pacer.after(path, None)               # a lost answer: no longer in flight, nothing learned
    assert bucket.in_flight == 1 and bucket.tokens == 248
    del fake.slept[:]
    for dummy in range(248):
        pacer.before(path)
    assert fake.slept == []


def test_an_overtaken_answer_grants_no_token_the_server_does_not_hold():
    """Requests A then B in flight; the server counts A (11 left) then B (10 left), but B's answer arrives
    first. A's older answer must not lift the mirror to 11: the server holds 10 (one phantom token, then a 429)."""
    fake = FakeClock()
    pacer = Pacer(atlas.rate_limit_bucket, clock=fake.clock, sleep=fake.sleep)
    path = KEYS % ('6a' * 12)
    pacer.after(path, {'RateLimit-Limit': '500', 'RateLimit-Remaining': '12'}, pacer.before(path))
    bucket = pacer._buckets[('Programmatic API Keys', ORG)]
    first, second = pacer.before(path), pacer.before(path)
    pacer.after(path, {'RateLimit-Limit': '500', 'RateLimit-Remaining': '10'}, second)
    assert bucket.tokens == 9    # A may not be counted yet: one less than the server said
    pacer.after(path, {'RateLimit-Limit': '500', 'RateLimit-Remaining': '11'}, first)
    assert bucket.tokens == 10


@pytest.mark.parametrize('sent', [3, 4])
def test_the_mirror_never_exceeds_the_server_whatever_the_order(sent):
    """Every order in which the server counts the requests in flight and every order in which their answers
    arrive: after each answer the mirror holds no more than the server (which counted them all); when both
    orders are the sending order, the mirror ends exact."""
    import itertools
    path = KEYS % ('6a' * 12)
    orders = list(itertools.permutations(range(sent)))
    for counted in orders:
        remaining = dict((request, 50 - 1 - position) for position, request in enumerate(counted))
        for arriving in orders:
            fake = FakeClock()
            pacer = Pacer(atlas.rate_limit_bucket, clock=fake.clock, sleep=fake.sleep)
            pacer.after(path, {'RateLimit-Limit': '500', 'RateLimit-Remaining': '50'}, pacer.before(path))
            bucket = pacer._buckets[('Programmatic API Keys', ORG)]
            tickets = [pacer.before(path) for dummy in range(sent)]
            for request in arriving:
                pacer.after(path, {'RateLimit-Limit': '500', 'RateLimit-Remaining': str(remaining[request])},
                            tickets[request])
                assert bucket.tokens <= 50 - sent, (counted, arriving)
            if counted == arriving == tuple(range(sent)):
                assert bucket.tokens == 50 - sent


def test_a_429_pauses_every_worker_of_that_bucket_only():
    fake = FakeClock()
    pacer = Pacer(atlas.rate_limit_bucket, clock=fake.clock, sleep=fake.sleep)
    path = KEYS % ('6a' * 12)
    other = '/api/atlas/v2/groups/%s/accessList' % ('6b' * 12)
    assert pacer.pause(path, 5.0) is True      # worker A got a 429 with Retry-After: 5
    pacer.before(other)                        # another bucket: not paused
    assert fake.slept == []
    pacer.before(path)                         # worker B, same bucket: waits the pause out
    assert fake.slept == [5.0]
    assert pacer.pause('/api/oauth/token', 5.0) is False  # no bucket: the retry budget decides


def params(url, keys, **extra):
    raw = dict(fleet=dict(('h%d' % i, '203.0.113.%d' % (i + 1)) for i in range(3)), atlas_base_url=url,
               atlas_public_key=PUBLIC, atlas_private_key=PRIVATE, concurrency=6, retry_max_wait=0.5,
               atlas_keys=[{'org_id': ORG, 'api_key': k, 'name': 'k%d' % n} for n, k in enumerate(keys)])
    raw.update(extra)
    result = ArgumentSpecValidator(fleet.argument_spec()).validate(raw)
    assert not result.error_messages, result.error_messages
    return result.validated_parameters


@pytest.mark.parametrize('capacity, bucket', [
    # 20 tokens a second, one by one
    (6, lambda clock: TokenBucket(6, 20.0, clock=clock)),
    # 8 tokens at once every 0.2 s (60 s steps, time-scaled by 300)
    (8, lambda clock: TokenBucket(8, 8 / 60.0 * 300, clock=clock, step=0.2)),
], ids=['continuous', 'interval'])
def test_many_workers_against_a_small_bucket_all_converge(monkeypatch, capacity, bucket):
    """Six workers, 40 keys (80 requests of one bucket), a small bucket that refills faster than the documented
    rate the client assumes: no key fails, and the workers wait for tokens instead of collecting 429s.
    The simulator's bucket, the pacer and the retries share one fake clock that moves only when the run
    sleeps, so the count of 429s depends on the pacing, not on the machine's speed:
    - unpaced (a 429 pauses the bucket, but nothing waits for a token), at least 80 / capacity - 1, 9 or more:
      time moves only by the 429 waits, and each brings at most one bucketful back;
    - paced, none: the first requests, sent before the client knows the capacity, all fit (one per worker),
      then the pacer's mirror never runs ahead of the server (in steps: one comes at least every 0.24 s, the
      wait for one documented token). Answers that cross on the way back grant no token (see the test above);
      only the mirror's steady documented refill, within one of the server's steps, may believe in a token
      a moment early: rarely, one 429 each (4 at most allowed here)."""
    fake = FakeClock()
    monkeypatch.setattr(atlas, 'Pacer', lambda classify: Pacer(classify, clock=fake.clock, sleep=fake.sleep))
    monkeypatch.setattr(http_client.time, 'sleep', fake.sleep)  # the retries' waits (time.sleep, read when called)
    keys = ['6c%022x' % i for i in range(40)]
    seed = {'orgs': [{'id': ORG, 'api_keys': [{'id': '6a' * 12, 'publicKey': PUBLIC, 'privateKey': PRIVATE,
                                               'access_list': []}] +
                      [{'id': k, 'publicKey': 'pk%06d' % i, 'privateKey': 'x', 'access_list': []}
                       for i, k in enumerate(keys)]}]}
    with AtlasSimulator(seed=seed, rate_limit_capacity=capacity) as sim:
        sim.buckets[('Programmatic API Keys', ORG)] = bucket(fake.clock)
        result = fleet.run(params(sim.url, keys))
        assert result['converged'], result['msg']
        assert [r['name'] for r in result['atlas'] if r['failed']] == []
        assert all(sorted(sim.access_list(ORG, k)) == ['203.0.113.1/32', '203.0.113.2/32', '203.0.113.3/32']
                   for k in keys)
        # each key read once and written once: 80 requests of the bucket, and the retries of those refused
        statuses = [e['status'] for e in sim.log]
        assert statuses.count(200) == 80 and statuses.count(429) <= 4, statuses
        assert fake.slept  # the run did wait for its tokens
