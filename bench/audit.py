# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The access audit (playbooks/audit.yml, audit_all) of an organization with 500 API keys, 200 service accounts and
50 projects, against a simulator that answers after a WAN round trip and meters Atlas with its documented token
buckets, beside the floor: start-up plus the larger of the latency critical path and the buckets' bound.

    .venv/bin/python bench/audit.py [--latency 0.1] [--time-scale 10] [--repeat 3]

The floor model is bench/wan.py's: start-up (an empty play on the controller, measured in this run) plus the larger
of the latency path and the token-bucket bound (requests beyond a bucket's capacity, at its refill). The audit's
latency path: the digest challenge, the longest listing (the key list's pages, read one after another), then one
list read (every list is read at once). With --time-scale the simulator refills and answers that many times
faster: every figure is in that scaled time. Writes bench/results/audit.json and the audit section of
docs/performance.md.
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
from pathlib import Path

from bench_common import (
    BUCKETS, COLLECTIONS, ROOT, add_wan_arguments, bucket_bound, parse_args_or_render, replace_section,
    requests_per_bucket, run_timed, write_results,
)
from fleet_rollout import BIN, ORG, PRIVATE, PUBLIC, control, key_id, start

EMPTY_PLAY = '- hosts: localhost\n  gather_facts: false\n  tasks: []\n'
PLAYBOOK = 'playbooks/audit.yml'
IN_PROCESS_LABEL = 'module_utils.audit.run, no Ansible'
# python -c IN_PROCESS '<module args as JSON>' <collections dir>: the audit the action plugin runs, without
# ansible-playbook around it
IN_PROCESS = '''import json, sys
sys.path.insert(0, sys.argv[2])
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import audit
from ansible_collections.apiaccess.ipwhitelist.plugins.plugin_utils.access_report import render_html
params = ArgumentSpecValidator(audit.argument_spec()).validate(json.loads(sys.argv[1])).validated_parameters
audit.run(params, render_html)
'''


def seed(n_keys, n_accounts, n_projects):
    """The auditing key, then n_keys API keys, n_accounts service accounts and n_projects projects, each list with
    three entries (one of them stale), so the report has findings to render."""
    def entries(i):
        return ['203.0.113.%d' % (i % 250 + 1), '198.51.100.0/24',
                {'address': '192.0.2.%d' % (i % 250 + 1), 'created': 'now-200d'}]
    keys = [{'id': key_id(0), 'publicKey': PUBLIC, 'privateKey': PRIVATE, 'roles': ['ORG_READ_ONLY'],
             'access_list': ['127.0.0.1']}]
    keys += [{'id': key_id(i), 'publicKey': 'bk%06d' % i, 'privateKey': 'x' * 8, 'access_list': entries(i)}
             for i in range(1, n_keys + 1)]
    accounts = [{'client_id': 'mdb_sa_id_%024x' % i, 'client_secret': 'mdb_sa_sk_bench', 'name': 'sa%d' % i,
                 'orgs': [ORG], 'access_list': entries(i)} for i in range(n_accounts)]
    projects = [{'id': '6c%022x' % i, 'name': 'p%d' % i, 'org': ORG,
                 'access_list': ['203.0.113.%d' % (i % 250 + 1), '198.51.100.0/24']} for i in range(n_projects)]
    return {'orgs': [{'id': ORG, 'settings': {'apiAccessListRequired': True}, 'api_keys': keys}],
            'service_accounts': accounts, 'projects': projects}


def latency_path(log):
    """Round trips the audit needs with unlimited concurrency: the challenge, the longest listing, one list read."""
    challenge = 1 if any(e['status'] == 401 for e in log) else 0
    listings = {}
    for e in log:
        path = e['path']
        if e['status'] in (401, 429) or path.endswith('/accessList') or not path.startswith('/api/atlas'):
            continue
        listings[path] = listings.get(path, 0) + 1
    return challenge + max(listings.values() or [1]) + 1


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--keys', type=int, default=500)
    parser.add_argument('--service-accounts', type=int, default=200)
    parser.add_argument('--projects', type=int, default=50)
    add_wan_arguments(parser)
    parser.add_argument('--repeat', type=int, default=3)
    args = parse_args_or_render(parser, 'audit', render)
    if args is None:
        return
    work = Path(tempfile.mkdtemp(prefix='apiaccess-audit-bench-'))
    data = seed(args.keys, args.service_accounts, args.projects)
    (work / 'atlas.json').write_text(json.dumps(data))
    (work / 'empty.yml').write_text(EMPTY_PLAY)
    settings = ['latency=%s' % args.latency, 'latency_jitter=%s' % args.latency_jitter,
                'time_scale=%s' % args.time_scale]
    proc, url = start('atlas', work / 'atlas.json', work, *settings)
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / 'ansible.cfg'), ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS),
               ANSIBLE_LOCALHOST_WARNING='0', MONGODB_ATLAS_BASE_URL=url, MONGODB_ATLAS_PUBLIC_API_KEY=PUBLIC,
               MONGODB_ATLAS_PRIVATE_API_KEY=PRIVATE)
    variables = {'audit_all': True, 'audit_org_ids': [ORG], 'audit_fail_on': 'never',
                 'audit_report_dir': str(work / 'report')}
    (work / 'vars.json').write_text(json.dumps(variables))
    playbook = [str(BIN / 'ansible-playbook')]
    rows = []
    try:
        mode = control(url, 'settings')['rate_limit_refill_mode']
        startup = statistics.median(run_timed(playbook + [str(work / 'empty.yml')], env, work)[0]
                                    for dummy in range(3))
        cmd = playbook + ['playbooks/audit.yml', '-e', '@%s' % (work / 'vars.json')]
        # the same audit without Ansible around it: the module_utils' own cost (reading, assessing, writing)
        in_process = [sys.executable, '-c', IN_PROCESS, json.dumps(dict(
            atlas_base_url=url, atlas_public_key=PUBLIC, atlas_private_key=PRIVATE, audit_all=True, org_ids=[ORG],
            report_dir=str(work / 'report'))), str(COLLECTIONS)]
        for label, command, start_up in ((PLAYBOOK, cmd, startup), (IN_PROCESS_LABEL, in_process, 0.0)):
            for attempt in range(args.repeat):
                control(url, 'reset', data)
                control(url, 'settings', {})  # full buckets
                seconds, rss, _out = run_timed(command, env, work)
                log = control(url, 'log')['requests']
                report = json.loads((work / 'report' / 'access-report.json').read_text())
                rtts = latency_path(log)
                path = rtts * (args.latency + args.latency_jitter / 2.0) / args.time_scale
                bound, bucket = bucket_bound(log, args.time_scale, mode)
                floor = start_up + max(path, bound)
                row = dict(implementation=label, run=attempt + 1, seconds=seconds, rss_mb=rss, startup=start_up,
                           latency_rtts=rtts, latency_path=path, bucket_bound=bound, bucket=bucket, floor=floor,
                           ratio=seconds / floor, requests=len([e for e in log if e['status'] not in (401, 429)]),
                           limited=len([e for e in log if e['status'] == 429]),
                           challenges=len([e for e in log if e['status'] == 401]),
                           writes=len([e for e in log if e['method'] != 'GET']),
                           targets=len(report['targets']), findings=len(report['findings']),
                           html_kb=(work / 'report' / 'access-report.html').stat().st_size / 1024.0,
                           floor_requests=floor_requests(args), buckets=per_bucket(log))
                rows.append(row)
                print('%s, run %d: %.2fs  floor %.2fs (%s)  %.2fx  %d requests (floor %d)  %d x429  %d writes  '
                      '%d targets  %d findings  %.0f MB' % (
                          label, row['run'], seconds, floor, bucket or 'latency', row['ratio'], row['requests'],
                          row['floor_requests'], row['limited'], row['writes'], row['targets'], row['findings'], rss),
                      flush=True)
    finally:
        proc.terminate()
    machine = {'cpus': os.cpu_count(), 'load': os.getloadavg()[0], 'python': platform.python_version(),
               'latency': args.latency,
               'latency_jitter': args.latency_jitter, 'time_scale': args.time_scale, 'keys': args.keys,
               'service_accounts': args.service_accounts, 'projects': args.projects,
               'ansible_core': subprocess.run([str(BIN / 'ansible'), '--version'], capture_output=True, text=True,
                                              check=True).stdout.splitlines()[0]}
    write_results('audit', {'machine': machine, 'rows': rows})
    render(machine, rows)


def per_bucket(log):
    """Requests per endpoint set (challenges and 429s apart), whatever their scope."""
    counts = {}
    for (endpoint_set, dummy_scope), n in requests_per_bucket(log).items():
        counts[endpoint_set] = counts.get(endpoint_set, 0) + n
    return counts


def floor_requests(args):
    """Every read the audit needs, once: the settings, the key list's pages (the auditing key is one more, and a full
    last page needs an empty one after it), the account list, the project list, then each list."""
    keys = args.keys + 1
    return 1 + (keys // 500 + 1) + (args.service_accounts // 500 + 1) + (args.projects // 500 + 1) + \
        keys + args.service_accounts + args.projects


def render(machine, rows):
    path = ROOT / 'docs' / 'performance.md'
    path.write_text(replace_section(path.read_text(encoding='utf-8'), 'audit', section(machine, rows)),
                    encoding='utf-8')
    print('wrote the audit section of docs/performance.md')


def section(machine, rows):
    playbook = [r for r in rows if r['implementation'] == PLAYBOOK]
    median = sorted(playbook, key=lambda r: r['seconds'])[len(playbook) // 2]
    bare = sorted((r for r in rows if r['implementation'] == IN_PROCESS_LABEL), key=lambda r: r['seconds'])
    bare = bare[len(bare) // 2] if bare else None
    scale = machine['time_scale']
    capacity, per_minute = BUCKETS['Programmatic API Keys']
    lines = [
        '## Access audit: 500 API keys, 200 service accounts, 50 projects', '',
        'Written by `bench/audit.py`: `playbooks/audit.yml` with `audit_all` over one organization of %d API keys, %d '
        'service accounts and %d projects (three entries per list), against the Atlas simulator answering every '
        'request after %.0f ms (+ up to %.0f ms jitter) and metering the documented buckets, at **time scale %g** '
        '(refills and answers %g times faster; every figure in that scaled time, multiply by %g for real Atlas).'
        % (machine['keys'], machine['service_accounts'], machine['projects'], machine['latency'] * 1000,
           machine['latency_jitter'] * 1000, scale, scale, scale), '',
        'Floor = start-up (an empty play on the controller, measured in the same run) + the larger of the latency path '
        '(the digest challenge, the longest listing, one list read: every list is read at once) and the token-bucket '
        "bound (requests beyond a bucket's capacity, at its refill).", '',
        '| implementation | run | wall | floor | bound by | wall / floor | requests (floor) | 429s | writes | targets '
        '| findings | HTML | peak RSS |',
        '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ]
    for r in rows:
        lines.append('| %s | %d | %.2f s | %.2f s | %s | %.2fx | %d (%d) | %d | %d | %d | %d | %.0f kB | %.0f MB |' % (
            r['implementation'], r['run'], r['seconds'], r['floor'],
            'bucket: %s' % r['bucket'] if r['bucket'] else 'latency', r['ratio'],
            r['requests'], r['floor_requests'], r['limited'], r['writes'], r['targets'], r['findings'], r['html_kb'],
            r['rss_mb']))
    keys = median['buckets'].get('Programmatic API Keys', 0)
    lines += [
        '',
        '- **At the floor in requests, paced in time.** The audit reads each list once and each listing page once '
        '(%d requests; the floor is %d) and writes nothing. The API-key bucket bounds it: %d requests against a '
        'capacity of %d, so the last %d wait for the next refill (%d a minute): %.1f s scaled, %.0f s against real '
        'Atlas. The service-account bucket (%d requests) and each project\'s own bucket stay within their '
        'capacities. Median run: %.2f s, %.2fx the floor, of which start-up is %.2f s.'
        % (median['requests'], median['floor_requests'], keys, capacity, max(0, keys - capacity), per_minute,
           median['bucket_bound'], median['bucket_bound'] * scale,
           median['buckets'].get('Service Accounts (org)', 0), median['seconds'], median['ratio'], median['startup']),
        '- Without Ansible around it (the module_utils the action plugin runs, in a Python process of its own) the '
        'same audit takes %.2f s against the bucket bound alone: Python\'s start and imports, the reads, then '
        'assessing %d targets and writing the three files. Two things keep both runs above their floor: a 429\'s '
        'Retry-After is whole seconds, so the wait for the refill can end up to a second late, and this %d-CPU '
        'machine was shared while it ran (load average %.1f at the end). The playbook adds '
        '%.2f s to it: start-up, the task\'s arguments and result (every finding) and its three small tasks.'
        % (bare['seconds'], bare['targets'], machine['cpus'], machine.get('load', 0),
           median['seconds'] - bare['seconds']) if bare else '',
        '- Against real Atlas such an organization takes about %.0f s, almost all of it one refill of the API-key '
        'bucket; an organization with fewer than about %d keys is not bucket-bound at all, and its audit takes a few '
        'round trips. Re-run: `.venv/bin/python bench/audit.py` (about a minute; `--render` rewrites this section '
        'from `bench/results/audit.json`).'
        % (median['bucket_bound'] * scale + median['latency_path'] * scale + median['startup'], capacity - 3),
        '']
    return lines


if __name__ == '__main__':
    main()
