# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The WAN profile: the role against simulators that answer each request after a WAN round trip and meter Atlas
with its documented token buckets, beside the physical floor of each scenario.

    .venv/bin/python bench/wan.py [--latency 0.1] [--time-scale 10] [--skip-uri] [--sweep 8,16,32,64]

Scenarios (issue 15):
  a  1,000 hosts -> 50 API keys + 5 Woodcore keys: the role, the sequential requests script, the uri playbook
  b  1,000 hosts -> 500 API keys (an organization's maximum): first run and no-op
  c  one API key with 2,000 stale entries, purged (and the fleet's 1,000 added)
  d  mixed: 150 hosts -> 20 API keys, 10 service accounts, 5 projects, 5 Woodcore keys

The floor of a run is start-up (an empty play over the same inventory, measured in this run) plus the larger of
the latency critical path (the longest chain of requests one list needs, with unlimited concurrency) and the
token-bucket bound (requests beyond a bucket's capacity, at its refill). Bucket-bound scenarios (b, c) run with
--time-scale: the simulators refill and answer that many times faster, and every figure here is in scaled time.
Writes bench/results/wan.json and the WAN section of docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_common import (
    COLLECTIONS, ROOT, add_wan_arguments, bucket_bound, parse_args_or_render, replace_section, run_timed, section_of,
    write_results,
)
from fleet_rollout import (
    BIN, NAT_IP, ORG, PRIVATE, PUBLIC, addresses, approve_pending, control, floor_spec, inventory, seeds, start,
    uri_vars,
)

ROLE = 'role (playbooks/fleet.yml)'
# requests in flight at most (fleet_whitelist_concurrency): the role's default, read from the role
ROLE_CONCURRENCY = int(re.search(r'^fleet_whitelist_concurrency: (\d+)$', (
    ROOT / 'roles' / 'fleet_whitelist' / 'defaults' / 'main.yml').read_text(), re.M).group(1))
NO_TARGETS = 'role with no keys (its Ansible cost alone)'
EMPTY_PLAY = '- hosts: fleet\n  gather_facts: false\n  tasks: []\n'


def role_vars(atlas_seed, woodcore_seed, ledger):
    keys = atlas_seed['orgs'][0]['api_keys'][1:]
    return {
        'fleet_whitelist_atlas_keys': [{'org_id': ORG, 'api_key': k['id'], 'purge': True} for k in keys],
        'fleet_whitelist_atlas_service_accounts': [{'org_id': ORG, 'service_account': a['client_id'], 'purge': True}
                                                   for a in atlas_seed['service_accounts']],
        'fleet_whitelist_atlas_projects': [{'project_id': p['id'], 'purge': True} for p in atlas_seed['projects']],
        'fleet_whitelist_woodcore_keys': [{'name': k['name'], 'api_key': k['key'], 'ip': NAT_IP}
                                          for k in woodcore_seed['keys']],
        'fleet_whitelist_woodcore_pending_state_path': str(ledger),
    }


def rtt(args, scale):
    return (args.latency + args.latency_jitter / 2.0) / scale


def critical_path(log):
    """The longest chain of requests one list needs with unlimited concurrency, in round trips: the digest
    challenge (one per run), its pages read one after another, then the POST, then all DELETEs at once (the
    engine adds before it removes, so a list never lacks a wanted entry). Woodcore: profile, then the request."""
    return chains(log)[0]


def chains(log):
    """(the run's critical path, the Atlas lists' longest chain, the Woodcore keys' chain), in round trips."""
    chains = {}
    challenge = 1 if any(e['status'] == 401 for e in log) else 0
    for e in log:
        if e['status'] in (401, 429) or e['path'].startswith('/api/private') or e['path'].startswith('/api/oauth'):
            continue
        path = e['path']
        if '/accessList/' in path:
            path = path.split('/accessList/')[0] + '/accessList'
        chain = chains.setdefault(path, {'GET': 0, 'POST': 0, 'DELETE': 0, 'other': 0})
        chain[e['method'] if e['method'] in chain else 'other'] += 1
    longest = 0
    woodcore = {'GET': 0, 'writes': 0}
    for path, chain in chains.items():
        if path.startswith('/api/atlas'):
            length = challenge + chain['GET'] + min(chain['POST'], 1) + min(chain['DELETE'], 1) + chain['other']
            longest = max(longest, length)
        else:  # Woodcore: every key reads its own profile (one path for all), then one request at most
            woodcore['GET'] += chain['GET']
            woodcore['writes'] += chain['POST'] + chain['DELETE'] + chain['other']
    woodcore_chain = min(woodcore['GET'], 1) + min(woodcore['writes'], 1)
    return max(longest, woodcore_chain), longest, woodcore_chain


def in_flight_rtts(requests, concurrency, challenges=0):
    """Round trips that ``requests`` need with at most ``concurrency`` of them in flight (one connection pool of
    that many connections): a lower bound, each request holding a connection for a round trip. 0 for None.

    ``challenges``: the digest challenges among ``requests`` (401 answers). No authenticated request can leave
    before the first challenge is back (the nonce is the server's), so the challenges' round trip comes first and
    the other requests share the connections after it: 1 + (requests - challenges) / concurrency. A client that
    asks for several challenges at once spends them in that same first round trip."""
    if not concurrency or not requests:
        return 0.0
    challenges = min(challenges, requests)
    return min(challenges, 1) + (requests - challenges) / float(concurrency)


class Bench(object):
    def __init__(self, args, work):
        self.args = args
        self.work = work
        self.env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / 'ansible.cfg'),
                        ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS), ANSIBLE_DISPLAY_SKIPPED_HOSTS='false',
                        ANSIBLE_LOCALHOST_WARNING='0')
        (work / 'empty.yml').write_text(EMPTY_PLAY)

    def inventory(self, n_hosts):
        path = self.work / ('inventory-%d.json' % n_hosts)
        if not path.exists():
            path.write_text(json.dumps(inventory(addresses(n_hosts))))
        return path

    def run(self, cmd, env):
        """(seconds, peak RSS in MB) of one command; fails loudly."""
        return run_timed(cmd, env, self.work)[:2]

    def startup(self, n_hosts):
        """An empty play over the same inventory: what using Ansible at all costs. The fastest of three runs: the
        floor is a lower bound, and other work on the machine only ever makes a run slower (a busy moment while
        the empty play runs would raise every floor of the scenario)."""
        cmd = [str(BIN / 'ansible-playbook'), '-i', str(self.inventory(n_hosts)), str(self.work / 'empty.yml')]
        return min(self.run(cmd, self.env)[0] for dummy in range(3))


def measure(bench, name, n_hosts, atlas_seed, woodcore_seed, scale, implementations, noop=True):
    """Run each implementation from the seed (first run), then again (no-op); figures in scaled time."""
    args, work = bench.args, bench.work
    settings = ['latency=%s' % args.latency, 'latency_jitter=%s' % args.latency_jitter, 'time_scale=%s' % scale]
    (work / 'atlas.json').write_text(json.dumps(atlas_seed))
    (work / 'woodcore.json').write_text(json.dumps(woodcore_seed))
    atlas_proc, atlas_url = start('atlas', work / 'atlas.json', work, *settings)
    wc_proc, wc_url = start('woodcore', work / 'woodcore.json', work, *settings)
    mode = control(atlas_url, 'settings')['rate_limit_refill_mode']
    env = dict(bench.env, MONGODB_ATLAS_BASE_URL=atlas_url, MONGODB_ATLAS_PUBLIC_API_KEY=PUBLIC,
               MONGODB_ATLAS_PRIVATE_API_KEY=PRIVATE, WOODCORE_BASE_URL=wc_url + '/api/v2')
    ledger = work / 'pending.json'
    startup = bench.startup(n_hosts)
    rows = []
    try:
        for label, make_cmd, concurrency in implementations:
            cmd = make_cmd(n_hosts, atlas_url, wc_url)
            control(atlas_url, 'reset', atlas_seed)
            control(wc_url, 'reset', woodcore_seed)
            if ledger.exists():
                ledger.unlink()
            for run in (['first', 'no-op'] if noop else ['first']):
                control(atlas_url, 'settings', {})   # full buckets: a later run finds them refilled
                before = len(control(atlas_url, 'log')['requests'])
                wc_before = len(control(wc_url, 'log')['requests'])
                seconds, rss = bench.run(cmd, env)
                log = control(atlas_url, 'log')['requests'][before:]
                wc_log = control(wc_url, 'log')['requests'][wc_before:]
                chain, atlas_chain, woodcore_chain = chains(log + wc_log)
                bound, bucket = bucket_bound(log, scale, mode)
                challenges = len([e for e in log if e['status'] == 401])
                row = dict(scenario=name, implementation=label, run=run, seconds=seconds, rss_mb=rss,
                           requests=len([e for e in log + wc_log if e['status'] not in (401, 429)]),
                           limited=len([e for e in log + wc_log if e['status'] == 429]),
                           challenges=challenges, floor_challenges=challenges,  # rescore: the role's for the floor
                           startup=startup, critical_rtts=chain, atlas_chain=atlas_chain,
                           woodcore_chain=woodcore_chain, atlas_requests=len([e for e in log if e['status'] != 429]),
                           rtt=rtt(args, scale), bucket_bound=bound, bucket=bucket, concurrency=concurrency,
                           time_scale=scale)
                score(row)  # rescored against the role's requests later
                rows.append(row)
                print('%s %-40s %-5s %7.2fs  floor %6.2fs (%s)  %.2fx  unlimited %.2fx  %5d req  %3d x429  '
                      '%2d challenges  %4.0f MB' % (name, label, run, seconds, row['floor'], row['bound_by'],
                                                    row['ratio'], row['physical_ratio'], row['requests'],
                                                    row['limited'], row['challenges'], rss), flush=True)
                if run == 'first' and woodcore_seed['keys']:
                    approve_pending(wc_url, [{'name': k['name'], 'api_key': k['key']} for k in woodcore_seed['keys']])
    finally:
        atlas_proc.terminate()
        wc_proc.terminate()
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_wan_arguments(parser, 'for the bucket-bound scenarios b and c')
    parser.add_argument('--concurrency', type=int, default=None, help="the role's; default: the role's default")
    parser.add_argument('--sweep', default='8,16,32,64', help='concurrency values tried in a and b ("" for none)')
    parser.add_argument('--scenarios', default='abcd')
    parser.add_argument('--skip-uri', action='store_true')
    args = parse_args_or_render(parser, 'wan', render)
    if args is None:
        return
    work = Path(tempfile.mkdtemp(prefix='apiaccess-wan-'))
    bench = Bench(args, work)
    playbook = [str(BIN / 'ansible-playbook')]

    def role(concurrency=None, targets=True):
        def make(n_hosts, atlas_url, wc_url):
            extra = {} if concurrency is None else {'fleet_whitelist_concurrency': concurrency}
            if not targets:  # what the role costs in Ansible alone: tasks, argument checks, the fleet's hostvars
                extra.update((k, []) for k in bench.role_vars if k.endswith(('_keys', '_accounts', '_projects')))
            (work / 'role-vars.json').write_text(json.dumps(dict(bench.role_vars, **extra)))
            return playbook + ['-i', str(bench.inventory(n_hosts)), 'playbooks/fleet.yml',
                               '-e', '@%s' % (work / 'role-vars.json')]
        return make

    def targets():
        atlas_seed, woodcore_seed = bench.seeds
        return ([{'org_id': ORG, 'api_key': k['id']} for k in atlas_seed['orgs'][0]['api_keys'][1:]],
                [{'name': k['name'], 'api_key': k['key'], 'ip': NAT_IP} for k in woodcore_seed['keys']])

    def script(n_hosts, atlas_url, wc_url):
        spec = floor_spec(atlas_url, wc_url, addresses(n_hosts), *targets())
        (work / 'floor.json').write_text(json.dumps(spec))
        return [sys.executable, 'bench/floor.py', str(work / 'floor.json')]

    def uri(n_hosts, atlas_url, wc_url):
        (work / 'uri-vars.json').write_text(json.dumps(uri_vars(atlas_url, wc_url, n_hosts, *targets())))
        return playbook + ['-i', str(bench.inventory(n_hosts)), 'bench/uri_playbook.yml',
                           '-e', '@%s' % (work / 'uri-vars.json')]

    sweep = [int(c) for c in args.sweep.split(',') if c]
    default = ROLE
    rows = []
    concurrency = args.concurrency or ROLE_CONCURRENCY
    swept = [('role, concurrency %d' % c, role(c), c) for c in sweep]
    plans = {
        'a': ('a', 1000, seeds(50, 5), 1.0,
              [(default, role(args.concurrency), concurrency), (NO_TARGETS, role(targets=False), concurrency)] +
              swept + [('python + requests, sequential', script, 1)] +
              ([] if args.skip_uri else [('ansible.builtin.uri', uri, None)])),
        'b': ('b', 1000, seeds(500, 0), args.time_scale, [(default, role(args.concurrency), concurrency)] + swept),
        'c': ('c', 1000, seeds(1, 0, stale_each=2000), args.time_scale,
              [(default, role(args.concurrency), concurrency)]),
        'd': ('d', 150, seeds(20, 5, n_service_accounts=10, n_projects=5), 1.0,
              [(default, role(args.concurrency), concurrency)]),
    }
    for letter in args.scenarios:
        name, n_hosts, (atlas_seed, woodcore_seed), scale, implementations = plans[letter]
        bench.seeds = (atlas_seed, woodcore_seed)
        bench.role_vars = role_vars(atlas_seed, woodcore_seed, work / 'pending.json')
        rows += measure(bench, name, n_hosts, atlas_seed, woodcore_seed, scale, implementations)
    rescore(rows, default)
    machine = {'cpus': os.cpu_count(), 'python': platform.python_version(), 'latency': args.latency,
               'latency_jitter': args.latency_jitter, 'time_scale': args.time_scale,
               'ansible_core': subprocess.run([str(BIN / 'ansible'), '--version'], capture_output=True, text=True,
                                              check=True).stdout.splitlines()[0]}
    write_results('wan', {'machine': machine, 'rows': rows})
    render(machine, rows)


def render(machine, rows):
    path = ROOT / 'docs' / 'performance.md'
    text = path.read_text(encoding='utf-8')
    previous, bullets = previous_rows(text)
    path.write_text(replace_section(text, 'wan', section(machine, merge_kept(rows, previous), bullets)),
                    encoding='utf-8')
    print('wrote the WAN section of docs/performance.md')


def score(row):
    """A row's floors from its requests. ``floor``: start-up + the larger of the latency path and the bucket
    bound, where the latency path is the critical path or, when longer, the round trips its Atlas requests need
    with at most ``concurrency`` of them in flight (one connection pool). ``physical_floor``: the same with
    unlimited concurrency (the critical path alone)."""
    physical_path = row['critical_rtts'] * row['rtt']
    row['in_flight_rtts'] = in_flight_rtts(row['atlas_requests'], row['concurrency'],
                                           row.get('floor_challenges', row.get('challenges', 0)))
    row['latency_path'] = max(row['critical_rtts'], row['in_flight_rtts']) * row['rtt']
    row['floor'] = row['startup'] + max(row['latency_path'], row['bucket_bound'])
    row['physical_floor'] = row['startup'] + max(physical_path, row['bucket_bound'])
    row['bound_by'] = 'bucket' if row['bucket_bound'] > row['latency_path'] else (
        'latency' if row['critical_rtts'] >= row['in_flight_rtts'] else 'in flight')
    row['ratio'] = row['seconds'] / row['floor']
    row['physical_ratio'] = row['seconds'] / row['physical_floor']


def rescore(rows, reference):
    """One set of requests per scenario and run: the reference implementation's (the role, whose requests are at
    the floor), so an implementation that sends more requests is not measured against a floor of its own making;
    the role at another concurrency keeps its own in-flight bound, every other implementation takes the role's.
    The role with no keys keeps its own floor: start-up alone."""
    for row in rows:
        ref = _row(rows, row['scenario'], reference, row['run'])
        if ref is not None and row['implementation'] != NO_TARGETS:
            for field in ('critical_rtts', 'atlas_chain', 'woodcore_chain', 'atlas_requests', 'bucket_bound',
                          'bucket'):
                row[field] = ref[field]
            row['floor_challenges'] = ref.get('floor_challenges', ref['challenges'])
            if not row['implementation'].startswith('role'):
                row['concurrency'] = ref['concurrency']
        score(row)


TITLES = {'a': 'a: 1,000 hosts, 50 API keys + 5 Woodcore', 'b': 'b: 1,000 hosts, 500 API keys',
          'c': 'c: 1 key, 2,000 stale entries', 'd': 'd: 150 hosts, 20 keys + 10 SAs + 5 projects + 5 Woodcore'}
KEPT = ' (kept)'  # a row of an earlier run, when this run left its scenario or implementation out


def previous_rows(text):
    """The rows of the WAN table in ``text`` (docs/performance.md), as far as the table tells them, and the
    narrative bullet of each scenario: what a run of some scenarios keeps of the others."""
    block = section_of(text, 'wan')
    scenario_of = dict((title, letter) for letter, title in TITLES.items())
    header, rows, bullets = None, [], {}
    for line in block.splitlines():
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        if line.startswith('| scenario |'):
            header = cells
        elif header and line.startswith('| ') and cells[0] in scenario_of:
            cell = dict(zip(header, cells))
            number = _reader(cell)
            row = dict(scenario=scenario_of[cells[0]], implementation=cell['implementation'].replace(KEPT, ''),
                       run=cell['run'], seconds=number('wall'), requests=int(cell['requests']),
                       limited=int(cell['429s']), challenges=int(cell['challenges']), rss_mb=number('peak RSS'),
                       bound_by=cell['bound by'].split(':')[0], kept=True,
                       bucket=cell['bound by'].split(': ', 1)[1] if ':' in cell['bound by'] else None)
            if 'floor, unlimited concurrency' in cell:
                row.update(floor=number('floor'), ratio=number('wall / floor'),
                           physical_floor=number('floor, unlimited concurrency'),
                           physical_ratio=number('wall / that'))
            else:  # the table before the in-flight bound: its floor was the unlimited-concurrency one
                row.update(floor=None, ratio=None, physical_floor=number('floor'),
                           physical_ratio=number('wall / floor'))
            rows.append(row)
        for letter in 'bcd':
            if line.startswith('- **%s ' % letter):
                bullets[letter] = line
    return rows, bullets


def _reader(cell):
    """name -> the number in that cell of a table row ('3.09 s', '2.11x'), None for '-'."""
    def number(name):
        return float(cell[name].split()[0].rstrip('x')) if cell.get(name, '-') != '-' else None
    return number


def merge_kept(rows, previous):
    """This run's rows, then the earlier rows of the scenarios it left out, and of the uri playbook it left out
    (--skip-uri), marked as kept: a scenario that ran shows no other earlier figure."""
    done = set((r['scenario'], r['implementation'], r['run']) for r in rows)
    ran = set(r['scenario'] for r in rows)
    kept = [r for r in previous if (r['scenario'], r['implementation'], r['run']) not in done
            and (r['scenario'] not in ran or r['implementation'] == 'ansible.builtin.uri')]
    return sorted(rows + kept, key=lambda r: ('abcd'.index(r['scenario']), r.get('kept', False)))


def section(machine, rows, bullets=None):
    """The WAN part of docs/performance.md."""
    lines = [
        '## WAN profile: latency and token buckets, against the physical floor', '',
        'Written by `bench/wan.py`. The simulators answer every request after %.0f ms (+ up to %.0f ms jitter) and '
        'meter Atlas with the documented token buckets (API keys: 500, refilled 250 per 60 s, in one step each '
        'minute). Scenarios b and c are bucket-bound and run with **time scale %g**: the simulators refill and '
        'answer %g times faster, and their figures (wall time and floor alike) are in that scaled time; multiply by '
        '%g for real Atlas.'
        % (machine['latency'] * 1000, machine['latency_jitter'] * 1000, machine['time_scale'], machine['time_scale'],
           machine['time_scale']), '',
        'Floor = start-up (an empty play over the same inventory, measured in the same run: the fastest of three) + '
        'the larger of the '
        'latency path and the token-bucket bound (requests beyond the bucket\'s capacity at its refill). The latency '
        'path is the critical path (the longest chain of requests one list needs: the digest challenge, its pages, '
        'the POST, then the DELETEs at once), or, when longer, the round trips the run\'s Atlas requests need with at '
        'most the implementation\'s concurrency in flight (the digest challenge\'s round trip, since no authenticated '
        'request can leave before it is back, then the other requests / the concurrency: the role holds '
        '`fleet_whitelist_concurrency` connections, %d by default; "bound by: in flight"). "Floor, unlimited '
        'concurrency" leaves that bound out: the physical floor of any client. Requests are counted by the '
        'simulators (digest challenges and 429s apart).' % ROLE_CONCURRENCY,
        '',
        '| scenario | implementation | run | wall | floor | bound by | wall / floor | floor, unlimited concurrency '
        '| wall / that | requests | 429s | challenges | peak RSS |',
        '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ]
    rows = [r for r in rows if r['implementation'] != NO_TARGETS or r['run'] == 'first']

    def figure(value, form):
        return '-' if value is None else form % value
    for r in rows:
        lines.append('| %s | %s | %s | %.2f s | %s | %s | %s | %s | %s | %d | %d | %d | %.0f MB |' % (
            TITLES[r['scenario']], r['implementation'] + (KEPT if r.get('kept') else ''), r['run'], r['seconds'],
            figure(r['floor'], '%.2f s'), r['bound_by'] if r['bound_by'] != 'bucket' else 'bucket: %s' % r['bucket'],
            figure(r['ratio'], '%.2fx'), figure(r['physical_floor'], '%.2f s'), figure(r['physical_ratio'], '%.2fx'),
            r['requests'], r['limited'], r['challenges'], r['rss_mb']))
    if any(r.get('kept') for r in rows):
        lines += ['', 'Rows marked (kept) are from an earlier run of `bench/wan.py` that this run did not repeat '
                      '(its own floor; "-" where that run did not compute the in-flight bound).']
    lines += [''] + narrative(machine, rows, bullets or {})
    return lines


def _row(rows, scenario, implementation, run='first'):
    for r in rows:
        if (r['scenario'], r['implementation'], r['run']) == (scenario, implementation, run) and not r.get('kept'):
            return r
    return None


def narrative(machine, rows, bullets):
    """What bounds each scenario, from this run's figures (an earlier run's words for a scenario it left out)."""
    lines = ['### What bounds each scenario', '']
    role = ROLE
    a, bare, a_noop = _row(rows, 'a', role), _row(rows, 'a', NO_TARGETS), _row(rows, 'a', role, 'no-op')
    if a and bare:
        rtt_ms = a['rtt'] * 1000
        lines += [
            '- **a (latency-bound).** The requests are at the floor (counts exact, one digest challenge per run). '
            'Their critical path is %d round trips (the Atlas lists\' chain; the Woodcore keys\' is %d: a profile '
            'read, then the OTP request, side by side with the Atlas keys%s), but '
            'with at most %d requests in flight the run\'s %d Atlas requests need at least %.1f round trips of '
            '%.0f ms (the digest challenge\'s first, as no authenticated request can leave before it is back, then '
            'the others %d at a time): the floor is %.2f s (%.2f s with unlimited concurrency). The role took %.2f s, '
            '%.2fx its floor '
            '(%.2fx the unlimited-concurrency floor)%s. Ansible\'s own share: the role with no keys at all takes '
            '%.2f s against %.2f s for the empty play (%.2fx; the include, the argument check, reading 1,000 hosts\' '
            'addresses, the summary and the optional tasks, each task costing a pass over the 1,000 hosts).'
            % (a['critical_rtts'], a['woodcore_chain'],
               ', so Woodcore does not lengthen it' if a['woodcore_chain'] <= a['atlas_chain'] else
               ': Woodcore is the longer chain', a['concurrency'], a['atlas_requests'], a['in_flight_rtts'],
               rtt_ms, a['concurrency'], a['floor'], a['physical_floor'], a['seconds'], a['ratio'], a['physical_ratio'],
               '; the no-op rerun %.2f s, %.2fx' % (a_noop['seconds'], a_noop['ratio']) if a_noop else '',
               bare['seconds'], a['startup'], bare['seconds'] / a['startup'])]
    wider = [r for r in rows if r['scenario'] == 'a' and r['run'] == 'first' and not r.get('kept')
             and r['implementation'].startswith('role, concurrency')]
    if a and wider:
        best = min(wider, key=lambda r: r['seconds'])
        lines += ['- Requests in flight: at concurrency %d the role took %.2f s (%.2f s at the default %d), %.2fx its '
                  'floor (%s) and %.2fx the unlimited-concurrency floor.'
                  % (best['concurrency'], best['seconds'], a['seconds'], a['concurrency'], best['ratio'],
                     'its critical path' if best['bound_by'] == 'latency' else 'still its requests in flight',
                     best['physical_ratio'])]
    sequential = _row(rows, 'a', 'python + requests, sequential')
    if a and sequential:
        lines += ['- Concurrency is what beats the latency: the sequential script pays every round trip one after '
                  'another (%.1f s), the role %.1f s.' % (sequential['seconds'], a['seconds'])]
    b_first, b_noop = _row(rows, 'b', role), _row(rows, 'b', role, 'no-op')
    if b_first and b_noop:
        scale = b_first['time_scale']
        lines += [
            '- **b (bucket-bound): 500 keys.** The first run needs %d requests against one organization bucket of '
            '500, refilled 250 a minute: at least %.0f s of refill in scaled time, and the role took %.1f s '
            '(%.2fx its floor, %d answers of 429, each only a pause, none a failure). Against real Atlas, a user '
            'with 500 keys should expect about %.0f minutes for a first rollout and %.0f minutes for a no-op '
            'rerun (%d requests: %d keys x 3 pages, the last one empty), almost all of it waiting for the bucket; '
            'concurrency beyond a few requests in flight does not shorten that, it only spends the first 500 '
            'tokens sooner. Peak RSS of the controller: %.0f MB.'
            % (b_first['requests'], b_first['bucket_bound'], b_first['seconds'], b_first['ratio'],
               b_first['limited'], b_first['seconds'] * scale / 60.0, b_noop['seconds'] * scale / 60.0,
               b_noop['requests'], 500, b_first['rss_mb'])]
    elif 'b' in bullets:
        lines += [bullets['b']]
    c = _row(rows, 'c', role)
    if c:
        lines += ['- **c (bucket-bound): one key, 2,000 stale entries.** %d requests, one DELETE per stale entry, '
                  'up to `concurrency` at once: the first 500 tokens go in a burst, the rest at the refill '
                  '(%.2fx the floor).' % (c['requests'], c['ratio'])]
    elif 'c' in bullets:
        lines += [bullets['c']]
    d = _row(rows, 'd', role)
    if d:
        lines += ['- **d (mixed).** API keys, service-account lists and project lists in one run, each list kind '
                  'in its own bucket; project lists take their writes one at a time (Atlas takes no concurrent '
                  'writes there), which lengthens their chain beyond the floor, where DELETEs count as one round '
                  'trip. %.2fx the floor.' % d['ratio']]
    elif 'd' in bullets:
        lines += [bullets['d']]
    lines += ['', 'Re-run: `.venv/bin/python bench/wan.py` (about 30 minutes here, 10 of them the uri playbook; '
              '`--scenarios`, `--sweep`, `--skip-uri` to shorten it: the rows it leaves out are kept from the '
              'page, marked; `--render` rewrites this section from `bench/results/wan.json`).', '']
    return lines


if __name__ == '__main__':
    main()
