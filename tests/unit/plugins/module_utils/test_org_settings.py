# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Issue 20: the organization settings endpoint and the access-list requirement, in the simulator and in
``AtlasApi.org_settings`` / ``update_org_settings``."""

from __future__ import annotations

import pytest
import requests
from requests.auth import HTTPDigestAuth

from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import atlas
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.common import WRITE_WORDS
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.http_client import ApiError
from ansible_collections.apiaccess.ipwhitelist.tests.simulators.atlas import AtlasSimulator
from ansible_collections.apiaccess.ipwhitelist.tests.unit.conftest import (
    CLIENT_ID, CLIENT_SECRET, ORG, PRIVATE, PRIVATE2, PUBLIC, PUBLIC2, atlas_seed,
)

MEDIA = 'application/vnd.atlas.2023-01-01+json'
EMPTY_ID, EMPTY_PUBLIC, EMPTY_PRIVATE = '6a0000000000000000000009', 'emptykey', 'PRIVATE-EMPTY-KEY'


def seed(required=False, caller_entries=('192.0.2.10',)):
    data = atlas_seed(entries=caller_entries)
    data['orgs'][0]['api_keys'].append({'id': EMPTY_ID, 'publicKey': EMPTY_PUBLIC, 'privateKey': EMPTY_PRIVATE,
                                        'desc': 'no entries', 'roles': ['ORG_OWNER'], 'access_list': []})
    data['orgs'][0]['settings'] = {'apiAccessListRequired': required}
    return data


@pytest.fixture
def sim():
    with AtlasSimulator(seed=seed()) as simulator:
        yield simulator


def params_for(sim, public=PUBLIC, private=PRIVATE, client_id=None, client_secret=None):
    return dict(base_url=sim.url, public_key=public, private_key=private, client_id=client_id,
                client_secret=client_secret, api_version='v2', api_path_prefix=None, timeout=30,
                validate_certs=True, ca_path=None, proxy=None, retries=0, retry_max_wait=60, allow_http=True)


def get(sim, path, public, private):
    return requests.get(sim.url + path, headers={'Accept': MEDIA}, auth=HTTPDigestAuth(public, private), timeout=10)


def test_settings_are_read_and_patched_with_the_versioned_media_type(sim):
    api = atlas.build_api(params_for(sim))
    settings = api.org_settings(ORG)
    assert settings['apiAccessListRequired'] is False
    assert set(settings) >= {'apiAccessListRequired', 'multiFactorAuthRequired', 'restrictEmployeeAccess',
                             'genAIFeaturesEnabled', 'maxServiceAccountSecretValidityInHours'}
    answer = api.update_org_settings(ORG, {'apiAccessListRequired': True})
    assert answer['apiAccessListRequired'] is True  # PATCH answers 200 with the settings [I]
    assert sim.org_settings_of(ORG)['apiAccessListRequired'] is True
    assert api.client.journal.items('update_settings', scope='org-settings:%s' % ORG) == ['apiAccessListRequired=true']
    assert 'update_settings' in dict(WRITE_WORDS)
    patch = [e for e in sim.requests('PATCH') if e['status'] != 401]
    assert [(e['path'], e['status']) for e in patch] == [('/api/atlas/v2/orgs/%s/settings' % ORG, 200)]


def test_the_settings_endpoint_is_not_paced_and_sends_no_rate_limit_headers(sim):
    assert atlas.rate_limit_bucket('/api/atlas/v2/orgs/%s/settings' % ORG) is None
    answer = get(sim, '/api/atlas/v2/orgs/%s/settings' % ORG, PUBLIC, PRIVATE)
    assert answer.status_code == 200 and 'Ratelimit-Limit' not in answer.headers


def test_reading_needs_a_member_and_changing_needs_an_owner(sim):
    # PUBLIC2 is ORG_READ_ONLY: it may read, not change
    assert atlas.build_api(params_for(sim, PUBLIC2, PRIVATE2)).org_settings(ORG)['apiAccessListRequired'] is False
    with pytest.raises(ApiError) as exc:
        atlas.build_api(params_for(sim, PUBLIC2, PRIVATE2)).update_org_settings(ORG, {'apiAccessListRequired': True})
    assert exc.value.status == 403
    assert sim.org_settings_of(ORG)['apiAccessListRequired'] is False


@pytest.mark.parametrize('body', [{'apiAccessListRequired': 'yes'}, {'noSuchSetting': True},
                                  {'maxServiceAccountSecretValidityInHours': 7}, ['apiAccessListRequired']])
def test_a_bad_patch_is_a_400_and_changes_nothing(sim, body):
    answer = requests.patch(sim.url + '/api/atlas/v2/orgs/%s/settings' % ORG, json=body,
                            headers={'Accept': MEDIA, 'Content-Type': MEDIA}, auth=HTTPDigestAuth(PUBLIC, PRIVATE),
                            timeout=10)
    assert answer.status_code == 400 and answer.json()['errorCode']
    assert sim.org_settings_of(ORG)['apiAccessListRequired'] is False


def test_plain_json_accept_is_refused(sim):
    answer = requests.get(sim.url + '/api/atlas/v2/orgs/%s/settings' % ORG, headers={'Accept': 'application/json'},
                          auth=HTTPDigestAuth(PUBLIC, PRIVATE), timeout=10)
    assert answer.status_code == 406


def test_a_seed_may_name_unknown_settings_only_by_mistake():
    data = seed()
    data['orgs'][0]['settings'] = {'apiAccessListRequird': True}
    with pytest.raises(ValueError, match='apiAccessListRequird'):
        AtlasSimulator(seed=data)


def test_an_empty_list_calls_from_anywhere_until_the_org_requires_lists(sim):
    keys = '/api/atlas/v2/orgs/%s/apiKeys' % ORG
    assert get(sim, keys, EMPTY_PUBLIC, EMPTY_PRIVATE).status_code == 200
    sim.reset(seed(required=True))
    answer = get(sim, keys, EMPTY_PUBLIC, EMPTY_PRIVATE)
    assert answer.status_code == 403
    assert answer.json()['errorCode'] == 'ORG_REQUIRES_ACCESS_LIST'
    assert answer.json()['parameters'] == ['127.0.0.1']
    # no request at all: not even its settings
    assert get(sim, '/api/atlas/v2/orgs/%s/settings' % ORG, EMPTY_PUBLIC, EMPTY_PRIVATE).status_code == 403
    # a key with entries is held to them (caller_ip_enforcement), not to the requirement
    assert get(sim, keys, PUBLIC, PRIVATE).status_code == 200
    sim.update_settings({'caller_ip_enforcement': 'ip_not_on_list'})
    assert get(sim, keys, PUBLIC, PRIVATE).status_code == 403
    sim.update_settings({'caller_ip': '192.0.2.10'})
    assert get(sim, keys, PUBLIC, PRIVATE).status_code == 200


@pytest.mark.parametrize('code', ['ORG_REQUIRES_ACCESS_LIST', 'RESOURCE_REQUIRES_ACCESS_LIST',
                                  'IP_ADDRESS_NOT_ON_ACCESS_LIST'])
def test_the_code_of_the_lockout_is_a_setting(code):
    with AtlasSimulator(seed=seed(required=True), access_list_required_error=code) as simulator:
        answer = get(simulator, '/api/atlas/v2/orgs/%s/apiKeys' % ORG, EMPTY_PUBLIC, EMPTY_PRIVATE)
        assert (answer.status_code, answer.json()['errorCode']) == (403, code)
        # the client's hint names what to do about each of them
        assert code in atlas.CALLER_NOT_ALLOWED


@pytest.mark.parametrize('binds', [True, False])
def test_whether_the_requirement_binds_service_accounts_is_a_setting(binds):
    data = seed(required=True)  # the seed's CLIENT_ID has an empty list
    with AtlasSimulator(seed=data, access_list_required_binds_service_accounts=binds) as simulator:
        api = atlas.build_api(params_for(simulator, None, None, CLIENT_ID, CLIENT_SECRET))
        if binds:
            with pytest.raises(ApiError) as exc:
                api.org_settings(ORG)
            assert exc.value.status == 403 and exc.value.error_code == 'ORG_REQUIRES_ACCESS_LIST'
            assert simulator.token_requests == 1  # tokens are issued from anywhere [V]
        else:
            assert api.org_settings(ORG)['apiAccessListRequired'] is True


def test_turning_the_requirement_off_opens_the_empty_key_again(sim):
    sim.reset(seed(required=True))
    atlas.build_api(params_for(sim)).update_org_settings(ORG, {'apiAccessListRequired': False})
    assert get(sim, '/api/atlas/v2/orgs/%s/apiKeys' % ORG, EMPTY_PUBLIC, EMPTY_PRIVATE).status_code == 200
