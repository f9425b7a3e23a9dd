# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Invariants (iii) and (iv) of issue 19 with real ansible-playbook runs of playbooks/fleet.yml.

Each example costs seconds (an ansible-playbook process), so the examples are few (the ``-playbooks``
profiles in conftest.py); docs/invariants.md says how to run more.
"""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.apiaccess.ipwhitelist.tests.e2e.test_fleet_role import FLEET, ROOT_PLAYBOOK, inventory
from ansible_collections.apiaccess.ipwhitelist.tests.simulators.atlas import AtlasSimulator
from ansible_collections.apiaccess.ipwhitelist.tests.simulators.woodcore import WoodcoreSimulator
from ansible_collections.apiaccess.ipwhitelist.tests.invariants.harness import SEED_SECRETS, WC_NAME
from ansible_collections.apiaccess.ipwhitelist.tests.unit.conftest import (
    CLIENT_ID, CLIENT_SECRET, KEY_ID, ORG, PRIVATE, PROJECT, PUBLIC, SA_ID, WC_KEY, WC_LIVE_KEY, atlas_seed,
    woodcore_seed,
)

ADDRESSES = {'app1': '203.0.113.10', 'app2': '203.0.113.11', 'app3': '203.0.113.12'}  # FLEET's
# narrowing limits, and the hosts each leaves out
LIMITS = {'app1': ('app2', 'app3'), 'app2': ('app1', 'app3'), 'app1:app3': ('app2',), 'fleet:!app3': ('app3',)}
OLD = '2024-01-01T00:00:00Z'  # usage data old enough for any remove_unused_after
# every host's address on every list (unused since OLD), and an entry no host has
SEEDED = [{'address': a, 'created': OLD, 'last_used': OLD} for a in sorted(ADDRESSES.values())] + ['192.0.2.99']
TARGETS = {
    'api_key': ('fleet_whitelist_atlas_keys', {'name': 'main', 'org_id': ORG, 'api_key': KEY_ID}),
    'org_service_account': ('fleet_whitelist_atlas_service_accounts',
                            {'name': 'sa-org', 'org_id': ORG, 'service_account': SA_ID}),
    'project_service_account': ('fleet_whitelist_atlas_service_accounts',
                                {'name': 'sa-project', 'project_id': PROJECT, 'service_account': SA_ID}),
    'project': ('fleet_whitelist_atlas_projects', {'name': 'prod', 'project_id': PROJECT}),
}
OPTIONS = {'purge': {'purge': True}, 'remove_unused_after': {'remove_unused_after': '30d'}, 'adds only': {}}
WOODCORE_IP = '198.51.100.254'  # a Woodcore key's own ip, which no limit decides
# (a project list keeps no usage data: remove_unused_after there is refused before anything, and is not drawn)
COMBOS = st.lists(st.sampled_from([(kind, option) for kind in TARGETS for option in OPTIONS
                                   if (kind, option) != ('project', 'remove_unused_after')] +
                                  [('woodcore', 'without ip'), ('woodcore', 'with ip')]),
                  min_size=1, max_size=3, unique_by=lambda combo: combo[0])


def simulators():
    """Fresh simulators: every list holds every host's address (the Woodcore key: app2's)."""
    seed = atlas_seed()
    seed['orgs'][0]['api_keys'][0]['access_list'] = SEEDED
    seed['service_accounts'][1]['access_list'] = SEEDED
    seed['projects'][0]['access_list'] = [a if isinstance(a, str) else a['address'] for a in SEEDED]
    atlas = AtlasSimulator(seed=seed, oauth_token_limit=0)
    with atlas.lock:  # a seed has no project-level service-account list: filled the way the seed fills the others
        entries = atlas._sa_entries(atlas.service_accounts[SA_ID], PROJECT)  # pylint: disable=protected-access
        for value in SEEDED:
            atlas._seed_entry(entries, value, sa=True)  # pylint: disable=protected-access
    woodcore = WoodcoreSimulator(seed=woodcore_seed(ip=ADDRESSES['app2']))
    atlas.start()
    woodcore.start()
    return atlas, woodcore


def lists(atlas):
    return {'api_key': atlas.access_list(ORG, KEY_ID), 'org_service_account': atlas.sa_access_list(SA_ID),
            'project_service_account': atlas.sa_access_list(SA_ID, PROJECT),
            'project': list(atlas.project_access_list(PROJECT))}


def env_of(atlas, woodcore, oauth=False):
    env = {'MONGODB_ATLAS_BASE_URL': atlas.url, 'WOODCORE_BASE_URL': woodcore.url + '/api/v2'}
    if oauth:
        env.update(MONGODB_ATLAS_CLIENT_ID=CLIENT_ID, MONGODB_ATLAS_CLIENT_SECRET=CLIENT_SECRET)
    else:
        env.update(MONGODB_ATLAS_PUBLIC_API_KEY=PUBLIC, MONGODB_ATLAS_PRIVATE_API_KEY=PRIVATE)
    return env


def test_iii_no_address_outside_a_narrowing_limit_leaves_any_list(tmp_path, ansible_playbook, playbook_settings):
    """(iii) Under a narrowing --limit, no address of a host outside it leaves any list (API key, service
    account at organization or project level, project), and no Woodcore key that takes its one IP from the
    fleet is asked (by an emailed OTP) to trade a host's address for the limited fleet's: random kinds with
    purge, remove_unused_after or neither, a Woodcore key with or without ip, random narrowing limits.

    Catches on a788d62 item 2, the guard read only the API keys' ``purge``::

        combos=[('api_key', 'remove_unused_after')], limit='app1'

    removed 203.0.113.11/32 and 203.0.113.12/32 (app2's, app3's, unused since 2024) from the key's list.
    """
    inv = inventory(tmp_path, FLEET)
    runs = itertools.count()

    @playbook_settings
    @given(combos=COMBOS, limit=st.sampled_from(sorted(LIMITS)))
    def narrowed_run(combos, limit):
        atlas, woodcore = simulators()
        try:
            extra = {'fleet_whitelist_atlas_keys': [], 'fleet_whitelist_atlas_service_accounts': [],
                     'fleet_whitelist_atlas_projects': [], 'fleet_whitelist_woodcore_keys': [],
                     'fleet_whitelist_woodcore_pending_state_path': str(tmp_path / ('pending-%d.json' % next(runs)))}
            for kind, option in combos:
                if kind == 'woodcore':
                    key = {'name': 'payments', 'api_key': WC_KEY}
                    if option == 'with ip':
                        key['ip'] = WOODCORE_IP
                    extra['fleet_whitelist_woodcore_keys'].append(key)
                else:
                    variable, target = TARGETS[kind]
                    extra[variable].append(dict(target, **OPTIONS[option]))
            before = lists(atlas)
            run = ansible_playbook(ROOT_PLAYBOOK, '-i', inv, '--limit', limit, env=env_of(atlas, woodcore),
                                   extra_vars=extra)
            after = lists(atlas)
            outside = [ADDRESSES[host] + '/32' for host in LIMITS[limit]]
            gone = dict((kind, [a for a in outside if a in before[kind] and a not in after[kind]]) for kind in before)
            assert not any(gone.values()), 'targets %s under --limit %s: %s left their lists: %s\n%s' % (
                combos, limit, outside, gone, run.output[-3000:])
            requested = [e['ip'] for e in woodcore.emails(WC_NAME) if e['ip'] != WOODCORE_IP]
            assert not requested and woodcore.key_state(WC_NAME)['ip'] == ADDRESSES['app2'], \
                'targets %s under --limit %s: the Woodcore key was asked to take %s instead of %s\n%s' % (
                    combos, limit, requested, ADDRESSES['app2'], run.output[-3000:])
        finally:
            atlas.stop()
            woodcore.stop()

    narrowed_run()


def test_iv_no_secret_in_playbook_output_or_log_path_at_vvvv(tmp_path, ansible_playbook):
    """(iv) At -vvvv with --diff and ANSIBLE_LOG_PATH set, no secret (the seeds' keys and client secrets, the
    OAuth tokens issued, the OTP) reaches the output or the log file: a rollout over every kind (digest) that
    requests an OTP, with retried faults and a gateway that echoes a key's bearer token in its error, then an
    approve with the OTP (OAuth), with a reset connection and a 503 on the approve.

    On a788d62 these runs leak nothing: the log file takes INFO and up, and item 9's WARNING needs a refused
    connection (tests/e2e/test_log_path_redaction.py); the in-process machine's log capture at DEBUG
    (test_invariants_modules.py) is what catches item 9 there. This test keeps the whole path honest.
    """
    atlas, woodcore = simulators()
    woodcore._new_otp = lambda: '734219'  # pylint: disable=protected-access  # all digits, no leading zero
    log = tmp_path / 'ansible.log'
    try:
        inv = inventory(tmp_path, FLEET)
        base = {'fleet_whitelist_atlas_keys': [dict(TARGETS['api_key'][1], purge=True)],
                'fleet_whitelist_atlas_service_accounts': [dict(TARGETS['org_service_account'][1], purge=True),
                                                           TARGETS['project_service_account'][1]],
                'fleet_whitelist_atlas_projects': [TARGETS['project'][1]],
                # the live key first: one target at a time, so the faults meet the requests named
                'fleet_whitelist_woodcore_keys': [{'name': 'live', 'api_key': WC_LIVE_KEY, 'ip': WOODCORE_IP},
                                                  {'name': 'payments', 'api_key': WC_KEY, 'ip': WOODCORE_IP}],
                'fleet_whitelist_woodcore_pending_state_path': str(tmp_path / 'pending.json'),
                'fleet_whitelist_retries': 2, 'fleet_whitelist_concurrency': 1}
        leaky = {'status': 0, 'message': 'key {bearer} is not allowed here'}
        atlas.add_fault('status', method='GET', path=r'/accessList$', status=503, times=2)
        atlas.add_fault('reset_before', method='GET', path=r'/accessList$', times=1)
        woodcore.add_fault('status', method='GET', path=r'/keyprofile$', status=401, body=leaky, times=1)
        first = ansible_playbook(ROOT_PLAYBOOK, '-i', inv, '-vvvv', '--diff', extra_vars=base,
                                 env=dict(env_of(atlas, woodcore), ANSIBLE_LOG_PATH=str(log)))
        emailed = [e['otp'] for e in woodcore.emails(WC_NAME)]
        assert emailed == ['734219'], first.output[-3000:]
        woodcore.add_fault('reset_before', method='GET', path=r'/keyprofile$', times=1)
        woodcore.add_fault('status', method='POST', path=r'/approve/', status=503, times=1)
        second = ansible_playbook(ROOT_PLAYBOOK, '-i', inv, '-vvvv', '--diff',
                                  extra_vars=dict(base, fleet_whitelist_woodcore_otps={'payments': '734219'}),
                                  env=dict(env_of(atlas, woodcore, oauth=True), ANSIBLE_LOG_PATH=str(log)))
        with atlas.lock:
            tokens = list(atlas.tokens)
        approves = [e for e in woodcore.requests('POST') if '/approve/' in e['path']]
        assert tokens and approves, 'no OAuth token or no approve: %s' % second.output[-3000:]
        secrets = set(SEED_SECRETS) | set(tokens) | set(emailed) | {'734219'}
        for name, text in (('first run', first.output), ('second run', second.output), ('log file', log.read_text())):
            leaked = sorted(s for s in secrets if s in text)
            assert not leaked, '%s: %s in\n%s' % (name, leaked, '\n'.join(
                line for line in text.splitlines() if any(s in line for s in leaked))[:3000])
    finally:
        atlas.stop()
        woodcore.stop()
