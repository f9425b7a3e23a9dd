# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Results that tell the truth, transport that refuses cleartext, and errors that say what to do."""

from __future__ import annotations

import json

import pytest

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import atlas as atlas_utils
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import common, fleet
from ansible_collections.apiaccess.ipwhitelist.plugins.modules import atlas_apikey_whitelist as atlas_module
from ansible_collections.apiaccess.ipwhitelist.plugins.modules import woodcore_ipwhitelist as wc_module
from ansible_collections.apiaccess.ipwhitelist.tests.unit.conftest import (
    CLIENT_ID, KEY2_ID, KEY_ID, ORG, PRIVATE, PUBLIC, WC_KEY, run_module, warning_texts,
)


def atlas_args(sim, **kwargs):
    base = dict(base_url=sim.url, org_id=ORG, api_key=KEY_ID, public_key=PUBLIC, private_key=PRIVATE, retries=0)
    base.update(kwargs)
    return base


def wc_args(sim, tmp_path, **kwargs):
    base = dict(api_key=WC_KEY, base_url=sim.url + '/api/v2', ip='203.0.113.8',
                pending_state_path=str(tmp_path / 'p.json'), retries=0)
    base.update(kwargs)
    return base


def test_failure_after_a_write_reports_changed_and_what_was_written(capsys, atlas):
    # the POST lands, then Atlas refuses the DELETE: the result says what was written, changed=true
    atlas.add_fault('status', method='DELETE', status=400, times=1, body={
        'error': 400, 'errorCode': 'CANNOT_REMOVE_CALLER_FROM_ACCESS_LIST', 'detail': 'refused', 'parameters': []})
    failed, result = run_module(capsys, atlas_module.main, atlas_args(atlas, api_key=KEY2_ID, entries=['203.0.113.60'],
                                                                      purge=True))
    assert failed and result['changed'] is True and result['added'] == ['203.0.113.60/32']
    assert result['error_code'] == 'CANNOT_REMOVE_CALLER_FROM_ACCESS_LIST'
    assert 'already done: added 203.0.113.60/32' in result['msg']


def test_failure_before_any_write_reports_unchanged(capsys, atlas):
    atlas.add_fault('status', method='POST', status=400, times=1,
                    body={'error': 400, 'errorCode': 'INVALID_IP_ADDRESS_OR_CIDR_NOTATION', 'detail': 'no'})
    failed, result = run_module(capsys, atlas_module.main, atlas_args(atlas, entries=['203.0.113.60']))
    assert failed and result['changed'] is False


@pytest.mark.parametrize('url', ['http://10.1.2.3:9', 'http://atlas.example.com', 'http://[2001:db8::1]:8080'])
def test_plain_http_to_another_host_is_refused_before_any_request(capsys, atlas, tmp_path, woodcore, url):
    failed, result = run_module(capsys, atlas_module.main, atlas_args(atlas, base_url=url, entries=['203.0.113.60']))
    assert failed and "base_url %r uses plain http" % url in result['msg'] and 'allow_http=true' in result['msg']
    assert result['requests'] == 0 and atlas.log == []
    failed, result = run_module(capsys, wc_module.main, wc_args(woodcore, tmp_path, base_url=url + '/api/v2'))
    assert failed and 'uses plain http' in result['msg'] and woodcore.log == []


@pytest.mark.parametrize('url', ['http://127.0.0.1:{port}', 'http://localhost:{port}', 'http://127.8.9.10:{port}'])
def test_plain_http_to_loopback_stays_allowed(capsys, atlas, url):
    base = url.format(port=atlas.url.rsplit(':', 1)[1])
    failed, result = run_module(capsys, atlas_module.main, atlas_args(atlas, base_url=base, entries=['192.0.2.10'],
                                                                      keep=[]))
    if '127.8.9.10' in base:  # loopback, but nothing listens there: the URL passed validation
        assert failed and 'connection failed' in result['msg']
    else:
        assert not failed and not warning_texts(result)


def test_allow_http_proceeds_and_warns_on_failure_too(capsys, atlas):
    failed, result = run_module(capsys, atlas_module.main, atlas_args(
        atlas, base_url='http://opsmanager.invalid:8080', allow_http=True, entries=['203.0.113.60']))
    assert failed and 'opsmanager.invalid' in result['msg']  # it tried: validation let it through
    assert any('allow_http=true: credentials and tokens travel to opsmanager.invalid in cleartext' in w
               for w in warning_texts(result))


@pytest.mark.parametrize('url, right', [
    ('https://cloud.mongodb.com/api/atlas/v2', 'https://cloud.mongodb.com'),
    ('https://cloud.mongodb.com/api/atlas/v2/', 'https://cloud.mongodb.com'),
    ('https://om.example.com:8443/api/public/v1.0', 'https://om.example.com:8443'),
])
def test_atlas_base_url_with_the_api_path_shows_the_right_form(capsys, atlas, url, right):
    failed, result = run_module(capsys, atlas_module.main, atlas_args(atlas, base_url=url, entries=['203.0.113.60']))
    assert failed and 'already contains an API path' in result['msg'] and 'for example %s ' % right in result['msg']
    assert result['requests'] == 0


@pytest.mark.parametrize('url, right', [
    ('https://spark.test.woodcore.co', 'https://spark.test.woodcore.co/api/v2'),
    ('https://spark.test.woodcore.co/', 'https://spark.test.woodcore.co/api/v2'),
    ('https://spark.test.woodcore.co/api/v2/gateway', 'https://spark.test.woodcore.co/api/v2/api/v2'),
])
def test_woodcore_base_url_without_the_api_root_shows_the_right_form(capsys, woodcore, tmp_path, url, right):
    failed, result = run_module(capsys, wc_module.main, wc_args(woodcore, tmp_path, base_url=url))
    assert failed and 'is not the API root' in result['msg'] and result['requests'] == 0
    if '/gateway' not in url:
        assert 'Use %s' % right in result['msg']


def test_woodcore_base_url_ending_in_gateway_names_the_root(capsys, woodcore, tmp_path):
    failed, result = run_module(capsys, wc_module.main, wc_args(
        woodcore, tmp_path, base_url='https://spark.test.woodcore.co/api/v2/gateway'))
    assert failed and 'Use https://spark.test.woodcore.co/api/v2' in result['msg']


def test_401_names_the_digest_credential(capsys, atlas):
    failed, result = run_module(capsys, atlas_module.main, atlas_args(atlas, private_key='wrong-private-key-123',
                                                                      entries=['203.0.113.60']))
    assert failed and result['http_status'] == 401
    assert 'Atlas refused the API key %s (HTTP digest): check public_key and private_key' % PUBLIC in result['msg']
    assert 'wrong-private-key-123' not in json.dumps(result)


def test_401_names_the_service_account(capsys, atlas):
    args = atlas_args(atlas, entries=['203.0.113.60'], client_id=CLIENT_ID, client_secret='wrong-secret-123')
    del args['public_key'], args['private_key']
    failed, result = run_module(capsys, atlas_module.main, args)
    assert failed and 'Atlas refused the service account %s (OAuth client credentials)' % CLIENT_ID in result['msg']
    assert 'client_secret' in result['msg'] and 'wrong-secret-123' not in json.dumps(result)


def test_401_woodcore_names_the_bearer_key(capsys, woodcore, tmp_path):
    failed, result = run_module(capsys, wc_module.main, wc_args(woodcore, tmp_path, api_key='wc_test_unknownkey0123'))
    assert failed and result['http_status'] == 401 and 'the gateway refused the API key (bearer token)' in result['msg']
    assert 'wc_test_unknownkey0123' not in json.dumps(result)


def test_403_ip_not_on_access_list_names_the_caller_ip_and_the_fix(capsys, atlas):
    atlas.update_settings({'caller_ip_enforcement': 'ip_not_on_list', 'caller_ip': '198.51.100.99'})
    failed, result = run_module(capsys, atlas_module.main, atlas_args(atlas, entries=['203.0.113.60']))
    assert failed and result['error_code'] == 'IP_ADDRESS_NOT_ON_ACCESS_LIST'
    assert 'Atlas sees this controller calling from 198.51.100.99' in result['msg']
    assert 'Add 198.51.100.99 to that list first' in result['msg']


def test_entries_atlas_cloud_never_sees_are_warned_not_refused(capsys):
    # the default cloud URL, reached only through a loopback "proxy" that refuses: no traffic leaves the machine
    failed, result = run_module(capsys, atlas_module.main, dict(
        org_id=ORG, api_key=KEY_ID, public_key=PUBLIC, private_key=PRIVATE, retries=0, proxy='http://127.0.0.1:9',
        entries=['10.0.0.0/24', '192.168.1.5', '203.0.113.60', '127.0.0.1', '169.254.0.0/16']))
    warnings = [w for w in warning_texts(result) if 'Atlas cloud' in w]
    assert len(warnings) == 1
    for entry in ('10.0.0.0/24', '192.168.1.5/32', '127.0.0.1/32', '169.254.0.0/16'):
        assert entry in warnings[0]
    assert '203.0.113.60' not in warnings[0]
    assert failed and 'connection failed' in result['msg']  # went on (to the refusing proxy): not refused


def test_no_such_warning_for_another_server(capsys, atlas):
    failed, result = run_module(capsys, atlas_module.main, atlas_args(atlas, entries=['10.0.0.0/24']))
    assert not failed and not [w for w in warning_texts(result) if 'Atlas cloud' in w]


def test_validate_base_url_unit():
    assert common.validate_base_url('http://[::1]:8080').hostname == '::1'
    with pytest.raises(common.PlanError):
        common.validate_base_url('ftp://example.com')
    with pytest.raises(common.PlanError):
        common.validate_base_url('https://exa mple.com')
    assert common.validate_base_url('http://10.1.2.3:9', allow_http=True).port == 9


def fleet_params(**kwargs):
    """The fleet's parameters as its argument spec makes them (defaults of nested options included)."""
    params = dict(fleet={'web1': '203.0.113.10'}, atlas_public_key=PUBLIC, atlas_private_key=PRIVATE,
                  atlas_base_url=atlas_utils.DEFAULT_BASE_URL, retries=0)
    params.update(kwargs)
    validation = ArgumentSpecValidator(fleet.argument_spec()).validate(params)
    assert not validation.error_messages, validation.error_messages
    return validation.validated_parameters


def test_fleet_refuses_plain_http_before_any_request():
    with pytest.raises(common.PlanError) as exc:
        fleet.run(fleet_params(atlas_base_url='http://10.1.2.3:9', atlas_keys=[
            {'org_id': ORG, 'api_key': KEY_ID, 'name': 'main', 'purge': False, 'keep': [], 'entries': [],
             'allow_empty': False}]))
    assert "Atlas key main: base_url 'http://10.1.2.3:9' uses plain http" in str(exc.value)


def test_fleet_warns_once_for_entries_atlas_cloud_never_sees():
    keys = [{'org_id': ORG, 'api_key': KEY_ID, 'name': n, 'purge': False, 'keep': [], 'entries': [],
             'allow_empty': False} for n in ('a', 'b')]
    result = fleet.run(fleet_params(fleet={'web1': '10.0.0.5'}, atlas_keys=keys, proxy='http://127.0.0.1:9'))
    warnings = [w for w in result['warnings'] if 'Atlas cloud' in w]
    assert warnings == [w for w in warnings if w.startswith('Atlas list(s) a, b: entries 10.0.0.5/32')]
    assert len(warnings) == 1
