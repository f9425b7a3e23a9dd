# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every benchmark in one run: request counts, fleet rollout wall time, module scaling.

    .venv/bin/python bench/run.py [--skip-uri] [--hosts 1000] [--repeat 3] ...

Prints each figure as it is measured and rewrites docs/performance.md from this run.
Raw figures: bench/results/*.json. Takes about 11 minutes here (most of it the uri playbook: 3 x ~200 s).
"""

from __future__ import annotations

import argparse
import platform
import time

# bench/ is on sys.path: it is this script's directory
import fleet_rollout
import request_counts
import scaling
from bench_common import ROOT, section_of


def cpu_model():
    try:
        with open('/proc/cpuinfo') as handle:
            for line in handle:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'unknown CPU'


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    fleet_rollout.add_arguments(parser)
    parser.add_argument('--count-sizes', default='1,100,1000,5000')
    parser.add_argument('--scaling-sizes', default='100,1000,5000,20000')
    args = parser.parse_args()

    print('== request counts', flush=True)
    counts = request_counts.run([int(s) for s in args.count_sizes.split(',')])
    print('== scaling', flush=True)
    scale = scaling.run([int(s) for s in args.scaling_sizes.split(',')], args.repeat)
    print('== fleet rollout', flush=True)
    machine, results, ratios = fleet_rollout.run(args)

    lines = ['# Performance', '',
             'Written by the bench scripts, against the built-in simulators on this project\'s machine; do not edit',
             'the written sections by hand. The sections up to the WAN profile come from one run of `bench/run.py`',
             '(%s); the WAN profile and the audit from runs of `bench/wan.py` and `bench/audit.py`, each in one run'
             % time.strftime('%Y-%m-%d', time.gmtime()),
             'with its own floor (rows kept from an earlier run are marked there). The controller profile is written',
             'by hand from profiling runs, and says which.', '',
             'Machine: %d CPUs (%s), Linux %s, Python %s, %s.' % (
                 machine['cpus'], cpu_model(), platform.release(), machine['python'], machine['ansible_core']), '']
    lines += request_counts.section(counts['atlas'], counts['woodcore'])
    lines += fleet_rollout.section(machine, results, ratios)
    lines += scaling.section(scale)
    lines += ['Re-run: `.venv/bin/python bench/run.py` (each part also runs alone: `bench/request_counts.py`,',
              '`bench/fleet_rollout.py`, `bench/scaling.py`). Tests assert the exact request counts',
              '(tests/unit), never times.', '']
    page = ROOT / 'docs' / 'performance.md'
    text = page.read_text(encoding='utf-8') if page.exists() else ''
    wan = section_of(text, 'wan')
    lines += [wan, ''] if wan else ['The WAN profile (latency, token buckets, the physical floor): `bench/wan.py`.', '']
    profile = section_of(text, 'controller-profile')  # written by hand from cProfile runs (issue 21), kept as it is
    lines += [profile, ''] if profile else []
    audit = section_of(text, 'audit')  # bench/audit.py's part, kept as it is
    lines += [audit, ''] if audit else ['The access audit against its floor: `bench/audit.py`.', '']
    page.write_text('\n'.join(lines), encoding='utf-8')
    print('wrote docs/performance.md')


if __name__ == '__main__':
    main()
