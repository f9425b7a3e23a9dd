# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Requests per converge, counted by the simulators, against the floor and a one-resource-per-entry tool.

    .venv/bin/python bench/request_counts.py [--sizes 1,100,1000,5000]

Atlas: one key holding N entries, in four states (from empty, from half present, no-op, purge of
half). Floor: ceil(entries read / 500) GETs (at least one) + at most one POST + one DELETE per
removal. One-resource-per-entry (how Terraform's mongodbatlas_access_list_api_key works): a refresh
GET per entry it manages, plus POST and read-back GET per created entry, DELETE per removed entry.
Woodcore: requests and OTP emails per run for each state of the two-phase flow.
The converge code is the collection's own (module_utils.fleet.run, what the role and modules use).
"""

from __future__ import annotations

import argparse
import math
import tempfile
from pathlib import Path

# first: bench_common puts the collection on sys.path
from bench_common import ips, one_key_atlas_seed, write_results

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import fleet
from ansible_collections.apiaccess.ipwhitelist.tests.simulators.atlas import AtlasSimulator
from ansible_collections.apiaccess.ipwhitelist.tests.simulators.woodcore import WoodcoreSimulator

ORG = '65c000000000000000000001'
KEY = '66c000000000000000000001'
PUBLIC, PRIVATE = 'countkey', 'count-private-key-0000-000000000001'
WC_KEY = 'wc_test_COUNTS00000000000000000001'


def atlas_seed(entries):
    return one_key_atlas_seed(ORG, KEY, PUBLIC, PRIVATE, entries)


def params(raw):
    result = ArgumentSpecValidator(fleet.argument_spec()).validate(raw)
    assert not result.error_messages, result.error_messages
    return result.validated_parameters


def counted(sim):
    """(GET, POST, DELETE, total) of the requests that passed authentication (no digest challenges)."""
    methods = [e['method'] for e in sim.log if e['status'] != 401]
    return methods.count('GET'), methods.count('POST'), methods.count('DELETE'), len(methods)


def atlas_case(sim, current, wanted, purge):
    sim.reset(atlas_seed(current))
    sim.update_settings({'rate_limit_capacity': 0})
    result = fleet.run(params({
        'fleet': {'h%d' % i: a for i, a in enumerate(wanted)}, 'atlas_base_url': sim.url,
        'atlas_public_key': PUBLIC, 'atlas_private_key': PRIVATE,
        'atlas_keys': [{'org_id': ORG, 'api_key': KEY, 'purge': purge}]}))
    assert result['converged'], result
    return counted(sim)


def atlas_rows(sizes):
    rows = []
    with AtlasSimulator(seed=atlas_seed([])) as sim:
        for n in sizes:
            half = n // 2
            states = [
                ('from empty', [], ips(n), False),
                ('from half present', ips(half), ips(n), False),
                ('no-op', ips(n), ips(n), False),
                ('purge of half', ips(n), ips(n - half), True),
            ]
            for state, current, wanted, purge in states:
                gets, posts, deletes, total = atlas_case(sim, current, wanted, purge)
                adds = len(set(wanted) - set(current))
                removes = len(set(current) - set(wanted)) if purge else 0
                writes = (1 if adds else 0) + removes
                # a run that removes from a key's list first reads the address it calls from (once per run),
                # so that it never removes its own caller's address (Atlas would refuse, after the POST)
                caller = 1 if removes else 0
                floor = max(1, math.ceil(len(current) / 500)) + writes + caller
                # totalCount is only an estimate [V], so a full last page needs one more (empty) page
                safe_floor = len(current) // 500 + 1 + writes + caller
                per_entry = len(set(current) & set(wanted) | (set(current) if purge else set())) + 2 * adds + removes
                rows.append(dict(n=n, state=state, gets=gets, posts=posts, deletes=deletes, total=total,
                                 floor=floor, safe_floor=safe_floor, per_entry_tool=per_entry))
    return rows


def woodcore_rows():
    rows = []
    with tempfile.TemporaryDirectory() as work:
        ledger = str(Path(work) / 'pending.json')
        with WoodcoreSimulator(seed={'keys': [{'key': WC_KEY, 'name': 'pay', 'owner_email': 'o@example.com',
                                               'ip': '192.0.2.200'}]}) as sim:
            def run(label, ip, otp=None, check_mode=False):
                before_log, before_mail = len([e for e in sim.log if e['status'] != 401]), len(sim.emails())
                result = fleet.run(params({
                    'fleet': {'nat': ip}, 'woodcore_base_url': sim.url + '/api/v2',
                    'woodcore_pending_state_path': ledger, 'woodcore_otps': {'pay': otp} if otp else {},
                    'woodcore_keys': [{'name': 'pay', 'api_key': WC_KEY}]}), check_mode=check_mode)
                assert not result['failed'], result
                rows.append(dict(state=label, requests=len([e for e in sim.log if e['status'] != 401]) - before_log,
                                 emails=len(sim.emails()) - before_mail))
            run('new IP, check mode', '198.51.100.7', check_mode=True)
            run('new IP, first run (requests the OTP)', '198.51.100.7')
            run('rerun before the OTP arrives (within resend_after)', '198.51.100.7')
            run('approval with the OTP', '198.51.100.7', otp=sim.emails()[-1]['otp'])
            run('no-op (IP already whitelisted)', '198.51.100.7')
    return rows


def section(atlas, woodcore):
    lines = ['## Requests per converge', '',
             'Counted by the simulator (digest challenge legs excluded). Floor: ceil(entries read / 500) GETs (at',
             'least one) + at most one POST + one DELETE per removal + one read of the address the run calls from',
             '(`GET /api/private/ipinfo`, once per run that removes entries: the caller\'s own address is kept at',
             'plan time, since Atlas refuses to remove it). One-resource-per-entry: what a tool with one',
             'resource per entry sends (Terraform `mongodbatlas_access_list_api_key`: a refresh GET per managed',
             'entry, POST + read-back GET per created entry, DELETE per removed entry).', '',
             'Because Atlas documents `totalCount` as an estimate [V], reading stops on a short or empty page, so',
             'a list that is an exact multiple of 500 costs one more (empty) page: "safe floor" below.', '',
             '| entries N | state | GET | POST | DELETE | total | floor | safe floor | one-resource-per-entry |',
             '|---|---|---|---|---|---|---|---|---|']
    for r in atlas:
        lines.append('| {n} | {state} | {gets} | {posts} | {deletes} | {total} | {floor} | {safe_floor} | '
                     '{per_entry_tool} |'.format(**r))
    lines += ['', 'Woodcore (one key, one IP):', '', '| state | requests | OTP emails |', '|---|---|---|']
    for r in woodcore:
        lines.append('| {state} | {requests} | {emails} |'.format(**r))
    return lines + ['']


def run(sizes):
    atlas, woodcore = atlas_rows(sizes), woodcore_rows()
    for r in atlas:
        print('atlas N=%(n)-5d %(state)-18s total %(total)5d  floor %(floor)5d  safe floor %(safe_floor)5d  '
              'one-resource-per-entry %(per_entry_tool)6d' % r, flush=True)
    for r in woodcore:
        print('woodcore %-52s requests %d  emails %d' % (r['state'], r['requests'], r['emails']))
    data = {'atlas': atlas, 'woodcore': woodcore}
    write_results('request_counts', data)
    return data


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--sizes', default='1,100,1000,5000')
    args = parser.parse_args()
    run([int(s) for s in args.sizes.split(',')])


if __name__ == '__main__':
    main()
