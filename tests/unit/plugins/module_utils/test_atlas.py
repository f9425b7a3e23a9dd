# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The access-list engine's big purges: DELETEs in parallel, bounded, inside the rate-limit bucket, at the
same exact request count, and a failure that reports exactly what is gone. Counts and bounds, not times.

Nothing here depends on how threads happen to be scheduled: the simulator holds DELETEs at a door until
the test's condition holds (so "in parallel" is proved by several being there at once, never by timing),
and token buckets run on one fake clock shared by the simulator and the run's pacer."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import unquote

import pytest

from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import addresses, atlas
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.http_client import Pacer
from ansible_collections.apiaccess.ipwhitelist.plugins.modules import atlas_apikey_whitelist
from ansible_collections.apiaccess.ipwhitelist.tests.simulators.atlas import AtlasSimulator
from ansible_collections.apiaccess.ipwhitelist.tests.simulators.base import TokenBucket
from ansible_collections.apiaccess.ipwhitelist.tests.unit.conftest import (
    KEY2_ID, ORG, PRIVATE, PUBLIC, FakeClock, atlas_seed, run_module,
)

STALE = ['10.9.%d.%d' % (i // 200, i % 200 + 1) for i in range(60)]  # in address order: the order of the DELETEs
WANTED = ['203.0.113.1', '203.0.113.2']
LIST = '/api/atlas/v2/orgs/%s/apiKeys/%s/accessList' % (ORG, KEY2_ID)
# The longest a request waits at the door. Only a broken run ever waits that long: the waits are recorded
# (``stuck``) and every test asserts there were none.
GUARD = 60.0


def seed():
    data = atlas_seed()
    data['orgs'][0]['api_keys'][1]['access_list'] = list(STALE)  # KEY2: 60 stale entries; the caller is KEY1
    return data


class DoorSimulator(AtlasSimulator):
    """The Atlas simulator with a door in front of its DELETEs. ``gate(address, arrived)`` says what the DELETE
    of ``address`` waits for at the door: None (in at once) or a function that waits and says whether what
    it waited for came; ``arrived`` is every address that came to the door so far, in order.
    ``most_deletes``: the most DELETEs at the door or inside at once (each of them was in flight at the
    client). ``stuck``: the DELETEs whose wait ran out (GUARD seconds): a working run has none."""

    def __init__(self, gate=None, **settings):
        super(DoorSimulator, self).__init__(seed=seed(), **settings)
        self.gate = gate or (lambda address, arrived: None)
        self.door = threading.Lock()
        self.arrived = []
        self.deletes = self.most_deletes = 0
        self.stuck = []

    def handle(self, request):
        if request.method != 'DELETE':
            return super(DoorSimulator, self).handle(request)
        address = unquote(request.raw_path.rsplit('/', 1)[1]).split('/')[0]
        with self.door:
            self.arrived.append(address)
            self.deletes += 1
            self.most_deletes = max(self.most_deletes, self.deletes)
            wait = self.gate(address, list(self.arrived))
        try:
            if wait is not None and not wait():
                self.stuck.append(address)
            return super(DoorSimulator, self).handle(request)
        finally:
            with self.door:
                self.deletes -= 1


def until(event):
    """A wait at the door for ``event``."""
    return lambda: event.wait(GUARD)


def together(count, grace=0.2):
    """A gate: the first ``count`` DELETEs wait until ``count`` are at the door at once (a client sending fewer
    in parallel leaves them ``stuck``: a run that passes proved ``count`` in flight). Then they stay ``grace``
    seconds more, in which a client sending more than ``count`` at once would show one more (which a bounded
    client never sends: for it this is a plain pause, it changes no outcome)."""
    everyone, one_more = threading.Event(), threading.Event()

    def wait():
        if not everyone.wait(GUARD):
            return False
        one_more.wait(grace)
        return True

    def gate(address, arrived):
        if len(arrived) >= count:
            everyone.set()
        if len(arrived) > count:
            one_more.set()
            return None
        return wait
    return gate


def api_for(sim, pool_size=16, **client_kwargs):
    params = dict(base_url=sim.url, public_key=PUBLIC, private_key=PRIVATE, client_id=None, client_secret=None,
                  api_version='v2', api_path_prefix=None, timeout=30, validate_certs=True, ca_path=None,
                  proxy=None, retries=5, retry_max_wait=60, allow_http=True)
    return atlas.build_api(params, pool_size=pool_size, **client_kwargs)


def purge(sim, concurrency, pool_size=16, **client_kwargs):
    api = api_for(sim, pool_size, **client_kwargs)
    desired = atlas.Desired('api_key', addresses.parse_networks(WANTED), purge=True)
    return atlas.converge(api.access_list('api_key', ORG, KEY2_ID), desired, delete_concurrency=concurrency)


def authenticated(sim, method=None):
    return [e for e in sim.requests(method) if e['status'] != 401]


def address(entry):
    """The address of a logged DELETE."""
    return unquote(entry['path'].rsplit('/', 1)[1]).split('/')[0]


@pytest.mark.parametrize('concurrency', [1, 8])
def test_a_purge_makes_the_same_requests_at_any_concurrency(concurrency):
    """The same requests, each once, whatever the concurrency; the DELETEs really go ``concurrency`` at a time
    (the door holds the first ones until that many are there at once), and never more."""
    with DoorSimulator(gate=together(concurrency), rate_limit_capacity=0) as sim:
        result = purge(sim, concurrency)
        assert sim.stuck == []
        assert result['changed'] and len(result['removed']) == 60
        assert sorted(sim.access_list(ORG, KEY2_ID)) == ['203.0.113.1/32', '203.0.113.2/32']
        # one read, the caller's address (a run that removes entries checks it is not removing its own),
        # one POST, one DELETE per stale entry: nothing more, nothing twice
        assert [(e['method'], e['path'].split('/')[2]) for e in authenticated(sim)] == \
            [('GET', 'atlas'), ('GET', 'private'), ('POST', 'atlas')] + [('DELETE', 'atlas')] * 60
        assert sorted(address(e) for e in authenticated(sim, 'DELETE')) == sorted(STALE)
        assert sim.most_deletes == concurrency and sim.max_in_flight <= concurrency


def test_the_connection_pool_bounds_the_requests_in_flight():
    """More DELETE workers than pooled connections wait for a connection: three in flight at once (the door
    waits for three), never more than the pool."""
    with DoorSimulator(gate=together(3), rate_limit_capacity=0) as sim:
        purge(sim, concurrency=12, pool_size=3)
        assert sim.stuck == []
        assert sim.most_deletes == 3 and sim.max_in_flight <= 3
        assert len(authenticated(sim, 'DELETE')) == 60


def test_a_parallel_purge_stays_inside_a_small_bucket():
    """60 DELETEs by 8 workers against a bucket of 10 refilling 40 per second (faster than the documented 250
    per minute the client assumes): the workers wait for tokens instead of collecting 429s, and all 60 go
    through. The bucket, the pacer and the retries share a fake clock that moves only when the run sleeps:
    unpaced, a 429 for every 10 requests or so (at least 62 / 10 - 1, so 6), paced none: the mirror never holds
    more than the server, whose steady refill outpaces the documented one, even where answers cross on the way
    back (test_pacing.py)."""
    clock = FakeClock()
    with AtlasSimulator(seed=seed(), rate_limit_capacity=10, rate_limit_refill=40.0,
                        rate_limit_refill_mode='continuous') as sim:
        sim.buckets[('Programmatic API Keys', ORG)] = TokenBucket(10, 40.0, clock=clock.clock)
        result = purge(sim, concurrency=8, sleep=clock.sleep,
                       pacer=Pacer(atlas.rate_limit_bucket, clock=clock.clock, sleep=clock.sleep))
        assert len(result['removed']) == 60
        assert sorted(sim.access_list(ORG, KEY2_ID)) == ['203.0.113.1/32', '203.0.113.2/32']
        assert [e for e in sim.log if e['status'] == 429] == []
        assert sorted(address(e) for e in authenticated(sim, 'DELETE') if e['status'] == 204) == sorted(STALE)
        assert clock.now > 1000.0  # the run did wait for its tokens


def traced_pool(returned):
    """The engine's DELETE pool, unchanged but for ``returned(argument)`` once each task (one DELETE) is done."""
    class TracedPool(ThreadPoolExecutor):
        def submit(self, fn, *args, **kwargs):
            def task(*task_args, **task_kwargs):
                try:
                    return fn(*task_args, **task_kwargs)
                finally:
                    returned(*task_args)
            return super(TracedPool, self).submit(task, *args, **kwargs)
    return TracedPool


def test_a_failed_delete_stops_new_ones_and_reports_exactly_what_is_gone(capsys, monkeypatch):
    """Four workers. The 21st DELETE fails (403) while the three after it are in flight: the door holds it
    until those three are there, and holds them until the failing worker is done with it. From then on every
    worker knows of the failure, so no DELETE may start any more: exactly 24 are sent (never the last 36),
    the three in flight finish, and the failure says exactly what is gone."""
    failing, behind = STALE[20], STALE[21:24]
    behind_came, failure_known = threading.Event(), threading.Event()

    def gate(address, arrived):
        if set(behind) <= set(arrived):
            behind_came.set()
        if address == failing:
            return until(behind_came)
        return until(failure_known) if address in behind else None

    def returned(entry):
        if addresses.canonical(entry.net) == failing + '/32':
            failure_known.set()

    monkeypatch.setattr(atlas, 'ThreadPoolExecutor', traced_pool(returned))
    with DoorSimulator(gate=gate, rate_limit_capacity=0) as sim:
        sim.add_fault('status', status=403, method='DELETE', path='/accessList/%s$' % failing.replace('.', r'\.'))
        failed, result = run_module(capsys, atlas_apikey_whitelist.main, dict(
            base_url=sim.url, public_key=PUBLIC, private_key=PRIVATE, org_id=ORG, api_key=KEY2_ID,
            entries=WANTED, purge=True, concurrency=4, allow_http=True))
        assert sim.stuck == []
        sent = authenticated(sim, 'DELETE')
        # the POST came first; then exactly the DELETEs up to the three that were in flight, each once
        assert [e['method'] for e in authenticated(sim)] == ['GET', 'GET', 'POST'] + ['DELETE'] * 24
        assert sorted(address(e) for e in sent) == sorted(STALE[:24])
        assert [e['status'] for e in sent if address(e) == failing] == [403]
        assert all(e['status'] == 204 for e in sent if address(e) != failing)
        # what the failure says is gone is exactly what is gone
        gone = ['%s/32' % a for a in STALE[:20] + behind]
        assert sorted(sim.access_list(ORG, KEY2_ID)) == sorted(
            ['203.0.113.1/32', '203.0.113.2/32', failing + '/32'] + ['%s/32' % a for a in STALE[24:]])
        assert failed and result['changed'] is True
        assert result['added'] == ['203.0.113.1/32', '203.0.113.2/32'] and result['removed'] == gone
        assert 'could not remove %s/32' % failing in result['msg']
        assert '(already done: added 203.0.113.1/32, 203.0.113.2/32; removed %s)' % ', '.join(gone) in result['msg']


def test_the_module_sends_its_deletes_in_parallel(capsys):
    with DoorSimulator(gate=together(6), rate_limit_capacity=0) as sim:
        failed, result = run_module(capsys, atlas_apikey_whitelist.main, dict(
            base_url=sim.url, public_key=PUBLIC, private_key=PRIVATE, org_id=ORG, api_key=KEY2_ID,
            entries=WANTED, purge=True, concurrency=6, allow_http=True))
        assert sim.stuck == []
        assert not failed and result['changed'] and len(result['removed']) == 60
        assert sim.most_deletes == 6 and sim.max_in_flight <= 6
        assert len(authenticated(sim, 'DELETE')) == 60


def test_the_module_refuses_a_concurrency_below_one_before_any_request(capsys):
    with AtlasSimulator(seed=seed(), rate_limit_capacity=0) as sim:
        failed, result = run_module(capsys, atlas_apikey_whitelist.main, dict(
            base_url=sim.url, public_key=PUBLIC, private_key=PRIVATE, org_id=ORG, api_key=KEY2_ID,
            entries=WANTED, purge=True, concurrency=0, allow_http=True))
        assert failed and 'concurrency must be 1 or more, got 0' in result['msg']
        assert sim.log == []


@pytest.mark.parametrize('policy', ['reuse', 'increasing_nc', 'single_use'])
def test_one_digest_challenge_serves_every_thread_where_the_server_allows(policy):
    """The digest challenge is shared by the run's threads (here eight DELETE workers, the first eight of them
    at the server at once): one 401 round trip per run where a nonce may serve many requests. Where the
    server refuses a nonce (every value of the [U] simulator setting digest_nonce), the refused request is
    challenged afresh and nothing fails."""
    with DoorSimulator(gate=together(8), rate_limit_capacity=0, digest_nonce=policy) as sim:
        result = purge(sim, concurrency=8)
        assert sim.stuck == []
        assert len(result['removed']) == 60
        assert sorted(sim.access_list(ORG, KEY2_ID)) == ['203.0.113.1/32', '203.0.113.2/32']
        answered = authenticated(sim)
        challenges = [e for e in sim.log if e['status'] == 401]
        assert len(answered) == 63 and all(e['status'] in (200, 201, 204) for e in answered)
        if policy == 'reuse':
            assert len(challenges) == 1
        elif policy == 'single_use':
            # the protocol's price: every authenticated request its own nonce (the caller-address read needs none)
            assert len(challenges) == 62
        else:
            assert 1 <= len(challenges) < 63
