# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the bench scripts share: paths, the collection on sys.path, generated addresses, a one-key
Atlas seed, where raw figures go (bench/results/<name>.json), and what the WAN benches (wan.py, audit.py) share:
their latency and time-scale options, a timed run with its peak RSS, and the token-bucket part of the floor."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# the collection as installed by scripts/test.sh (a symlink to this checkout), so the benches import
# the same module_utils and simulators as the tests
COLLECTIONS = ROOT / '.collections'
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))

# pylint: disable-next=wrong-import-position
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.atlas import rate_limit_bucket  # noqa: E402

# [V] the documented buckets the simulator serves by default: endpoint set -> (capacity, refill per 60 s)
BUCKETS = {'Programmatic API Keys': (500, 250), 'Service Accounts (org)': (500, 250),
           'Service Accounts (group)': (1200, 500), 'Project IP Access List': (1200, 500), 'Projects': (1200, 500)}
# the peak RSS of the controller's processes (ansible-playbook and its forks), in kB
RSS_WRAPPER = ('import resource, subprocess, sys; rc = subprocess.call(sys.argv[2:]); '
               "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)); "
               'sys.exit(rc)')


def ips(n):
    """n distinct IPv4 host addresses, 10.0.0.0 upwards."""
    return ['10.%d.%d.%d' % (i // 65536, i // 256 % 256, i % 256) for i in range(n)]


def one_key_atlas_seed(org, key, public, private, entries):
    """A simulator seed: one organization holding one API key with these access-list entries."""
    return {'orgs': [{'id': org, 'api_keys': [{'id': key, 'publicKey': public, 'privateKey': private,
                                               'access_list': list(entries)}]}]}


def write_results(name, data):
    """Raw figures of one bench part, for bench/results/<name>.json."""
    out = ROOT / 'bench' / 'results'
    out.mkdir(exist_ok=True)
    (out / (name + '.json')).write_text(json.dumps(data, indent=1))


def replace_section(text, name, lines):
    """``text`` with the part between ``<!-- name:start -->`` and ``<!-- name:end -->`` replaced by ``lines``
    (appended, with its markers, when there is none): one bench script rewrites its own part of a page."""
    start, end = '<!-- %s:start -->' % name, '<!-- %s:end -->' % name
    block = '\n'.join([start] + list(lines) + [end])
    if start in text and end in text:
        return text[:text.index(start)] + block + text[text.index(end) + len(end):]
    return text.rstrip('\n') + '\n\n' + block + '\n'


def section_of(text, name):
    """The part of ``text`` between the markers of ``name``, markers included ('' when there is none)."""
    start, end = '<!-- %s:start -->' % name, '<!-- %s:end -->' % name
    if start in text and end in text:
        return text[text.index(start):text.index(end) + len(end)]
    return ''


def add_wan_arguments(parser, time_scale_help=None):
    """The options of a bench against the WAN simulators: the latency of a request and the time scale."""
    parser.add_argument('--latency', type=float, default=0.1, help='seconds per request (a WAN round trip)')
    parser.add_argument('--latency-jitter', type=float, default=0.01)
    parser.add_argument('--time-scale', type=float, default=10.0, help=time_scale_help)


def run_timed(cmd, env, work):
    """(seconds, peak RSS in MB, stdout) of one command run from the checkout; fails loudly."""
    rss_file = work / 'rss'
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, '-c', RSS_WRAPPER, str(rss_file)] + cmd, cwd=str(ROOT), env=env,
                          capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError('%s failed:\n%s' % (' '.join(cmd[:4]), (proc.stdout + proc.stderr)[-4000:]))
    return elapsed, int(rss_file.read_text()) / 1024.0, proc.stdout


def requests_per_bucket(log):
    """The run's metered requests per bucket, (endpoint set, scope key) -> count (digest challenges and 429s
    apart)."""
    counts = {}
    for e in log:
        if e['status'] in (401, 429):
            continue
        found = rate_limit_bucket(e['path'])
        if found:
            counts[found[0]] = counts.get(found[0], 0) + 1
    return counts


def bucket_bound(log, scale, mode):
    """Seconds the documented buckets need for this run's metered requests (the worst bucket), and its name."""
    worst, name = 0.0, None
    for (endpoint_set, dummy_scope), n in requests_per_bucket(log).items():
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


def parse_args_or_render(parser, name, render):
    """The options parsed; with --render, the page's section rewritten from bench/results/<name>.json instead (by
    ``render(machine, rows)``), and None."""
    parser.add_argument('--render', action='store_true', help='only rewrite the docs from bench/results/%s.json' % name)
    args = parser.parse_args()
    if not args.render:
        return args
    saved = json.loads((ROOT / 'bench' / 'results' / (name + '.json')).read_text())
    render(saved['machine'], saved['rows'])
    return None
