# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the bench scripts share: paths, the collection on sys.path, generated addresses, a one-key
Atlas seed, and where raw figures go (bench/results/<name>.json)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# the collection as installed by scripts/test.sh (a symlink to this checkout), so the benches import
# the same module_utils and simulators as the tests
COLLECTIONS = ROOT / '.collections'
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))


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
