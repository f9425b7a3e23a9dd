# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The access-list engine's big purges: DELETEs in parallel, bounded, inside the rate-limit bucket, at the
same exact request count, and a failure that reports exactly what is gone. Counts and bounds, not times."""

from __future__ import annotations

import pytest

from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import addresses, atlas
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.http_client import ApiError
from ansible_collections.apiaccess.ipwhitelist.plugins.modules import atlas_apikey_whitelist
from ansible_collections.apiaccess.ipwhitelist.tests.simulators.atlas import AtlasSimulator
from ansible_collections.apiaccess.ipwhitelist.tests.unit.conftest import (
    KEY2_ID, ORG, PRIVATE, PUBLIC, atlas_seed, run_module,
)

STALE = ['10.9.%d.%d' % (i // 200, i % 200 + 1) for i in range(60)]
WANTED = ['203.0.113.1', '203.0.113.2']
LIST = '/api/atlas/v2/orgs/%s/apiKeys/%s/accessList' % (ORG, KEY2_ID)


def seed():
    data = atlas_seed()
    data['orgs'][0]['api_keys'][1]['access_list'] = list(STALE)  # KEY2: 60 stale entries; the caller is KEY1
    return data


def api_for(sim, pool_size=16):
    params = dict(base_url=sim.url, public_key=PUBLIC, private_key=PRIVATE, client_id=None, client_secret=None,
                  api_version='v2', api_path_prefix=None, timeout=30, validate_certs=True, ca_path=None,
                  proxy=None, retries=5, retry_max_wait=60, allow_http=True)
    return atlas.build_api(params, pool_size=pool_size)


def purge(sim, concurrency, pool_size=16):
    api = api_for(sim, pool_size)
    desired = atlas.Desired('api_key', addresses.parse_networks(WANTED), purge=True)
    return atlas.converge(api.access_list('api_key', ORG, KEY2_ID), desired, delete_concurrency=concurrency)


def authenticated(sim, method=None):
    return [e for e in sim.requests(method) if e['status'] != 401]


@pytest.mark.parametrize('concurrency', [1, 8])
def test_a_purge_makes_the_same_requests_at_any_concurrency(concurrency):
    with AtlasSimulator(seed=seed(), rate_limit_capacity=0, latency=0.02) as sim:
        result = purge(sim, concurrency)
        assert result['changed'] and len(result['removed']) == 60
        assert sorted(sim.access_list(ORG, KEY2_ID)) == ['203.0.113.1/32', '203.0.113.2/32']
        # one read, the caller's address (a run that removes entries checks it is not removing its own),
        # one POST, one DELETE per stale entry: nothing more, nothing twice
        assert [(e['method'], e['path'].split('/')[2]) for e in authenticated(sim)] == \
            [('GET', 'atlas'), ('GET', 'private'), ('POST', 'atlas')] + [('DELETE', 'atlas')] * 60
        deleted = sorted(e['path'].rsplit('/', 1)[1] for e in authenticated(sim, 'DELETE'))
        assert deleted == sorted(STALE)
        # bounded: never more requests at once than asked for; and they do overlap when asked
        if concurrency == 1:
            assert sim.max_in_flight == 1
        else:
            assert 2 <= sim.max_in_flight <= concurrency


def test_the_connection_pool_bounds_the_requests_in_flight():
    """More DELETE workers than pooled connections wait for a connection: never more in flight than the pool."""
    with AtlasSimulator(seed=seed(), rate_limit_capacity=0, latency=0.02) as sim:
        purge(sim, concurrency=12, pool_size=3)
        assert 2 <= sim.max_in_flight <= 3
        assert len(authenticated(sim, 'DELETE')) == 60


def test_a_parallel_purge_stays_inside_a_small_bucket():
    """60 DELETEs against a bucket of 10 refilling 40 per second: every one paced, none fails, and 429s stay
    at most one per worker (sent before the client learns the bucket)."""
    with AtlasSimulator(seed=seed(), rate_limit_capacity=10, rate_limit_refill=40.0,
                        rate_limit_refill_mode='continuous') as sim:
        result = purge(sim, concurrency=8)
        assert len(result['removed']) == 60
        assert sorted(sim.access_list(ORG, KEY2_ID)) == ['203.0.113.1/32', '203.0.113.2/32']
        assert len([e for e in sim.log if e['status'] == 429]) <= 8
        assert len([e for e in authenticated(sim, 'DELETE') if e['status'] == 204]) == 60


def test_a_failed_delete_stops_new_ones_and_reports_exactly_what_is_gone():
    with AtlasSimulator(seed=seed(), rate_limit_capacity=0, latency=0.01) as sim:
        failing = STALE[20]
        sim.add_fault('status', status=403, method='DELETE', path='/accessList/%s$' % failing.replace('.', r'\.'))
        api = api_for(sim)
        with pytest.raises(ApiError) as caught:
            atlas.converge(api.access_list('api_key', ORG, KEY2_ID),
                           atlas.Desired('api_key', addresses.parse_networks(WANTED), purge=True), delete_concurrency=4)
        exc = caught.value
        assert ('could not remove %s/32' % failing) in str(exc)
        gone = sorted(set(STALE) - set(e.split('/')[0] for e in sim.access_list(ORG, KEY2_ID)))
        # what the journal says is done is exactly what is done, and the POST came first
        journal = api.client.journal
        assert journal.items('add') == ['203.0.113.1/32', '203.0.113.2/32']
        assert sorted(journal.items('remove')) == sorted(addresses.sorted_canonical(addresses.parse_networks(gone)))
        assert failing not in gone
        # no DELETE started after the failure but those already in flight: at most the workers' worth more
        sent = [e['path'].rsplit('/', 1)[1] for e in authenticated(sim, 'DELETE')]
        assert len(sent) <= sent.index(failing) + 4


def test_the_module_sends_its_deletes_in_parallel(capsys):
    with AtlasSimulator(seed=seed(), rate_limit_capacity=0, latency=0.02) as sim:
        failed, result = run_module(capsys, atlas_apikey_whitelist.main, dict(
            base_url=sim.url, public_key=PUBLIC, private_key=PRIVATE, org_id=ORG, api_key=KEY2_ID,
            entries=WANTED, purge=True, concurrency=6, allow_http=True))
        assert not failed and result['changed'] and len(result['removed']) == 60
        assert 2 <= sim.max_in_flight <= 6
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
    """The digest challenge is shared by the run's threads (here eight DELETE workers): one 401 round trip per
    run where a nonce may serve many requests. Where the server refuses a nonce (every value of the [U]
    simulator setting digest_nonce), the refused request is challenged afresh and nothing fails."""
    with AtlasSimulator(seed=seed(), rate_limit_capacity=0, latency=0.01, digest_nonce=policy) as sim:
        result = purge(sim, concurrency=8)
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
