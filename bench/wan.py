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
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_common import COLLECTIONS, ROOT, replace_section, write_results
from fleet_rollout import (
    BIN, NAT_IP, ORG, PRIVATE, PUBLIC, addresses, approve_pending, control, floor_spec, inventory, seeds, start,
    uri_vars,
)

from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.atlas import rate_limit_bucket

# [V] the documented buckets the simulator serves by default: endpoint set -> (capacity, refill per 60 s)
BUCKETS = {'Programmatic API Keys': (500, 250), 'Service Accounts (org)': (500, 250),
           'Service Accounts (group)': (1200, 500), 'Project IP Access List': (1200, 500), 'Projects': (1200, 500)}
# the peak RSS of the controller's processes (ansible-playbook and its forks), in kB
RSS_WRAPPER = ('import resource, subprocess, sys; rc = subprocess.call(sys.argv[2:]); '
               "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)); "
               'sys.exit(rc)')
ROLE = 'role (playbooks/fleet.yml)'
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
    return max(longest, min(woodcore['GET'], 1) + min(woodcore['writes'], 1))


def bucket_bound(log, scale, mode):
    """Seconds the documented buckets need for this run's metered requests (the worst bucket), and its name."""
    counts = {}
    for e in log:
        if e['status'] in (401, 429):
            continue
        found = rate_limit_bucket(e['path'])
        if found:
            counts[found[0]] = counts.get(found[0], 0) + 1
    worst, name = 0.0, None
    for (endpoint_set, scope), n in counts.items():
        capacity, per_minute = BUCKETS[endpoint_set]
        if n <= capacity:
            continue
        if mode == 'interval':  # refillRate tokens at once every 60 s
            seconds = math.ceil((n - capacity) / float(per_minute)) * 60.0
        else:
            seconds = (n - capacity) / (per_minute / 60.0)
        if seconds / scale > worst:
            worst, name = seconds / scale, '%s (%d requests)' % (endpoint_set, n)
    return worst, name


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
        rss_file = self.work / 'rss'
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, '-c', RSS_WRAPPER, str(rss_file)] + cmd, cwd=str(ROOT), env=env,
                              capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - started
        if proc.returncode != 0:
            raise RuntimeError('%s failed:\n%s' % (' '.join(cmd[:4]), (proc.stdout + proc.stderr)[-4000:]))
        return elapsed, int(rss_file.read_text()) / 1024.0

    def startup(self, n_hosts):
        """An empty play over the same inventory: what using Ansible at all costs."""
        cmd = [str(BIN / 'ansible-playbook'), '-i', str(self.inventory(n_hosts)), str(self.work / 'empty.yml')]
        return statistics.median(self.run(cmd, self.env)[0] for dummy in range(3))


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
        for label, make_cmd in implementations:
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
                chain = critical_path(log + wc_log)
                bound, bucket = bucket_bound(log, scale, mode)
                latency_path = chain * rtt(args, scale)
                floor = startup + max(latency_path, bound)
                row = dict(scenario=name, implementation=label, run=run, seconds=seconds, rss_mb=rss,
                           requests=len([e for e in log + wc_log if e['status'] not in (401, 429)]),
                           limited=len([e for e in log + wc_log if e['status'] == 429]),
                           challenges=len([e for e in log if e['status'] == 401]),
                           startup=startup, critical_rtts=chain, latency_path=latency_path, bucket_bound=bound,
                           bucket=bucket, floor=floor, bound_by='bucket' if bound > latency_path else 'latency',
                           ratio=seconds / floor, time_scale=scale)  # rescored against the role's floor later
                rows.append(row)
                print('%s %-40s %-5s %7.2fs  floor %6.2fs (%s)  %.2fx  %5d req  %3d x429  %2d challenges  %4.0f MB'
                      % (name, label, run, seconds, floor, row['bound_by'], row['ratio'], row['requests'],
                         row['limited'], row['challenges'], rss), flush=True)
                if run == 'first' and woodcore_seed['keys']:
                    approve_pending(wc_url, [{'name': k['name'], 'api_key': k['key']} for k in woodcore_seed['keys']])
    finally:
        atlas_proc.terminate()
        wc_proc.terminate()
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--latency', type=float, default=0.1, help='seconds per request (a WAN round trip)')
    parser.add_argument('--latency-jitter', type=float, default=0.01)
    parser.add_argument('--time-scale', type=float, default=10.0, help='for the bucket-bound scenarios b and c')
    parser.add_argument('--concurrency', type=int, default=None, help="the role's; default: the role's default")
    parser.add_argument('--sweep', default='8,16,32,64', help='concurrency values tried in a and b ("" for none)')
    parser.add_argument('--scenarios', default='abcd')
    parser.add_argument('--skip-uri', action='store_true')
    parser.add_argument('--render', action='store_true', help='only rewrite the docs from bench/results/wan.json')
    args = parser.parse_args()
    if args.render:
        saved = json.loads((ROOT / 'bench' / 'results' / 'wan.json').read_text())
        render(saved['machine'], saved['rows'])
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
    plans = {
        'a': ('a', 1000, seeds(50, 5), 1.0,
              [(default, role(args.concurrency)), (NO_TARGETS, role(targets=False))] +
              [('role, concurrency %d' % c, role(c)) for c in sweep] +
              [('python + requests, sequential', script)] + ([] if args.skip_uri else [('ansible.builtin.uri', uri)])),
        'b': ('b', 1000, seeds(500, 0), args.time_scale,
              [(default, role(args.concurrency))] + [('role, concurrency %d' % c, role(c)) for c in sweep]),
        'c': ('c', 1000, seeds(1, 0, stale_each=2000), args.time_scale, [(default, role(args.concurrency))]),
        'd': ('d', 150, seeds(20, 5, n_service_accounts=10, n_projects=5), 1.0,
              [(default, role(args.concurrency))]),
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
    path.write_text(replace_section(path.read_text(encoding='utf-8'), 'wan', section(machine, rows)), encoding='utf-8')
    print('wrote the WAN section of docs/performance.md')


def rescore(rows, reference):
    """One floor per scenario and run: the reference implementation's (the role, whose requests are at the
    floor), so an implementation that sends more requests is not measured against a floor of its own making.
    The role with no keys keeps its own floor: start-up alone."""
    for row in rows:
        ref = _row(rows, row['scenario'], reference, row['run'])
        if ref is not None and row['implementation'] != NO_TARGETS:
            for field in ('critical_rtts', 'latency_path', 'bucket_bound', 'bucket', 'floor', 'bound_by'):
                row[field] = ref[field]
        row['ratio'] = row['seconds'] / row['floor']


def section(machine, rows):
    """The WAN part of docs/performance.md."""
    lines = [
        '## WAN profile: latency and token buckets, against the physical floor', '',
        'Written by `bench/wan.py`. The simulators answer every request after %.0f ms (+ up to %.0f ms jitter) and '
        'meter Atlas with the documented token buckets (API keys: 500, refilled 250 per 60 s, in one step each minute). '
        'Scenarios b and c are bucket-bound and run with **time scale %g**: the simulators refill and answer %g times '
        'faster, and their figures (wall time and floor alike) are in that scaled time; multiply by %g for real Atlas.'
        % (machine['latency'] * 1000, machine['latency_jitter'] * 1000, machine['time_scale'], machine['time_scale'],
           machine['time_scale']), '',
        'Floor = start-up (an empty play over the same inventory, measured in the same run) + the larger of the '
        'latency critical path (the longest chain of requests one list needs, with unlimited concurrency: the digest '
        'challenge, its pages, the POST, then the DELETEs at once) and the token-bucket bound (requests beyond the '
        "bucket's capacity at its refill). Requests are counted by the simulators (digest challenges and 429s apart).",
        '',
        '| scenario | implementation | run | wall | floor | bound by | wall / floor | requests | 429s | challenges '
        '| peak RSS |',
        '|---|---|---|---|---|---|---|---|---|---|---|',
    ]
    titles = {'a': 'a: 1,000 hosts, 50 API keys + 5 Woodcore', 'b': 'b: 1,000 hosts, 500 API keys',
              'c': 'c: 1 key, 2,000 stale entries', 'd': 'd: 150 hosts, 20 keys + 10 SAs + 5 projects + 5 Woodcore'}
    rows = [r for r in rows if r['implementation'] != NO_TARGETS or r['run'] == 'first']
    for r in rows:
        lines.append('| %s | %s | %s | %.2f s | %.2f s | %s | %.2fx | %d | %d | %d | %.0f MB |' % (
            titles[r['scenario']], r['implementation'], r['run'], r['seconds'], r['floor'],
            r['bound_by'] if r['bound_by'] == 'latency' else 'bucket: %s' % r['bucket'], r['ratio'], r['requests'],
            r['limited'], r['challenges'], r['rss_mb']))
    lines += [''] + narrative(machine, rows)
    return lines


def _row(rows, scenario, implementation, run='first'):
    for r in rows:
        if (r['scenario'], r['implementation'], r['run']) == (scenario, implementation, run):
            return r
    return None


def narrative(machine, rows):
    """What bounds each scenario, from this run's figures."""
    lines = ['### What bounds each scenario', '']
    role = ROLE
    a, bare = _row(rows, 'a', role), _row(rows, 'a', NO_TARGETS)
    if a and bare:
        lines += [
            '- **a, d (latency-bound).** The requests are at the floor (counts exact, one digest challenge per run) '
            'and their critical path is %d round trips (%.2f s), but the role pays what Ansible costs beyond an '
            'empty play: the role with no keys at all takes %.2f s against %.2f s for the empty play (including the '
            "role, checking its arguments, reading 1,000 hosts' variables, its summary tasks). The rest, %.2f s, is "
            "the converge itself on this %d-CPU machine: the client's parsing and the simulators' own work share "
            'the CPUs, and Ansible carries one `added` list per key back from the worker (50,000 entries on the '
            'first run). %s'
            % (a['critical_rtts'], a['latency_path'], bare['seconds'], a['startup'], a['seconds'] - bare['seconds'],
               machine['cpus'],
               'The role is within 1.3x of the floor.' if a['ratio'] <= 1.3 else
               'So the role misses the 1.3x goal here: its Ansible cost alone is %.2fx of the floor.'
               % (bare['seconds'] / a['floor']))]
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
    c = _row(rows, 'c', role)
    if c:
        lines += ['- **c (bucket-bound): one key, 2,000 stale entries.** %d requests, one DELETE per stale entry, '
                  'up to `concurrency` at once: the first 500 tokens go in a burst, the rest at the refill '
                  '(%.2fx the floor).' % (c['requests'], c['ratio'])]
    d = _row(rows, 'd', role)
    if d:
        lines += ['- **d (mixed).** API keys, service-account lists and project lists in one run, each list kind '
                  'in its own bucket; project lists take their writes one at a time (Atlas takes no concurrent '
                  'writes there), which lengthens their chain beyond the floor, where DELETEs count as one round '
                  'trip. %.2fx the floor.' % d['ratio']]
    lines += ['', 'Re-run: `.venv/bin/python bench/wan.py` (about 30 minutes here, 10 of them the uri playbook; '
              '`--scenarios`, `--sweep`, `--skip-uri` to shorten it; `--render` rewrites this section from '
              '`bench/results/wan.json`).', '']
    return lines


if __name__ == '__main__':
    main()
