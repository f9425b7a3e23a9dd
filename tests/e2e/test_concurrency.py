# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Two playbook runs at once on the same Atlas key with overlapping entries (state present) end
with the union of what both asked for: nothing lost, nothing duplicated. The simulator holds both
reads back, so both runs plan from the same old list and their writes really interleave. Runs for
each value of the unknown duplicate-POST behaviour."""

from __future__ import annotations

import json
import subprocess

import pytest

from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import addresses
from ansible_collections.apiaccess.ipwhitelist.tests.e2e.conftest import BIN, PLAYBOOKS, ROOT, _env
from ansible_collections.apiaccess.ipwhitelist.tests.unit.conftest import KEY_ID, ORG, PRIVATE, PUBLIC

RUN_A = ['203.0.113.1', '203.0.113.2', '198.51.100.0/28']
RUN_B = ['203.0.113.2', '198.51.100.0/28', '2001:db8:5::/48', '203.0.113.3']


def start(tmp_path, atlas, name, entries):
    extra = tmp_path / ('%s.json' % name)
    extra.write_text(json.dumps(dict(sim_url=atlas.url, org_id=ORG, public_key=PUBLIC, private_key=PRIVATE,
                                     entries=entries)))
    return subprocess.Popen([str(BIN / 'ansible-playbook'), str(PLAYBOOKS / 'atlas_present.yml'), '-e', '@%s' % extra],
                            env=_env(tmp_path / name), cwd=str(ROOT), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


@pytest.mark.parametrize('duplicate_post, posts, gets', [('noop', 2, 2), ('conflict', 3, 3)])
def test_two_runs_at_once_end_with_the_union(tmp_path, atlas, duplicate_post, posts, gets):
    atlas.settings['duplicate_post'] = duplicate_post
    # the first four GETs (each run's digest challenge, then its read) are answered 4 s late, after
    # the read: both runs plan from the seed list before either writes
    atlas.add_fault('slow_response', method='GET', path='/accessList', times=4, seconds=4.0)
    runs = [start(tmp_path, atlas, 'a', RUN_A), start(tmp_path, atlas, 'b', RUN_B)]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    final = atlas.access_list(ORG, KEY_ID)
    wanted = {'192.0.2.10/32', '10.1.0.0/24', '203.0.113.1/32', '203.0.113.2/32', '198.51.100.0/28',
              '2001:db8:5::/48', '203.0.113.3/32'}
    assert len(final) == len(set(final))  # nothing duplicated
    assert set(addresses.sorted_canonical(addresses.parse_networks(final, allow_any=True))) == wanted
    methods = [e['method'] for e in atlas.log if 'accessList' in e['path'] and e['status'] != 401]  # not digest challenges
    # the conflict mode answers the later POST 409; that run re-reads and posts only what is missing
    assert methods.count('POST') == posts and methods.count('GET') == gets and 'DELETE' not in methods
