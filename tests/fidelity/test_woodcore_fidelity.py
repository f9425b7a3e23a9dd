# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every request the Woodcore modules send matches Woodcore's gateway OpenAPI (path, method, body)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import requests
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest

from ansible_collections.apiaccess.ipwhitelist.plugins.modules import woodcore_ipwhitelist as module
from ansible_collections.apiaccess.ipwhitelist.plugins.modules import woodcore_ipwhitelist_info as info_module
from ansible_collections.apiaccess.ipwhitelist.tests.unit.conftest import WC_KEY, run_module

SPEC = json.loads((Path(__file__).resolve().parent / 'specs' / 'woodcore-gateway.openapi.json').read_text())


def openapi_for(url):
    spec = copy.deepcopy(SPEC)
    spec['servers'] = [{'url': url + '/api/v2'}]
    return OpenAPI.from_dict(spec)


def test_every_module_request_matches_the_gateway_spec(capsys, woodcore, exchanges, tmp_path):
    woodcore.update_settings({'removal_requires_otp': True})
    base = dict(api_key=WC_KEY, base_url=woodcore.url + '/api/v2', pending_state_path=str(tmp_path / 'p.json'))
    run_module(capsys, module.main, dict(base, ip='203.0.113.8'))                       # profile + request
    otp = woodcore.emails()[-1]['otp']
    run_module(capsys, module.main, dict(base, ip='203.0.113.8', otp=otp))              # approve + profile
    run_module(capsys, module.main, dict(base, ip='203.0.113.8', state='absent'))       # remove (needs OTP here)
    run_module(capsys, info_module.main, dict(api_key=WC_KEY, base_url=base['base_url']))
    openapi = openapi_for(woodcore.url)
    seen = set()
    for request, response in exchanges:
        openapi.validate_request(RequestsOpenAPIRequest(request))
        assert response.status_code == 200
        path = request.path_url
        seen.add((request.method, path.split('/approve/')[0] + '/approve/{otp}' if '/approve/' in path else path))
        assert request.headers['Authorization'] == 'Bearer ' + WC_KEY
        if request.body:
            assert request.headers['Content-Type'] == 'application/json'
            assert set(json.loads(request.body)) == {'ips'}
    assert seen == {('GET', '/api/v2/gateway/keyprofile'), ('POST', '/api/v2/gateway/apiKeys/ipwhitelist'),
                    ('POST', '/api/v2/gateway/apiKeys/ipwhitelist/approve/{otp}'),
                    ('POST', '/api/v2/gateway/apiKeys/remove-whitelistedip')}


def test_the_spec_rejects_wrong_shapes(woodcore):
    openapi = openapi_for(woodcore.url)
    bad = [
        requests.Request('POST', woodcore.url + '/api/v2/gateway/apiKeys/ipwhitelist', json={'ip': '1.2.3.4'},
                         headers={'Authorization': 'Bearer x'}),                 # body field must be "ips"
        requests.Request('GET', woodcore.url + '/api/v2/gateway/apiKeys/ipwhitelist',
                         headers={'Authorization': 'Bearer x'}),                 # GET is not an operation
        requests.Request('POST', woodcore.url + '/api/v2/gateway/apiKeys/whitelist', json={'ips': '1.2.3.4'},
                         headers={'Authorization': 'Bearer x'}),                 # no such path
    ]
    for request in bad:
        with pytest.raises(Exception):
            openapi.validate_request(RequestsOpenAPIRequest(request.prepare()))
