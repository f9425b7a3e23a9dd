# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Module CPU time and peak RSS against the size of the access list.

    .venv/bin/python bench/scaling.py [--sizes 100,1000,5000,20000] [--repeat 3]

Runs the atlas_apikey_whitelist module as its own process (as Ansible would, minus the AnsiballZ
wrapper) against an in-process simulator; the child's CPU time comes from os.wait4 and its peak
RSS from its own VmHWM at exit, so the simulator's work and memory are not counted. Two runs per size: a converge from an empty
list (read, plan, one POST of N entries) and a no-op (read N entries, plan, nothing to write).
Goals: < 150 MB at 5,000 entries; growth no worse than N log N.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

# first: bench_common puts the collection on sys.path
from bench_common import COLLECTIONS, ips, one_key_atlas_seed, write_results

from ansible_collections.apiaccess.ipwhitelist.tests.simulators.atlas import AtlasSimulator

ORG = '65d000000000000000000001'
KEY = '66d000000000000000000001'
PUBLIC, PRIVATE = 'scalekey', 'scale-private-key-0000-000000000001'
MODULE = 'ansible_collections.apiaccess.ipwhitelist.plugins.modules.atlas_apikey_whitelist'


def seed(entries):
    return one_key_atlas_seed(ORG, KEY, PUBLIC, PRIVATE, entries)


# Runs the module in the child and records its peak RSS (VmHWM) at exit. ru_maxrss from wait4 is
# no good here: Linux carries the parent's high-water mark across fork and exec, so it would report
# the harness (simulator, lists in memory) instead of the module.
LAUNCHER = """
import atexit, runpy, sys
target = sys.argv.pop(2)
def peak():
    with open('/proc/self/status') as status, open(target, 'w') as out:
        out.write([l.split()[1] for l in status if l.startswith('VmHWM:')][0])
atexit.register(peak)
runpy.run_module(%r, run_name='__main__')
""" % MODULE


def measure(sim, work, entries):
    """CPU seconds (user + system, from wait4) and peak RSS (MB, VmHWM) of one module process."""
    args = work / 'args.json'
    args.write_text(json.dumps({'ANSIBLE_MODULE_ARGS': {
        'base_url': sim.url, 'org_id': ORG, 'api_key': KEY, 'public_key': PUBLIC, 'private_key': PRIVATE,
        'entries': entries, '_ansible_check_mode': False}}))
    hwm = work / 'vmhwm'
    env = dict(os.environ, PYTHONPATH=str(COLLECTIONS))
    proc = subprocess.Popen([sys.executable, '-c', LAUNCHER, str(args), str(hwm)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    # read the pipes before wait4 so a large result cannot block the child
    out, err = proc.stdout.read(), proc.stderr.read()
    dummy, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    result = json.loads(out)
    assert proc.returncode == 0 and not result.get('failed'), (out[-2000:], err[-2000:])
    return usage.ru_utime + usage.ru_stime, int(hwm.read_text()) / 1024.0


def run(sizes, repeat):
    rows = []
    with tempfile.TemporaryDirectory() as tmp, AtlasSimulator(seed=seed([])) as sim:
        sim.update_settings({'rate_limit_capacity': 0})
        work = Path(tmp)
        for n in [0] + list(sizes):
            wanted = ips(n)
            row = {'n': n}
            for label, current in (('from_empty', []), ('noop', wanted)):
                cpus, rss = [], []
                for dummy in range(repeat):
                    sim.reset(seed(current))
                    cpu, peak = measure(sim, work, wanted)
                    cpus.append(cpu)
                    rss.append(peak)
                row[label + '_cpu'] = statistics.median(cpus)
                row[label + '_rss'] = max(rss)
            rows.append(row)
            print('N=%-6d from empty: cpu %.3fs rss %.0f MB   no-op: cpu %.3fs rss %.0f MB' % (
                n, row['from_empty_cpu'], row['from_empty_rss'], row['noop_cpu'], row['noop_rss']), flush=True)
    base = rows[0]
    for row in rows[1:]:
        # work above the empty-list baseline (interpreter start, imports), per N log N
        row['noop_cpu_per_nlogn_us'] = 1e6 * (row['noop_cpu'] - base['noop_cpu']) / (row['n'] * math.log(row['n']))
        row['from_empty_cpu_per_nlogn_us'] = (1e6 * (row['from_empty_cpu'] - base['from_empty_cpu'])
                                              / (row['n'] * math.log(row['n'])))
    write_results('scaling', rows)
    return rows


def section(rows):
    lines = ['## Scaling: one module run against the list size', '',
             'CPU time (user + system, from `os.wait4`) and peak RSS (the process\'s own VmHWM at exit) of the',
             '`atlas_apikey_whitelist` module process (median CPU, max RSS of the runs); the simulator runs in',
             'the harness process and is not counted.',
             'N = 0 is the fixed cost (interpreter, imports). "per N log N" is the CPU above that baseline divided',
             'by N ln N: flat or falling means growth no worse than N log N. At N = 100 the work above the',
             'baseline is within run-to-run noise (a few ms), so that column can even come out negative.', '',
             '| entries N | from empty: CPU | RSS | no-op: CPU | RSS | no-op CPU per N log N | from empty per N log N |',
             '|---|---|---|---|---|---|---|']
    for r in rows:
        lines.append('| %d | %.3f s | %.0f MB | %.3f s | %.0f MB | %s | %s |' % (
            r['n'], r['from_empty_cpu'], r['from_empty_rss'], r['noop_cpu'], r['noop_rss'],
            '%.2f µs' % r['noop_cpu_per_nlogn_us'] if 'noop_cpu_per_nlogn_us' in r else '-',
            '%.2f µs' % r['from_empty_cpu_per_nlogn_us'] if 'from_empty_cpu_per_nlogn_us' in r else '-'))
    at5000 = [r for r in rows if r['n'] == 5000]
    if at5000:
        peak = max(at5000[0]['from_empty_rss'], at5000[0]['noop_rss'])
        lines += ['', 'Peak RSS at 5,000 entries: %.0f MB (goal < 150 MB).' % peak]
    return lines + ['']


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--sizes', default='100,1000,5000,20000')
    parser.add_argument('--repeat', type=int, default=3)
    args = parser.parse_args()
    run([int(s) for s in args.sizes.split(',')], args.repeat)


if __name__ == '__main__':
    main()
