# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Atlas simulator and module against the real contract: recorded traffic and the OpenAPI extract."""

from __future__ import annotations

import filecmp
import json
from pathlib import Path

import pytest
import requests
from openapi_core.contrib.requests import RequestsOpenAPIRequest
from requests.auth import HTTPDigestAuth

from ansible_collections.apiaccess.ipwhitelist.plugins.modules import atlas_apikey_whitelist as module
from ansible_collections.apiaccess.ipwhitelist.plugins.modules import atlas_apikey_whitelist_info as info_module
from ansible_collections.apiaccess.ipwhitelist.tests.fidelity.contract import (
    SPECS, load, openapi_for, shape, validate_all,
)
from ansible_collections.apiaccess.ipwhitelist.tests.simulators.atlas import AtlasSimulator
from ansible_collections.apiaccess.ipwhitelist.tests.unit.conftest import (
    CLIENT_ID, CLIENT_SECRET, KEY_ID, ORG, PRIVATE, PUBLIC, run_module,
)

SHARED = Path(__file__).resolve().parents[3] / 'shared' / 'specs'
RECORDED = load('atlas-recorded/index.json')
SPEC = load('atlas-apikey-accesslist.openapi.json')
MEDIA = 'application/vnd.atlas.2023-01-01+json'


def openapi(url):
    def adjust(spec):
        # Real traffic carries count: 0 although the spec says minimum 1 (see atlas-recorded/README.md).
        del spec['components']['schemas']['UserAccessListResponse']['properties']['count']['minimum']
    return openapi_for(SPEC, url, MEDIA, adjust)


@pytest.mark.skipif(not SHARED.is_dir(), reason='shared/specs is not beside this checkout')
def test_vendored_specs_are_current():
    for name in ('atlas-apikey-accesslist.openapi.json', 'atlas-access-lists.openapi.json', 'woodcore-gateway.openapi.json',
                 'atlas-recorded/index.json', 'atlas-recorded/docs-examples-v1.0-accessList.json',
                 'atlas-recorded/index-TestAccessList.json', 'atlas-recorded/README.md'):
        assert filecmp.cmp(str(SPECS / name), str(SHARED / name), shallow=False), name


def test_every_recorded_exchange_replays_with_the_same_status_type_and_shape():
    org = 'a0123456789abcdef012345a'
    operator = {'id': '5f5f5f5f5f5f5f5f5f5f5f5f', 'publicKey': 'operator', 'privateKey': 'operator-private',
                'roles': ['ORG_OWNER']}
    seed = {'orgs': [{'id': org, 'api_keys': [operator]}]}
    with AtlasSimulator(seed=seed, caller_ip='52.190.182.226') as sim:
        session = requests.Session()
        session.auth = HTTPDigestAuth('operator', 'operator-private')
        recorded_key = '6a793f5d2c88faeba59ba528'
        new_key = None
        for exchange in RECORDED['exchanges']:
            path = exchange['path'].replace(recorded_key, new_key) if new_key else exchange['path']
            body = exchange.get('request_body_inferred_from_test')
            headers = {'Accept': MEDIA}
            if body is not None:
                headers['Content-Type'] = MEDIA
            response = session.request(exchange['method'], sim.url + path, json=body, headers=headers)
            where = '%s %s (recorded #%d)' % (exchange['method'], exchange['path'], exchange['seq'])
            assert response.status_code == exchange['status'], where
            assert response.headers.get('Content-Type') == exchange['response_headers']['Content-Type'], where
            for header in ('Ratelimit-Limit', 'Ratelimit-Remaining'):
                assert (header in response.headers) == (header in exchange['response_headers']), where
            if exchange['response_body'] is None:
                assert response.content == b'', where
            else:
                assert shape(response.json()) == shape(exchange['response_body']), where
            if exchange['seq'] == 1:
                new_key = response.json()['id']
        assert sim.access_list(org, new_key) if new_key in sim.orgs[org] else True


def test_recorded_entry_rendering_is_reproduced_exactly():
    # The recorded list response, value for value, except the timestamps and host.
    recorded = next(e for e in RECORDED['exchanges'] if e['seq'] == 3)['response_body']
    org, key = 'a0123456789abcdef012345a', '6a793f5d2c88faeba59ba528'
    recorded_key = {'id': key, 'publicKey': 'mcpvrzod', 'privateKey': 'p', 'access_list': ['192.168.0.229']}
    seed = {'orgs': [{'id': org, 'api_keys': [recorded_key]}]}
    with AtlasSimulator(seed=seed) as sim:
        session = requests.Session()
        session.auth = HTTPDigestAuth('mcpvrzod', 'p')
        body = session.get(sim.url + '/api/atlas/v2/orgs/%s/apiKeys/%s/accessList?includeCount=true&pageNum=1'
                           '&itemsPerPage=100' % (org, key), headers={'Accept': MEDIA}).json()
        normalise = json.dumps(body).replace(sim.url, 'http://localhost:8080')
        expected = json.loads(json.dumps(recorded))
        got = json.loads(normalise)
        got['results'][0]['created'] = expected['results'][0]['created']
        assert got == expected


def test_module_requests_and_simulator_responses_match_the_openapi_extract(capsys, atlas, exchanges):
    atlas.update_settings({'duplicate_post': 'conflict'})
    base = dict(base_url=atlas.url, org_id=ORG, public_key=PUBLIC, private_key=PRIVATE)
    runs = [
        dict(base, api_key=PUBLIC, entries=['203.0.113.5', '2001:db8::5', '2001:db8:1::/48', '198.51.100.0/26'],
             purge=True, keep=['10.0.0.0/8']),                      # resolve, GET, POST (v4, v6, CIDRs), DELETEs
        dict(base, api_key=KEY_ID, entries=['2001:db8::5', '198.51.100.0/26'], state='absent'),
        dict(base, api_key=KEY_ID, entries=['203.0.113.0/24'], allow_any=False),
    ]
    for args in runs:
        failed, result = run_module(capsys, module.main, args)
        assert not failed, result
    failed, result = run_module(capsys, info_module.main, base)
    assert not failed
    # an error the service answers with the documented body
    failed, result = run_module(capsys, module.main, dict(base, api_key='6a00000000000000000000ff', entries=['1.2.3.4']))
    assert failed and result['http_status'] == 404
    methods = set(request.method for request, response in exchanges)
    assert methods == {'GET', 'POST', 'DELETE'}
    assert validate_all(openapi(atlas.url), exchanges, MEDIA) >= 12


def test_oauth_run_matches_the_extract(capsys, atlas, exchanges):
    failed, result = run_module(capsys, module.main, dict(
        base_url=atlas.url, org_id=ORG, api_key=KEY_ID, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
        entries=['203.0.113.9']))
    assert not failed
    assert validate_all(openapi(atlas.url), exchanges, MEDIA) == 2


def test_the_extract_rejects_what_the_module_must_not_send(atlas):
    # The validator is not a rubber stamp: a compressed IPv6 ipAddress, a double-encoded DELETE and a
    # page size over 500 all fail it.
    validator = openapi(atlas.url)
    bad = [
        requests.Request('POST', atlas.url + '/api/atlas/v2/orgs/%s/apiKeys/%s/accessList' % (ORG, KEY_ID),
                         json=[{'ipAddress': '2001:db8::1'}],
                         headers={'Content-Type': MEDIA, 'Accept': MEDIA, 'Authorization': 'Digest x'}),
        requests.Request('GET', atlas.url + '/api/atlas/v2/orgs/%s/apiKeys/%s/accessList?itemsPerPage=501'
                         % (ORG, KEY_ID), headers={'Accept': MEDIA, 'Authorization': 'Digest x'}),
        requests.Request('GET', atlas.url + '/api/atlas/v2/orgs/%s/apiKeys/NOTHEX/accessList' % ORG,
                         headers={'Accept': MEDIA, 'Authorization': 'Digest x'}),
    ]
    for request in bad:
        with pytest.raises(Exception):
            validator.validate_request(RequestsOpenAPIRequest(request.prepare()))
