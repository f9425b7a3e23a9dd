# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fleet engine against both simulators: request floor per key, merge, refusals before any request."""

from __future__ import annotations

import pytest

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import fleet
from ansible_collections.apiaccess.ipwhitelist.tests.unit.conftest import (
    KEY2_ID, KEY_ID, ORG, PRIVATE, PUBLIC, WC_KEY,
)


def params(atlas, woodcore, tmp_path, **kwargs):
    raw = dict(fleet={'a': '203.0.113.10', 'b': '203.0.113.11'}, atlas_base_url=atlas.url, atlas_public_key=PUBLIC,
               atlas_private_key=PRIVATE, woodcore_base_url=woodcore.url + '/api/v2',
               woodcore_pending_state_path=str(tmp_path / 'pending.json'),
               atlas_keys=[{'org_id': ORG, 'api_key': KEY_ID, 'purge': True, 'name': 'one'},
                           {'org_id': ORG, 'api_key': KEY2_ID, 'name': 'two'}])
    raw.update(kwargs)
    result = ArgumentSpecValidator(fleet.argument_spec()).validate(raw)
    assert not result.error_messages, result.error_messages
    return result.validated_parameters


def test_every_key_at_the_request_floor(atlas, woodcore, tmp_path):
    result = fleet.run(params(atlas, woodcore, tmp_path, concurrency=1))
    assert result['converged'] and result['changed']
    authenticated = [(e['method'], e['path']) for e in atlas.log if e['status'] != 401]
    one = '/api/atlas/v2/orgs/%s/apiKeys/%s/accessList' % (ORG, KEY_ID)
    two = '/api/atlas/v2/orgs/%s/apiKeys/%s/accessList' % (ORG, KEY2_ID)
    # the run removes from a key's list: one read of the address it calls from (once per run); no removal
    # holds it, so whose key it is does not matter
    assert authenticated == [('GET', one), ('GET', '/api/private/ipinfo'), ('POST', one),
                             ('DELETE', one + '/10.1.0.0%2F24'), ('DELETE', one + '/192.0.2.10'), ('GET', two),
                             ('POST', two)]
    assert [e['status'] for e in atlas.log].count(401) == 1  # one digest challenge for the whole run
    assert result['requests'] == 7
    assert result['summary'][0].startswith('atlas    one ')


def test_second_run_reads_only(atlas, woodcore, tmp_path):
    fleet.run(params(atlas, woodcore, tmp_path))
    atlas.log.clear()
    result = fleet.run(params(atlas, woodcore, tmp_path))
    assert not result['changed'] and {e['method'] for e in atlas.log} == {'GET'}
    assert len([e for e in atlas.log if e['status'] == 200]) == 2


def test_check_mode_reads_only(atlas, woodcore, tmp_path):
    result = fleet.run(params(atlas, woodcore, tmp_path), check_mode=True, diff=True)
    assert result['changed'] and {e['method'] for e in atlas.log} == {'GET'}
    assert [d['before_header'] for d in result['diff']] == ['atlas one', 'atlas two']


def test_merge_into_fewest_cidrs(atlas, woodcore, tmp_path):
    hosts = dict(('h%d' % i, '198.51.100.%d' % i) for i in range(16))
    result = fleet.run(params(atlas, woodcore, tmp_path, fleet=hosts, merge=True))
    assert result['entries'] == ['198.51.100.0/28']
    assert '198.51.100.0/28' in atlas.access_list(ORG, KEY_ID)


def test_woodcore_key_takes_the_single_fleet_address(atlas, woodcore, tmp_path):
    result = fleet.run(params(atlas, woodcore, tmp_path, fleet={'nat': '198.51.100.254'}, atlas_keys=[],
                              woodcore_keys=[{'name': 'pay', 'api_key': WC_KEY}]))
    assert result['pending'] == ['pay'] and woodcore.emails()[0]['ip'] == '198.51.100.254'


def test_woodcore_keys_without_api_key_use_the_fleet_default(atlas, woodcore, tmp_path, monkeypatch):
    secret = tmp_path / 'woodcore_key'
    secret.write_text(WC_KEY)
    monkeypatch.setenv('WOODCORE_API_KEY_FILE', str(secret))  # as the AWX Woodcore credential injects it
    validated = params(atlas, woodcore, tmp_path, fleet={'nat': '198.51.100.254'}, atlas_keys=[],
                       woodcore_keys=[{'name': 'pay'}])
    assert validated['woodcore_api_key'] == WC_KEY
    result = fleet.run(validated)
    assert result['pending'] == ['pay'] and woodcore.emails()[0]['ip'] == '198.51.100.254'


@pytest.mark.parametrize('change, words', [
    (dict(fleet={'a': '203.0.113.10', 'web7': '203.0.113.1/24'}), "host web7: invalid address '203.0.113.1/24'"),
    (dict(fleet={'a': '203.0.113.10', 'db3': None}), 'host db3 has no allow-list address'),
    (dict(extra_entries=['0.0.0.0/0']), "extra entries: invalid address '0.0.0.0/0'"),
    (dict(atlas_keys=[{'org_id': 'nope', 'api_key': KEY_ID, 'name': 'x'}]), "Atlas key x: org_id 'nope'"),
    (dict(atlas_keys=[{'org_id': ORG, 'api_key': KEY_ID, 'keep': ['10.0.0.0/33']}]), 'out of range'),
    (dict(woodcore_keys=[{'name': 'pay', 'api_key': WC_KEY}]), 'Woodcore key pay takes exactly one IP'),
    (dict(woodcore_keys=[{'name': 'pay', 'api_key': 'nope_123456789'}], fleet={'a': '203.0.113.10'}),
     'Woodcore key pay: api_key does not look like a Woodcore API key'),
    (dict(woodcore_keys=[{'name': 'pay', 'api_key': WC_KEY, 'ip': '203.0.113.10'}],
          woodcore_otps={'pay': 'bad otp!'}), 'Woodcore key pay: the OTP given must be 4 to 64 letters or digits'),
    (dict(concurrency=0), 'concurrency must be 1 or more'),
    (dict(woodcore_keys=[{'name': 'pay', 'ip': '203.0.113.10'}]), 'Woodcore key pay has no api_key'),
])
def test_refused_before_any_request(atlas, woodcore, tmp_path, change, words):
    with pytest.raises(fleet.FleetError) as exc:
        fleet.run(params(atlas, woodcore, tmp_path, **change))
    assert words in str(exc.value)
    assert atlas.log == [] and woodcore.log == []


def test_one_failing_key_is_reported_and_the_rest_converge(atlas, woodcore, tmp_path):
    keys = [{'org_id': ORG, 'api_key': 'ghostkey', 'name': 'ghost'}, {'org_id': ORG, 'api_key': KEY2_ID}]
    result = fleet.run(params(atlas, woodcore, tmp_path, atlas_keys=keys))
    assert result['failed'] and not result['converged']
    assert result['msg'].startswith('1 of 2 keys failed: ghost: no API key with public key')
    assert '203.0.113.10/32' in atlas.access_list(ORG, KEY2_ID)


def test_host_comments_never_exceed_what_atlas_takes():
    """A merged block's comment was cut to 81 characters ('fleet: 16 hosts (workers016, ..., ...)'), which Atlas
    refuses (400 INVALID_NETWORK_PERMISSION_COMMENT): every name length and host count, cut at whole names."""
    from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import addresses, atlas
    block = addresses.parse_networks(['10.0.0.0/24'])
    for name_length in range(1, 30):
        for count in range(1, 40):
            hosts = dict(('h%0*d' % (name_length, i), '10.0.0.%d' % (i + 1)) for i in range(count))
            text = fleet.host_comments(hosts, block, 'fleet: ')[addresses.sort_key(block[0])]
            assert len(text) <= atlas.MAX_COMMENT, (name_length, count, text)
            shown = text[len('fleet: '):].split('(', 1)[-1].rstrip(')').split(', ')
            assert all(n in hosts or n == '...' for n in shown), text  # whole names only
    hosts = dict(('workers%03d' % i, '10.0.0.%d' % i) for i in range(1, 17))
    assert fleet.host_comments(hosts, block, 'fleet: ')[addresses.sort_key(block[0])] == \
        'fleet: 16 hosts (workers001, workers002, workers003, workers004, ...)'


def test_diffs_are_headed_like_the_summary_for_every_kind(atlas, woodcore, tmp_path):
    from ansible_collections.apiaccess.ipwhitelist.tests.unit.conftest import PROJECT, SA_ID
    result = fleet.run(params(atlas, woodcore, tmp_path, atlas_keys=[{'org_id': ORG, 'api_key': KEY_ID, 'name': 'k'}],
                              atlas_service_accounts=[{'org_id': ORG, 'service_account': SA_ID, 'name': 's'}],
                              atlas_projects=[{'project_id': PROJECT, 'name': 'p'}]), check_mode=True, diff=True)
    assert [d['before_header'] for d in result['diff']] == ['atlas k', 'atlas-sa s', 'project p']
    assert [line.split()[:2] for line in result['summary']] == [['atlas', 'k'], ['atlas-sa', 's'], ['project', 'p']]


def test_an_unusable_woodcore_key_file_is_named_by_the_fleet(atlas, woodcore, tmp_path, monkeypatch):
    """Not "has no api_key": the variable and its path (never its content), before any request."""
    monkeypatch.delenv('WOODCORE_API_KEY', raising=False)
    monkeypatch.setenv('WOODCORE_API_KEY_FILE', str(tmp_path / 'missing'))
    with pytest.raises(fleet.PlanError) as exc:
        fleet.run(params(atlas, woodcore, tmp_path, atlas_keys=[], woodcore_keys=[{'name': 'pay', 'ip': '198.51.100.7'}]))
    assert 'WOODCORE_API_KEY_FILE names %s, which cannot be read' % (tmp_path / 'missing') in str(exc.value)
    assert atlas.log == [] and woodcore.log == []


def test_an_integer_otp_reaches_the_fleet_as_its_digits(atlas, woodcore, tmp_path):
    plan = fleet.Plan(params(atlas, woodcore, tmp_path, atlas_keys=[], woodcore_otps={'pay': 123456},
                             woodcore_keys=[{'name': 'pay', 'api_key': WC_KEY, 'ip': '198.51.100.7'}]))
    assert plan.woodcore[0].kp['otp'] == '123456'
