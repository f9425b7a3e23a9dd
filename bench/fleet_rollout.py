# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fleet rollout wall time, side by side: the role vs a uri playbook vs the requests floor.

    .venv/bin/python bench/fleet_rollout.py [--hosts 1000] [--atlas-keys 50] [--woodcore-keys 5] [--repeat 3]
    (bench/run.py runs this with the other benchmarks and writes docs/performance.md)

Each implementation converges the same fleet from the same seeded state (first run), then runs
again (no-op). The simulators run in their own processes. Prints a table and writes
bench/results/fleet_rollout.json. Figures are medians of --repeat runs (the uri playbook: --uri-repeat).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench_common import COLLECTIONS, ROOT, write_results

BIN = Path(sys.executable).parent
ORG = '65b000000000000000000001'
PUBLIC, PRIVATE = 'benchkey', 'bench-private-key-0000-000000000001'
NAT_IP = '198.51.100.254'
# the headline: the playbook users run (include_role with run_once over the fleet's hosts)
ROLE = 'role (playbooks/fleet.yml, play over the fleet hosts)'


def key_id(i):
    return '66b%021x' % i


def stale(n):
    """n stale entries (192.0.2.1 upwards), none of them a fleet address."""
    return ['192.0.%d.%d' % (2 + j // 250, j % 250 + 1) for j in range(n)]


def seeds(n_atlas, n_woodcore, stale_each=3, n_service_accounts=0, n_projects=0):
    """Simulator seeds: the calling key, then n_atlas API keys, service accounts and projects with stale
    entries each (3 for accounts and projects), and Woodcore keys whitelisting another IP."""
    keys = [{'id': key_id(0), 'publicKey': PUBLIC, 'privateKey': PRIVATE, 'access_list': ['127.0.0.1']}]
    keys += [{'id': key_id(i), 'publicKey': 'bk%06d' % i, 'privateKey': 'x' * 8, 'access_list': stale(stale_each)}
             for i in range(1, n_atlas + 1)]
    accounts = [{'client_id': 'mdb_sa_id_%024x' % i, 'client_secret': 'mdb_sa_sk_bench', 'name': 'sa%d' % i,
                 'orgs': [ORG], 'projects': [], 'access_list': stale(3)} for i in range(n_service_accounts)]
    projects = [{'id': '6c%022x' % i, 'name': 'p%d' % i, 'org': ORG, 'access_list': stale(3)}
                for i in range(n_projects)]
    woodcore = [{'key': 'wc_test_bench%022d' % i, 'name': 'wc%d' % i, 'ip': '192.0.2.200'}
                for i in range(n_woodcore)]
    return ({'orgs': [{'id': ORG, 'api_keys': keys}], 'service_accounts': accounts, 'projects': projects},
            {'keys': woodcore})


def inventory(fleet):
    """A JSON inventory: group fleet, one host per address (h0000...), run locally."""
    return {'all': {'vars': {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable},
                    'children': {'fleet': {'hosts': {'h%04d' % i: {'fleet_whitelist_address': a}
                                                     for i, a in enumerate(fleet)}}}}}


def floor_spec(atlas_url, wc_url, fleet, atlas_keys, woodcore_keys):
    """What bench/floor.py reads."""
    return {'atlas_url': atlas_url, 'woodcore_url': wc_url + '/api/v2', 'public_key': PUBLIC, 'private_key': PRIVATE,
            'addresses': fleet, 'atlas_keys': atlas_keys, 'woodcore_keys': woodcore_keys}


def uri_vars(atlas_url, wc_url, fleet_size, atlas_keys, woodcore_keys):
    """The extra variables of bench/uri_playbook.yml."""
    return {'bench_atlas_url': atlas_url, 'bench_woodcore_url': wc_url + '/api/v2', 'bench_public_key': PUBLIC,
            'bench_private_key': PRIVATE, 'bench_fleet_size': fleet_size, 'bench_atlas_keys': atlas_keys,
            'bench_woodcore_keys': woodcore_keys}


def addresses(n):
    # RFC 2544 benchmarking range
    return ['198.18.%d.%d' % (i // 250, i % 250 + 1) for i in range(n)]


def control(url, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url + '/__sim__/' + path, data=data, method='POST' if data else 'GET')
    return json.loads(urllib.request.urlopen(request).read())


def start(service, seed_file, work, *settings):
    url_file = work / (service + '.url')
    if url_file.exists():
        url_file.unlink()  # left by an earlier simulator of this run
    cmd = [sys.executable, '-m', 'tests.simulators', service, '--seed', str(seed_file), '--url-file', str(url_file)]
    for setting in settings:
        cmd += ['--set', setting]
    proc = subprocess.Popen(cmd, cwd=str(ROOT), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for dummy in range(200):
        if url_file.exists():
            return proc, url_file.read_text().strip()
        time.sleep(0.05)
    raise RuntimeError('%s simulator did not start' % service)


def authenticated_requests(url):
    return len([e for e in control(url, 'log')['requests'] if e['status'] != 401])


def approve_pending(wc_url, woodcore_keys):
    """Approve every OTP in the outbox, as the key owners would, so the next run is a true no-op."""
    by_name = dict((k['name'], k['api_key']) for k in woodcore_keys)
    for email in control(wc_url, 'outbox')['emails']:
        request = urllib.request.Request('%s/api/v2/gateway/apiKeys/ipwhitelist/approve/%s' % (wc_url, email['otp']),
                                         data=b'', method='POST',
                                         headers={'Authorization': 'Bearer ' + by_name[email['key_name']]})
        urllib.request.urlopen(request).read()


def timed(cmd, env):
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=str(ROOT), env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError('%s failed:\n%s' % (' '.join(cmd[:3]), (proc.stdout + proc.stderr)[-3000:]))
    return elapsed


def add_arguments(parser):
    parser.add_argument('--hosts', type=int, default=1000)
    parser.add_argument('--atlas-keys', type=int, default=50)
    parser.add_argument('--woodcore-keys', type=int, default=5)
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--uri-repeat', type=int, default=3)
    parser.add_argument('--skip-uri', action='store_true', help='leave out the (slow) uri playbook')


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    run(parser.parse_args())


def run(args):
    """Measure; returns (machine, results, ratios) and writes bench/results/fleet_rollout.json."""

    work = Path(tempfile.mkdtemp(prefix='apiaccess-bench-'))
    atlas_seed, woodcore_seed = seeds(args.atlas_keys, args.woodcore_keys)
    (work / 'atlas.json').write_text(json.dumps(atlas_seed))
    (work / 'woodcore.json').write_text(json.dumps(woodcore_seed))
    fleet = addresses(args.hosts)
    (work / 'inventory.json').write_text(json.dumps(inventory(fleet)))
    atlas_proc, atlas_url = start('atlas', work / 'atlas.json', work, 'rate_limit_capacity=0')
    wc_proc, wc_url = start('woodcore', work / 'woodcore.json', work, 'rate_limit=1000000')
    atlas_keys = [{'org_id': ORG, 'api_key': key_id(i), 'purge': True}
                  for i in range(1, args.atlas_keys + 1)]
    woodcore_keys = [{'name': k['name'], 'api_key': k['key'], 'ip': NAT_IP} for k in woodcore_seed['keys']]
    ledger = work / 'pending.json'
    role_vars = {'fleet_whitelist_atlas_keys': atlas_keys, 'fleet_whitelist_woodcore_keys': woodcore_keys,
                 'fleet_whitelist_woodcore_pending_state_path': str(ledger)}
    (work / 'role-vars.json').write_text(json.dumps(role_vars))
    plain_keys = [{'org_id': ORG, 'api_key': k['api_key']} for k in atlas_keys]
    (work / 'uri-vars.json').write_text(json.dumps(uri_vars(atlas_url, wc_url, args.hosts, plain_keys, woodcore_keys)))
    (work / 'floor.json').write_text(json.dumps(floor_spec(atlas_url, wc_url, fleet, plain_keys, woodcore_keys)))
    (work / 'import-play.yml').write_text(
        "- hosts: fleet\n  gather_facts: false\n  tasks:\n    - ansible.builtin.import_role:\n"
        "        name: apiaccess.ipwhitelist.fleet_whitelist\n        rolespec_validate: false\n")
    (work / 'localhost-play.yml').write_text(
        "- hosts: localhost\n  gather_facts: false\n  roles:\n    - role: apiaccess.ipwhitelist.fleet_whitelist\n"
        "      vars:\n        fleet_whitelist_hosts: \"{{ groups['fleet'] }}\"\n")
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / 'ansible.cfg'), ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS),
               MONGODB_ATLAS_BASE_URL=atlas_url, MONGODB_ATLAS_PUBLIC_API_KEY=PUBLIC,
               MONGODB_ATLAS_PRIVATE_API_KEY=PRIVATE, WOODCORE_BASE_URL=wc_url + '/api/v2',
               ANSIBLE_DISPLAY_SKIPPED_HOSTS='false', ANSIBLE_LOCALHOST_WARNING='0')
    playbook = [str(BIN / 'ansible-playbook'), '-i', str(work / 'inventory.json')]
    implementations = {
        ROLE: (playbook + ['playbooks/fleet.yml', '-e', '@%s' % (work / 'role-vars.json')], args.repeat),
        'role imported over every host (import_role, rolespec_validate: false)': (
            playbook + [str(work / 'import-play.yml'), '-e', '@%s' % (work / 'role-vars.json')], args.repeat),
        'role (localhost play, fleet from the group)': (
            playbook + [str(work / 'localhost-play.yml'), '-e', '@%s' % (work / 'role-vars.json')], args.repeat),
        'ansible.builtin.uri playbook': (playbook + ['bench/uri_playbook.yml', '-e', '@%s' % (work / 'uri-vars.json')],
                                         args.uri_repeat),
        'python + requests (floor)': ([sys.executable, 'bench/floor.py', str(work / 'floor.json')], args.repeat),
    }
    if args.skip_uri:
        implementations.pop('ansible.builtin.uri playbook')
    results = {}
    try:
        for name, (cmd, repeat) in implementations.items():
            firsts, noops = [], []
            for dummy in range(repeat):
                control(atlas_url, 'reset', atlas_seed)
                control(wc_url, 'reset', woodcore_seed)
                if ledger.exists():
                    ledger.unlink()
                firsts.append(timed(cmd, env))
                first_requests = authenticated_requests(atlas_url) + authenticated_requests(wc_url)
                approve_pending(wc_url, woodcore_keys)  # the key owners approve; not counted
                before = authenticated_requests(atlas_url) + authenticated_requests(wc_url)
                noops.append(timed(cmd, env))
                noop_requests = authenticated_requests(atlas_url) + authenticated_requests(wc_url) - before
            state = control(atlas_url, 'state')['orgs'][ORG]
            assert all(len(state[key_id(i)]['access_list']) == args.hosts for i in range(1, args.atlas_keys + 1))
            results[name] = {'first': statistics.median(firsts), 'noop': statistics.median(noops),
                             'first_requests': first_requests, 'noop_requests': noop_requests, 'runs': repeat}
            print('%-45s first %7.2fs (%d requests)   no-op %7.2fs (%d requests)' % (
                name, results[name]['first'], first_requests, results[name]['noop'], noop_requests), flush=True)
    finally:
        atlas_proc.terminate()
        wc_proc.terminate()
    role = results[ROLE]
    floor = results['python + requests (floor)']
    ratios = {'role / floor, first run': role['first'] / floor['first'], 'role / floor, no-op': role['noop'] / floor['noop']}
    if 'ansible.builtin.uri playbook' in results:
        uri = results['ansible.builtin.uri playbook']
        ratios.update({'uri / role, first run': uri['first'] / role['first'],
                       'uri / role, no-op': uri['noop'] / role['noop']})
    machine = {'cpus': os.cpu_count(), 'python': platform.python_version(),
               'ansible_core': subprocess.run([str(BIN / 'ansible'), '--version'], capture_output=True, text=True,
                                              check=True).stdout.splitlines()[0],
               'hosts': args.hosts, 'atlas_keys': args.atlas_keys, 'woodcore_keys': args.woodcore_keys}
    for name, value in ratios.items():
        print('%-30s %6.1fx' % (name, value))
    write_results('fleet_rollout', {'machine': machine, 'results': results, 'ratios': ratios})
    return machine, results, ratios


def section(machine, results, ratios):
    """The fleet rollout part of docs/performance.md."""
    lines = [
        '## Fleet rollout: %(hosts)d hosts to %(atlas_keys)d Atlas keys and %(woodcore_keys)d Woodcore keys' % machine, '',
        'Wall-clock medians, measured side by side in one run; the simulators run in their own processes.', '',
        '| implementation | first run | requests | no-op rerun | requests | runs |',
        '|---|---|---|---|---|---|',
    ]
    for name, r in results.items():
        row = (name, r['first'], r['first_requests'], r['noop'], r['noop_requests'], r['runs'])
        lines.append('| %s | %.2f s | %d | %.2f s | %d | %d |' % row)
    lines += ['', '| ratio | value | goal |', '|---|---|---|']
    goals = {'uri / role, first run': '>= 10x', 'uri / role, no-op': '>= 10x',
             'role / floor, first run': '<= 3x', 'role / floor, no-op': '<= 3x'}
    for name, value in ratios.items():
        lines.append('| %s | %.1fx | %s |' % (name, value, goals.get(name, '')))
    lines += [
        '', '- First run: every Atlas key starts with 3 stale entries and none of the fleet; each Woodcore key has',
        '  another IP (one OTP request each). Between the first run and the no-op rerun the harness approves the',
        '  OTPs (as the key owners would), so the rerun has nothing to do for any implementation.',
        '- Requests are counted by the simulators (digest challenge legs excluded). The role makes exactly the',
        "  floor's requests. The uri playbook reads a fixed number of pages per key (it cannot stop on a short",
        '  page without one task per page), so its first run makes more.',
        '', '## What bounds the role', '',
        '- `ansible-playbook` start-up and parsing a 1,000-host inventory: about half a second here, before any task.',
        '- A module call costs ~0.35 s (AnsiballZ). The role makes none per key: the `fleet_converge` action plugin',
        '  runs the shared module_utils code in the controller process.',
        '- A task that runs per host costs ~8 ms per host even when skipped, so every task of the role is',
        '  `run_once`. A role applied to every host also costs Ansible per-host bookkeeping (the implicit',
        '  end-of-role step, ~0.5 ms per host: compare the `import_role` row), so `playbooks/fleet.yml` includes',
        '  the role with `run_once: true`, on one host; the fleet is still every host of the play.',
        "- Ansible's handling of the result: one `added` list per key, 50,000 entries here on the first run.",
        '- The HTTP requests themselves: at the floor, `fleet_whitelist_concurrency` keys at a time. Against a real',
        '  service, network latency dominates and concurrency is what keeps the role near the floor.',
        '',
    ]
    return lines


if __name__ == '__main__':
    main()
