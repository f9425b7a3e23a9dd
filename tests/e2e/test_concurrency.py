# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Two playbook runs at once on the same Atlas key with overlapping entries (state present) end
with the union of what both asked for: nothing lost, nothing duplicated. The simulator holds the
answer to each run's read until both runs have read, so both plan from the same old list and their
writes really interleave, however long either process takes to start. Runs for each value of the
unknown duplicate-POST behaviour."""

from __future__ import annotations

import json
import re
import subprocess
import threading

import pytest

from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import addresses
from ansible_collections.apiaccess.ipwhitelist.tests.e2e.conftest import BIN, PLAYBOOKS, ROOT, _env
from ansible_collections.apiaccess.ipwhitelist.tests.simulators.atlas import AtlasSimulator
from ansible_collections.apiaccess.ipwhitelist.tests.unit.conftest import KEY_ID, ORG, PRIVATE, PUBLIC, atlas_seed

RUN_A = ['203.0.113.1', '203.0.113.2', '198.51.100.0/28']
RUN_B = ['203.0.113.2', '198.51.100.0/28', '2001:db8:5::/48', '203.0.113.3']
LIST = '/api/atlas/v2/orgs/%s/apiKeys/%s/accessList' % (ORG, KEY_ID)
GUARD = 240.0  # the longest a read is held: only a run that never reads makes the other wait that long


class BothReadFirst(AtlasSimulator):
    """The Atlas simulator, answering a read of the key's list only once two runs have read it: each run is
    known by the nonce of its own digest challenge, so a run's retried read (a timeout) waits too, and the
    third read (a run re-reading after a conflict) goes through at once. ``stuck``: reads that waited GUARD."""

    def __init__(self, **kwargs):
        super(BothReadFirst, self).__init__(**kwargs)
        self.readers = set()
        self.both_read = threading.Event()
        self.stuck = []

    def handle(self, request):
        response, reset_after = super(BothReadFirst, self).handle(request)
        if request.method == 'GET' and request.raw_path == LIST and response is not None and response.status == 200:
            nonce = re.search(r'nonce="([^"]*)"', request.headers.get('Authorization') or '')
            with self.lock:
                self.readers.add(nonce.group(1) if nonce else None)
                if len(self.readers) >= 2:
                    self.both_read.set()
            if not self.both_read.wait(GUARD):  # the list was read (acted on) already: only the answer waits
                self.stuck.append(request.raw_path)
        return response, reset_after


def start(tmp_path, atlas, name, entries):
    extra = tmp_path / ('%s.json' % name)
    extra.write_text(json.dumps(dict(sim_url=atlas.url, org_id=ORG, public_key=PUBLIC, private_key=PRIVATE,
                                     entries=entries)))
    return subprocess.Popen([str(BIN / 'ansible-playbook'), str(PLAYBOOKS / 'atlas_present.yml'), '-e', '@%s' % extra],
                            env=_env(tmp_path / name), cwd=str(ROOT), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


@pytest.mark.parametrize('duplicate_post, posts, gets', [('noop', 2, 2), ('conflict', 3, 3)])
def test_two_runs_at_once_end_with_the_union(tmp_path, duplicate_post, posts, gets):
    with BothReadFirst(seed=atlas_seed(), duplicate_post=duplicate_post) as atlas:
        runs = [start(tmp_path, atlas, 'a', RUN_A), start(tmp_path, atlas, 'b', RUN_B)]
        outputs = [run.communicate(timeout=600)[0] for run in runs]
        assert [run.returncode for run in runs] == [0, 0], outputs
        assert atlas.stuck == []
        final = atlas.access_list(ORG, KEY_ID)
        wanted = {'192.0.2.10/32', '10.1.0.0/24', '203.0.113.1/32', '203.0.113.2/32', '198.51.100.0/28',
                  '2001:db8:5::/48', '203.0.113.3/32'}
        assert len(final) == len(set(final))  # nothing duplicated
        assert set(addresses.sorted_canonical(addresses.parse_networks(final, allow_any=True))) == wanted
        # not the digest challenges
        methods = [e['method'] for e in atlas.log if 'accessList' in e['path'] and e['status'] != 401]
        # the conflict mode answers the later POST 409; that run re-reads and posts only what is missing
        assert methods.count('POST') == posts and methods.count('GET') == gets and 'DELETE' not in methods
