# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures: the simulators on loopback, and in-process module runs."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from ansible_collections.apiaccess.ipwhitelist.tests.simulators.atlas import AtlasSimulator
from ansible_collections.apiaccess.ipwhitelist.tests.simulators.woodcore import WoodcoreSimulator

# every module of the collection, by name (the checks that cover each one iterate over this)
MODULES = sorted(p.stem for p in (Path(__file__).resolve().parents[2] / 'plugins' / 'modules').glob('*.py')
                 if p.stem != '__init__')

ORG = '5f0000000000000000000001'
OTHER_ORG = '5f0000000000000000000002'
KEY_ID = '6a0000000000000000000001'
KEY2_ID = '6a0000000000000000000002'
PUBLIC = 'abcdefgh'
PUBLIC2 = 'zyxwvuts'
# unique marker strings: tests grep every output for them
PRIVATE = 'PRIVATEKEY-3b1f-4c6e-9a2d-MARKER'
PRIVATE2 = 'PRIVATEKEY-2222-4c6e-9a2d-MARKER'
CLIENT_ID = 'mdb_sa_id_0123456789abcdef01234567'
CLIENT_SECRET = 'mdb_sa_sk_CLIENTSECRET_MARKER'
# a service account managed by the tests (the caller, CLIENT_ID, is one too) and a project
SA_ID = 'mdb_sa_id_5a0000000000000000000001'
SA_NAME = 'ci-runner'
PROJECT = '6b0000000000000000000001'
WC_KEY = 'wc_test_WOODCOREKEY0MARKER0123456789'
WC_LIVE_KEY = 'wc_live_WOODCORELIVE0MARKER0123456789'


def atlas_seed(entries=('192.0.2.10', '10.1.0.0/24'), sa_entries=('192.0.2.20', '10.3.0.0/24')):
    return {
        'orgs': [
            {'id': ORG, 'api_keys': [
                {'id': KEY_ID, 'publicKey': PUBLIC, 'privateKey': PRIVATE, 'desc': 'automation',
                 'roles': ['ORG_OWNER'], 'access_list': list(entries)},
                {'id': KEY2_ID, 'publicKey': PUBLIC2, 'privateKey': PRIVATE2, 'desc': 'reporting',
                 'roles': ['ORG_READ_ONLY'], 'access_list': ['198.51.100.0/24']},
            ]},
            {'id': OTHER_ORG, 'api_keys': []},
        ],
        'service_accounts': [
            {'client_id': CLIENT_ID, 'client_secret': CLIENT_SECRET, 'name': 'automation', 'orgs': [ORG],
             'projects': [PROJECT], 'access_list': []},
            {'client_id': SA_ID, 'client_secret': 'mdb_sa_sk_other', 'name': SA_NAME, 'orgs': [ORG],
             'projects': [PROJECT], 'access_list': list(sa_entries)},
        ],
        'projects': [{'id': PROJECT, 'name': 'prod', 'org': ORG}],
    }


class FakeClock(object):
    """A clock that moves only when someone sleeps through it, so a token bucket refills, or a wait ends, only
    because the run waited, however loaded the machine is. ``slept``: every wait, rounded to the millisecond.
    Thread-safe: a run's workers and a simulator's buckets share it."""

    def __init__(self, now=1000.0):
        self.now = now
        self.slept = []
        self.lock = threading.Lock()

    def clock(self):
        with self.lock:
            return self.now

    def sleep(self, seconds):
        with self.lock:
            self.slept.append(round(seconds, 3))
            self.now += seconds


def woodcore_seed(ip='203.0.113.7'):
    return {'keys': [
        {'key': WC_KEY, 'name': 'payments-sandbox', 'owner_email': 'ops@example.com', 'ip': ip},
        {'key': WC_LIVE_KEY, 'name': 'payments-live', 'owner_email': 'ops@example.com', 'ip': ip},
    ]}


@pytest.fixture
def atlas():
    sim = AtlasSimulator(seed=atlas_seed())
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture
def woodcore():
    sim = WoodcoreSimulator(seed=woodcore_seed())
    sim.start()
    yield sim
    sim.stop()


def run_module(capsys, main, args, check_mode=False, diff=False):
    """Run a module's main() in-process, as in a module process; returns (failed, result)."""
    from ansible.module_utils import _internal
    from ansible.module_utils.common import warnings
    from ansible.module_utils.testing import patch_module_args
    warnings._global_warnings.clear()  # pylint: disable=protected-access  # process-wide: one run's must not leak
    args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
    # importing controller code (an action plugin, plugin_utils) anywhere in the test process flips this flag,
    # and module warnings would then go to the controller's display instead of into the result
    controller, _internal.is_controller = _internal.is_controller, False
    try:
        with patch_module_args(args):
            with pytest.raises(SystemExit) as exc:
                main()
    finally:
        _internal.is_controller = controller
    result = json.loads(capsys.readouterr().out)
    return exc.value.code != 0, result


def warning_texts(result):
    """Warnings as strings: ansible-core 2.19 gives strings, 2.20+ structured summaries."""
    texts = []
    for warning in result.get('warnings', []):
        if isinstance(warning, dict):
            warning = (warning.get('event') or {}).get('msg') or warning.get('msg') or json.dumps(warning)
        texts.append(warning)
    return texts
