# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""bench/wan.py's floor (issue 21, part 3): the critical path, the round trips a run's Atlas requests need with at
most the implementation's concurrency in flight, the floor with unlimited concurrency beside it, and the rows a
run of some scenarios keeps of the others. Figures in, figures out: no timing."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent / 'bench'))

import wan  # noqa: E402  pylint: disable=wrong-import-position

KEY = '/api/atlas/v2/orgs/o1/apiKeys/k%d/accessList'
MACHINE = dict(latency=0.1, latency_jitter=0.01, time_scale=10.0, cpus=2)


def first_run_log(keys=3):
    """The digest challenge, then per key: a page, the POST, 3 DELETEs; Woodcore: a profile read, a request."""
    log = [{'method': 'GET', 'path': KEY % 0, 'status': 401}]
    for k in range(keys):
        log += [{'method': 'GET', 'path': KEY % k, 'status': 200}, {'method': 'POST', 'path': KEY % k, 'status': 201}]
        log += [{'method': 'DELETE', 'path': KEY % k + '/192.0.2.%d' % i, 'status': 204} for i in range(3)]
    log += [{'method': 'GET', 'path': '/api/v2/gateway/keyprofile', 'status': 200},
            {'method': 'POST', 'path': '/api/v2/gateway/apiKeys/ipwhitelist', 'status': 200}]
    return log


def row(implementation, seconds, concurrency, atlas_requests=16, chain=4, startup=1.0, bucket_bound=0.0, run='first'):
    r = dict(scenario='a', implementation=implementation, run=run, seconds=seconds, rss_mb=70.0, requests=17,
             limited=0, challenges=1, startup=startup, critical_rtts=chain, atlas_chain=chain, woodcore_chain=2,
             atlas_requests=atlas_requests, rtt=0.1, bucket_bound=bucket_bound, bucket=None, concurrency=concurrency,
             time_scale=1.0)
    wan.score(r)
    return r


def test_the_chains_of_a_first_run():
    assert wan.chains(first_run_log()) == (4, 4, 2)
    assert wan.critical_path(first_run_log()) == 4


def test_the_floor_is_the_longer_of_the_critical_path_and_the_requests_in_flight():
    wide = row('role (playbooks/fleet.yml)', 2.0, concurrency=32, atlas_requests=16)
    assert wide['bound_by'] == 'latency' and wide['floor'] == wide['physical_floor'] == 1.0 + 4 * 0.1
    narrow = row('role, concurrency 2', 2.0, concurrency=2, atlas_requests=16)
    # the challenge's round trip first (nothing authenticated leaves before it), then the other 15, 2 at a time
    assert narrow['bound_by'] == 'in flight' and abs(narrow['floor'] - (1.0 + (1 + 15 / 2.0) * 0.1)) < 1e-9
    assert abs(narrow['physical_floor'] - 1.4) < 1e-9 and narrow['ratio'] > 1.0 and narrow['physical_ratio'] > 1.0
    bucket = row('role (playbooks/fleet.yml)', 60.0, concurrency=2, bucket_bound=48.0)
    assert bucket['bound_by'] == 'bucket' and bucket['floor'] == bucket['physical_floor'] == 49.0
    assert wan.in_flight_rtts(251, 32) == 251 / 32.0 and wan.in_flight_rtts(251, None) == 0.0
    assert wan.in_flight_rtts(252, 32, challenges=1) == 1 + 251 / 32.0
    assert wan.in_flight_rtts(252, 32, challenges=3) == 1 + 249 / 32.0  # asked for at once: one round trip


def test_other_implementations_take_the_roles_challenge_too():
    role = dict(row(wan.ROLE, 2.0, concurrency=2), floor_challenges=1)
    uri = dict(row('ansible.builtin.uri', 300.0, concurrency=None), challenges=350, floor_challenges=350)
    wan.rescore([role, uri], wan.ROLE)
    assert uri['floor_challenges'] == 1 and uri['challenges'] == 350 and uri['floor'] == role['floor']


def test_other_implementations_take_the_roles_requests_and_concurrency():
    rows = [row(wan.ROLE, 2.0, concurrency=2), row('role, concurrency 16', 1.8, concurrency=16),
            row('python + requests, sequential', 9.0, concurrency=1, atlas_requests=15, chain=3),
            row(wan.NO_TARGETS, 1.5, concurrency=2, atlas_requests=0, chain=0)]
    wan.rescore(rows, wan.ROLE)
    role, wider, script, bare = rows
    assert script['concurrency'] == 2 and script['floor'] == role['floor'] and script['atlas_requests'] == 16
    assert wider['concurrency'] == 16 and wider['floor'] < role['floor']
    assert bare['floor'] == bare['startup'] == 1.0


def test_a_run_of_some_scenarios_keeps_the_others_rows_from_the_page():
    earlier = [row(wan.ROLE, 2.0, concurrency=32), row('ansible.builtin.uri', 300.0, concurrency=None)]
    earlier += [dict(row(wan.ROLE, 58.0, concurrency=32, bucket_bound=48.0), scenario='b', bucket='Programmatic '
                     'API Keys (2500 requests)')]
    page = '\n'.join(['<!-- wan:start -->'] + wan.section(MACHINE, earlier, {}) + ['<!-- wan:end -->'])
    page = page.replace('- **c ', '- **d (mixed).** kept words\n- **c ')
    previous, bullets = wan.previous_rows(page)
    assert [(r['scenario'], r['implementation'], r['seconds']) for r in previous] == [
        ('a', wan.ROLE, 2.0), ('a', 'ansible.builtin.uri', 300.0), ('b', wan.ROLE, 58.0)]
    assert previous[2]['bound_by'] == 'bucket' and previous[2]['bucket'] == 'Programmatic API Keys (2500 requests)'
    now = [row(wan.ROLE, 1.5, concurrency=32)]
    merged = wan.merge_kept(now, previous)
    # scenario a ran: only the uri row it skipped is kept; scenario b did not run: kept whole
    assert [(r['scenario'], r['implementation'], bool(r.get('kept'))) for r in merged] == [
        ('a', wan.ROLE, False), ('a', 'ansible.builtin.uri', True), ('b', wan.ROLE, True)]
    text = '\n'.join(wan.section(MACHINE, merged, bullets))
    assert '| ansible.builtin.uri (kept) | first | 300.00 s |' in text and '| 1.50 s |' in text
    assert 'Rows marked (kept)' in text
    # an earlier table's own rows parse again, kept marks and all
    again = wan.previous_rows('<!-- wan:start -->\n%s\n<!-- wan:end -->' % text)[0]
    assert [(r['implementation'], r['seconds']) for r in again] == [(r['implementation'], r['seconds']) for r in merged]
