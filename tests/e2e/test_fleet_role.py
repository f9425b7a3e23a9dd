# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fleet_whitelist role with real ansible-playbook runs against both simulators."""

from __future__ import annotations

import json

import pytest

from ansible_collections.apiaccess.ipwhitelist.tests.e2e.conftest import BIN, PLAYBOOKS, ROOT, _env
from ansible_collections.apiaccess.ipwhitelist.tests.unit.conftest import (
    KEY2_ID, KEY_ID, ORG, PRIVATE, PROJECT, PUBLIC, SA_ID, WC_KEY,
)

ROOT_PLAYBOOK = '../../../playbooks/fleet.yml'


def inventory(tmp_path, hosts):
    """hosts: name -> dict of host vars."""
    data = {'all': {'vars': {'ansible_connection': 'local',
                             'ansible_python_interpreter': '{{ ansible_playbook_python }}'},
                    'children': {'fleet': {'hosts': hosts}}}}
    path = tmp_path / 'inventory.json'
    path.write_text(json.dumps(data))
    return str(path)


@pytest.fixture
def env(atlas, woodcore):
    return {'MONGODB_ATLAS_BASE_URL': atlas.url, 'MONGODB_ATLAS_PUBLIC_API_KEY': PUBLIC,
            'MONGODB_ATLAS_PRIVATE_API_KEY': PRIVATE, 'WOODCORE_BASE_URL': woodcore.url + '/api/v2'}


def keys(tmp_path, woodcore_ip=None, **extra):
    data = {
        'fleet_whitelist_atlas_keys': [
            {'name': 'main', 'org_id': ORG, 'api_key': KEY_ID, 'purge': True, 'keep': ['10.0.0.0/8']},
            {'name': 'reporting', 'org_id': ORG, 'api_key': 'zyxwvuts'},
        ],
        'fleet_whitelist_woodcore_keys': [dict({'name': 'payments', 'api_key': WC_KEY},
                                               **({'ip': woodcore_ip} if woodcore_ip else {}))],
        'fleet_whitelist_woodcore_pending_state_path': str(tmp_path / 'pending.json'),
    }
    data.update(extra)
    return data


FLEET = {'app1': {'fleet_whitelist_address': '203.0.113.10'},
         'app2': {'fleet_whitelist_address': '203.0.113.11'},
         'app3': {'ansible_host': '203.0.113.12'}}


def test_rollout_then_approve_then_nothing(tmp_path, atlas, woodcore, env, ansible_playbook):
    inv = inventory(tmp_path, FLEET)
    run = ansible_playbook(ROOT_PLAYBOOK, '-i', inv, extra_vars=keys(tmp_path, woodcore_ip='198.51.100.254'),
                           env=env)
    assert run.rc == 0, run.output[-3000:]
    assert 'atlas    main                     added 203.0.113.10/32, 203.0.113.11/32, 203.0.113.12/32; ' \
           'removed 192.0.2.10/32' in run.stdout
    assert 'woodcore payments                 pending approval of 198.51.100.254 (OTP emailed)' in run.stdout
    assert sorted(atlas.access_list(ORG, KEY_ID)) == ['10.1.0.0/24', '203.0.113.10/32', '203.0.113.11/32',
                                                      '203.0.113.12/32']
    assert '198.51.100.0/24' in atlas.access_list(ORG, KEY2_ID)  # no purge on that key
    otp = woodcore.emails()[0]['otp']
    run = ansible_playbook(ROOT_PLAYBOOK, '-i', inv, env=env, extra_vars=keys(
        tmp_path, woodcore_ip='198.51.100.254', fleet_whitelist_woodcore_otps={'payments': otp}))
    assert run.rc == 0 and 'woodcore payments                 whitelisted 198.51.100.254' in run.stdout
    writes = (len(atlas.writes()), len(woodcore.writes()))
    run = ansible_playbook(ROOT_PLAYBOOK, '-i', inv, extra_vars=keys(tmp_path, woodcore_ip='198.51.100.254'),
                           env=env)
    assert run.rc == 0 and run.stdout.count('unchanged') == 3
    assert (len(atlas.writes()), len(woodcore.writes())) == writes
    assert len(woodcore.emails()) == 1


@pytest.mark.parametrize('hostvars, words', [
    ({'fleet_whitelist_address': '203.0.113.300'}, "host bad: invalid address '203.0.113.300'"),
    ({'fleet_whitelist_address': 'db.example.com'}, 'host bad: invalid address'),
    ({'ansible_host': 'bad.example.com'}, 'host bad has no allow-list address'),
    ({}, 'host bad has no allow-list address'),
])
def test_bad_or_missing_address_names_the_host_and_sends_nothing(tmp_path, atlas, woodcore, env,
                                                                 ansible_playbook, hostvars, words):
    inv = inventory(tmp_path, dict(FLEET, bad=hostvars))
    run = ansible_playbook(ROOT_PLAYBOOK, '-i', inv, extra_vars=keys(tmp_path, woodcore_ip='198.51.100.254'),
                           env=env)
    assert run.rc != 0 and words in run.stdout, run.output[-2000:]
    assert atlas.log == [] and woodcore.log == []


def test_woodcore_key_without_ip_needs_a_single_address(tmp_path, atlas, woodcore, env, ansible_playbook):
    run = ansible_playbook(ROOT_PLAYBOOK, '-i', inventory(tmp_path, FLEET), extra_vars=keys(tmp_path), env=env)
    assert run.rc != 0 and 'Woodcore key payments takes exactly one IP, but the fleet has 3 addresses' in run.stdout
    assert atlas.log == [] and woodcore.log == []
    one = {'nat': {'fleet_whitelist_address': '198.51.100.254'}}
    run = ansible_playbook(ROOT_PLAYBOOK, '-i', inventory(tmp_path, one), extra_vars=keys(tmp_path), env=env)
    assert run.rc == 0 and woodcore.emails()[0]['ip'] == '198.51.100.254'


def test_check_mode_and_diff_with_the_role_defaults(tmp_path, atlas, woodcore, env, ansible_playbook):
    run = ansible_playbook(ROOT_PLAYBOOK, '-i', inventory(tmp_path, FLEET), '--check', '--diff', '-vvvv',
                           extra_vars=keys(tmp_path, woodcore_ip='198.51.100.254'), env=env)
    assert run.rc == 0, run.output[-3000:]
    assert {e['method'] for e in atlas.log + woodcore.log} == {'GET'}
    assert '+        "203.0.113.10/32",' in run.stdout and '--- before: atlas main' in run.stdout
    assert '-    "ip": "203.0.113.7"' in run.stdout and '+    "ip": "198.51.100.254"' in run.stdout
    # the summary speaks in the conditional: nothing was added or requested
    assert 'atlas    main                     would add 203.0.113.10/32, 203.0.113.11/32, 203.0.113.12/32; ' \
           'would remove 192.0.2.10/32' in run.stdout
    assert 'woodcore payments                 would request an OTP for whitelisting 198.51.100.254' in run.stdout
    assert 'added' not in run.stdout.split('TASK [apiaccess.ipwhitelist.fleet_whitelist : Summary')[1]
    assert woodcore.emails() == []
    for secret in (PRIVATE, WC_KEY):
        assert secret not in run.output


def test_fleet_whitelist_no_log_hides_the_entries(tmp_path, atlas, woodcore, env, ansible_playbook):
    run = ansible_playbook(ROOT_PLAYBOOK, '-i', inventory(tmp_path, FLEET), '--check', '--diff',
                           extra_vars=keys(tmp_path, woodcore_ip='198.51.100.254', fleet_whitelist_no_log=True),
                           env=env)
    assert run.rc == 0 and '--- before: atlas main' not in run.stdout and 'would add' in run.stdout


def test_credentials_and_url_from_the_play_environment(tmp_path, atlas, woodcore, ansible_playbook):
    """The action plugin runs in the controller: its fallbacks must see the task's environment:,
    as a module process would."""
    play_env = {'MONGODB_ATLAS_BASE_URL': atlas.url, 'MONGODB_ATLAS_PUBLIC_API_KEY': PUBLIC,
                'MONGODB_ATLAS_PRIVATE_API_KEY': PRIVATE, 'WOODCORE_BASE_URL': woodcore.url + '/api/v2'}
    clean = {name: '' for name in play_env}  # nothing in the controller's own environment
    extra = keys(tmp_path, woodcore_ip='198.51.100.254', play_environment=play_env)
    run = ansible_playbook('fleet_environment.yml', '-i', inventory(tmp_path, FLEET), extra_vars=extra, env=clean)
    assert run.rc == 0, run.output[-3000:]
    assert '203.0.113.10/32' in atlas.access_list(ORG, KEY_ID) and len(woodcore.emails()) == 1


def test_base_url_only_in_the_play_environment_is_not_ignored(tmp_path, atlas, woodcore, env, ansible_playbook):
    """Credentials exported in the shell, the URL only in environment: the run must go to that URL,
    not silently to cloud.mongodb.com."""
    shell = dict(env, MONGODB_ATLAS_BASE_URL='')
    extra = keys(tmp_path, woodcore_ip='198.51.100.254', play_environment={'MONGODB_ATLAS_BASE_URL': atlas.url})
    run = ansible_playbook('fleet_environment.yml', '-i', inventory(tmp_path, FLEET), extra_vars=extra, env=shell)
    assert run.rc == 0, run.output[-3000:]
    assert '203.0.113.10/32' in atlas.access_list(ORG, KEY_ID)


def test_unknown_otp_names_fail_before_any_request(tmp_path, atlas, woodcore, env, ansible_playbook):
    run = ansible_playbook(ROOT_PLAYBOOK, '-i', inventory(tmp_path, FLEET), env=env, extra_vars=keys(
        tmp_path, woodcore_ip='198.51.100.254', fleet_whitelist_woodcore_otps={'Payments': 'abcdefghijk'}))
    assert run.rc != 0 and 'woodcore_otps names no Woodcore key of this run: Payments; the keys are payments' \
        in run.stdout, run.output[-3000:]
    assert atlas.log == [] and woodcore.log == [] and 'abcdefghijk' not in run.output


def test_woodcore_key_without_ip_under_a_narrowing_limit_is_refused(tmp_path, atlas, woodcore, env,
                                                                    ansible_playbook):
    extra = keys(tmp_path)
    extra['fleet_whitelist_atlas_keys'] = []
    run = ansible_playbook(ROOT_PLAYBOOK, '-i', inventory(tmp_path, FLEET), '--limit', 'app1', env=env,
                           extra_vars=extra)
    assert run.rc != 0 and "Woodcore key payments takes its one IP from the fleet (no ip given)" in run.stdout
    assert woodcore.log == [] and woodcore.emails() == []


def test_a_limit_that_does_not_narrow_the_play_is_allowed(tmp_path, atlas, woodcore, env, ansible_playbook):
    run = ansible_playbook(ROOT_PLAYBOOK, '-i', inventory(tmp_path, FLEET), '--limit', 'fleet', env=env,
                           extra_vars=keys(tmp_path, woodcore_ip='198.51.100.254'))
    assert run.rc == 0, run.output[-3000:]
    assert sorted(atlas.access_list(ORG, KEY_ID)) == ['10.1.0.0/24', '203.0.113.10/32', '203.0.113.11/32',
                                                      '203.0.113.12/32']


def test_naming_the_limited_play_as_the_fleet_is_refused(tmp_path, atlas, woodcore, env, ansible_playbook):
    before = sorted(atlas.access_list(ORG, KEY_ID))
    run = ansible_playbook(ROOT_PLAYBOOK, '-i', inventory(tmp_path, FLEET), '--limit', 'app1', env=env,
                           extra_vars=keys(tmp_path, woodcore_ip='198.51.100.254',
                                           fleet_whitelist_hosts='{{ ansible_play_hosts_all }}'))
    assert run.rc != 0 and 'exactly the limited play' in run.stdout, run.output[-3000:]
    assert atlas.log == [] and sorted(atlas.access_list(ORG, KEY_ID)) == before


def test_fleet_converge_without_run_once_converges_once(tmp_path, atlas, woodcore, env, ansible_playbook):
    extra = keys(tmp_path)
    run = ansible_playbook('fleet_converge_per_host.yml', '-i', inventory(tmp_path, FLEET), env=env,
                           extra_vars=extra)
    assert run.rc == 0, run.output[-3000:]
    assert 'set run_once: true' in run.output
    # one converge of two keys (a host's converge each would be 3 times this): per key one GET of the list
    # (+ one key-list page to resolve the public key) and one POST, plus one DELETE for main's purge and
    # the one read of the address the run calls from, before that removal
    assert [e['method'] for e in atlas.log].count('POST') == 2
    assert len([e for e in atlas.log if e['status'] != 401]) == 7, atlas.log  # 401: digest challenge legs


def test_serial_batches_converge_the_whole_fleet_once(tmp_path, atlas, woodcore, env, ansible_playbook):
    fleet = dict(('app%d' % i, {'fleet_whitelist_address': '203.0.113.%d' % i}) for i in range(1, 6))
    run = ansible_playbook('fleet_serial.yml', '-i', inventory(tmp_path, fleet),
                           extra_vars=keys(tmp_path, woodcore_ip='198.51.100.254'), env=env)
    assert run.rc == 0, run.output[-3000:]
    assert sorted(atlas.access_list(ORG, KEY_ID)) == ['10.1.0.0/24'] + ['203.0.113.%d/32' % i for i in range(1, 6)]
    posts = [e for e in atlas.log if e['method'] == 'POST']
    assert len(posts) == 2  # one per key, all in the first batch; batches 2 and 3 only read
    assert run.stdout.count('unchanged') == 2 * 2  # both Atlas keys unchanged in batches 2 and 3
    assert run.stdout.count('(OTP already requested)') == 2 and len(woodcore.emails()) == 1


def test_one_failing_key_does_not_stop_the_others(tmp_path, atlas, woodcore, env, ansible_playbook):
    extra = keys(tmp_path, woodcore_ip='198.51.100.254')
    extra['fleet_whitelist_atlas_keys'].insert(0, {'name': 'ghost', 'org_id': ORG, 'api_key': 'ghostkey'})
    run = ansible_playbook(ROOT_PLAYBOOK, '-i', inventory(tmp_path, FLEET), extra_vars=extra, env=env)
    assert run.rc != 0
    assert "atlas    ghost                    FAILED: no API key with public key 'ghostkey'" in run.stdout
    assert '1 of 4 keys failed' in run.stdout
    assert '203.0.113.10/32' in atlas.access_list(ORG, KEY_ID)


def test_role_secrets_stay_out_of_vvvv(tmp_path, atlas, woodcore, env, ansible_playbook):
    inv = inventory(tmp_path, FLEET)
    runs = [ansible_playbook(ROOT_PLAYBOOK, '-i', inv, '-vvvv', '--diff', env=env,
                             extra_vars=keys(tmp_path, woodcore_ip='198.51.100.254'))]
    otp = woodcore.emails()[0]['otp']
    for no_log in (True, False):
        runs.append(ansible_playbook(ROOT_PLAYBOOK, '-i', inv, '-vvvv', '--diff', env=env, extra_vars=keys(
            tmp_path, woodcore_ip='198.51.100.254', fleet_whitelist_no_log=no_log,
            fleet_whitelist_woodcore_otps={'payments': otp})))
    assert [r.rc for r in runs] == [0, 0, 0]
    for run in runs:
        for secret in (PRIVATE, WC_KEY, otp):
            assert secret not in run.output


# pexpect forks a pty child of this threaded process (the simulators); the child execs at once
@pytest.mark.filterwarnings('ignore:This process .* is multi-threaded:DeprecationWarning')
def test_prompt_asks_for_the_otp_and_approves_in_the_same_run(tmp_path, atlas, woodcore, env):
    """fleet_whitelist_woodcore_prompt: the run requests the OTP, asks for it on the terminal (hidden),
    and approves the pending key before it ends; at -vvvv the OTP and the keys stay out of the output."""
    import pexpect  # a dependency of ansible-runner (requirements-dev.txt)

    extra = tmp_path / 'prompt-vars.json'
    extra.write_text(json.dumps(keys(tmp_path, woodcore_ip='198.51.100.254', fleet_whitelist_woodcore_prompt=True)))
    cmd = [str(BIN / 'ansible-playbook'), str(PLAYBOOKS / ROOT_PLAYBOOK), '-i', inventory(tmp_path, FLEET),
           '-e', '@%s' % extra, '-vvvv']
    child = pexpect.spawn(cmd[0], cmd[1:], env=_env(tmp_path, env), cwd=str(ROOT), encoding='utf-8', timeout=120)
    child.expect_exact('OTP emailed to the owner of Woodcore key payments (input hidden)')
    otp = woodcore.emails()[0]['otp']
    child.sendline(otp)
    child.expect(pexpect.EOF)
    child.close()
    output = child.before
    assert child.exitstatus == 0, output[-3000:]
    assert 'woodcore payments                 pending approval of 198.51.100.254 (OTP emailed)' in output
    assert 'woodcore payments                 whitelisted 198.51.100.254' in output
    assert woodcore.key_state('payments-sandbox') == {'ip': '198.51.100.254', 'pending_ip': None}
    assert otp not in output and WC_KEY not in output and PRIVATE not in output
    assert len(woodcore.emails()) == 1


def test_bad_role_variable_is_refused_before_any_request(tmp_path, atlas, woodcore, env, ansible_playbook):
    run = ansible_playbook(ROOT_PLAYBOOK, '-i', inventory(tmp_path, FLEET), env=env, extra_vars=keys(
        tmp_path, woodcore_ip='198.51.100.254', fleet_whitelist_concurrency='many'))
    assert run.rc != 0
    assert 'fleet_whitelist_concurrency' in run.stdout and "'many'" in run.stdout
    assert atlas.log == [] and woodcore.log == []


def test_purge_under_limit_is_refused_unless_the_fleet_is_named(tmp_path, atlas, woodcore, env, ansible_playbook):
    inv = inventory(tmp_path, FLEET)
    before = sorted(atlas.access_list(ORG, KEY_ID))
    run = ansible_playbook(ROOT_PLAYBOOK, '-i', inv, '--limit', 'app1', env=env,
                           extra_vars=keys(tmp_path, woodcore_ip='198.51.100.254'))
    assert run.rc != 0
    assert "refusing to run under --limit: the limit 'app1' narrows the play to 1 host(s)" in run.stdout
    assert 'would leave these lists: Atlas key main purges' in run.stdout
    assert atlas.log == [] and woodcore.log == []
    assert sorted(atlas.access_list(ORG, KEY_ID)) == before
    # naming the fleet: the limit no longer decides which addresses stay
    run = ansible_playbook(ROOT_PLAYBOOK, '-i', inv, '--limit', 'app1', env=env, extra_vars=keys(
        tmp_path, woodcore_ip='198.51.100.254', fleet_whitelist_hosts="{{ groups['fleet'] }}"))
    assert run.rc == 0, run.output[-3000:]
    assert sorted(atlas.access_list(ORG, KEY_ID)) == ['10.1.0.0/24', '203.0.113.10/32', '203.0.113.11/32',
                                                      '203.0.113.12/32']


@pytest.mark.parametrize('variable, target, refused', [
    ('fleet_whitelist_atlas_service_accounts', {'name': 'ci', 'org_id': ORG, 'service_account': SA_ID, 'purge': True},
     'Atlas service account ci purges'),
    ('fleet_whitelist_atlas_service_accounts', {'name': 'ci', 'project_id': PROJECT, 'service_account': SA_ID,
                                                'remove_unused_after': '90d'},
     'Atlas service account ci removes entries unused for 90d'),
    ('fleet_whitelist_atlas_projects', {'name': 'prod', 'project_id': PROJECT, 'purge': True},
     'Atlas project prod purges'),
])
def test_every_kind_that_removes_is_refused_under_a_narrowing_limit(tmp_path, atlas, env, ansible_playbook,
                                                                    variable, target, refused):
    """Issue 19 item 2: the guard covered API keys only; a service account or project list purging under
    --limit removed the addresses of every host outside it (for a project list: database access)."""
    before = (atlas.sa_access_list(SA_ID), atlas.sa_access_list(SA_ID, PROJECT), atlas.project_access_list(PROJECT))
    extra = {'fleet_whitelist_atlas_keys': [], 'fleet_whitelist_woodcore_keys': [], variable: [target]}
    run = ansible_playbook(ROOT_PLAYBOOK, '-i', inventory(tmp_path, FLEET), '--limit', 'app1', env=env,
                           extra_vars=extra)
    assert run.rc != 0 and "refusing to run under --limit: the limit 'app1'" in run.stdout, run.output[-3000:]
    assert 'would leave these lists: %s' % refused in run.stdout
    assert atlas.log == []
    assert (atlas.sa_access_list(SA_ID), atlas.sa_access_list(SA_ID, PROJECT),
            atlas.project_access_list(PROJECT)) == before


def test_limit_without_purge_only_adds_the_limited_hosts(tmp_path, atlas, woodcore, env, ansible_playbook):
    extra = keys(tmp_path, woodcore_ip='198.51.100.254')
    extra['fleet_whitelist_atlas_keys'] = [{'name': 'reporting', 'org_id': ORG, 'api_key': 'zyxwvuts'}]
    before = atlas.access_list(ORG, KEY2_ID)
    run = ansible_playbook(ROOT_PLAYBOOK, '-i', inventory(tmp_path, FLEET), '--limit', 'app1', env=env,
                           extra_vars=extra)
    assert run.rc == 0, run.output[-3000:]
    assert sorted(atlas.access_list(ORG, KEY2_ID)) == sorted(before + ['203.0.113.10/32'])


def test_role_options_reach_the_fleet(tmp_path, atlas, woodcore, env, ansible_playbook):
    """fleet_whitelist_woodcore_resend_after below 0 is refused before any request (as the module refuses it);
    fleet_whitelist_woodcore_request_otp=false stops the OTP email."""
    inv = inventory(tmp_path, FLEET)
    run = ansible_playbook(ROOT_PLAYBOOK, '-i', inv, env=env, extra_vars=keys(
        tmp_path, woodcore_ip='198.51.100.254', fleet_whitelist_woodcore_resend_after=-1))
    assert run.rc != 0 and 'woodcore_resend_after must be 0 or more, got -1' in run.stdout, run.output[-3000:]
    assert atlas.log == [] and woodcore.log == []
    run = ansible_playbook(ROOT_PLAYBOOK, '-i', inv, env=env, extra_vars=keys(
        tmp_path, woodcore_ip='198.51.100.254', fleet_whitelist_atlas_keys=[],
        fleet_whitelist_woodcore_request_otp=False))
    assert run.rc != 0 and 'request_otp=false' in run.stdout, run.output[-3000:]
    assert woodcore.emails() == [] and [e['method'] for e in woodcore.log] == ['GET']
