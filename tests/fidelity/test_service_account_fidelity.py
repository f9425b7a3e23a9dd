# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Service-account lists against the official extract (atlas-access-lists.openapi.json): every request
the modules send validates, and so does every simulator answer. No service-account traffic was ever
recorded (shared/specs), so there is nothing to replay here."""

from __future__ import annotations

import pytest
import requests
from openapi_core.contrib.requests import RequestsOpenAPIRequest

from ansible_collections.apiaccess.ipwhitelist.plugins.modules import atlas_service_account_whitelist as module
from ansible_collections.apiaccess.ipwhitelist.plugins.modules import atlas_service_account_whitelist_info as info
from ansible_collections.apiaccess.ipwhitelist.tests.fidelity.contract import load, openapi_for, validate_all
from ansible_collections.apiaccess.ipwhitelist.tests.unit.conftest import (
    CLIENT_ID, CLIENT_SECRET, ORG, PROJECT, SA_ID, SA_NAME, run_module,
)

SPEC = load('atlas-access-lists.openapi.json')
MEDIA = 'application/vnd.atlas.2024-08-05+json'


def openapi(url):
    return openapi_for(SPEC, url, MEDIA)


@pytest.mark.parametrize('host_render', ['both', 'ip_only'])
def test_module_requests_and_simulator_responses_match_the_extract(capsys, atlas, exchanges, host_render):
    atlas.update_settings({'sa_host_render': host_render, 'duplicate_post': 'conflict'})
    base = dict(base_url=atlas.url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    runs = [
        (module.main, dict(base, org_id=ORG, service_account=SA_NAME, purge=True, keep=['10.0.0.0/8'],
                           entries=['203.0.113.5', '2001:db8::5', '2001:db8:1::/48', '198.51.100.0/26'])),
        (module.main, dict(base, org_id=ORG, service_account=SA_ID, entries=['2001:db8::5', '198.51.100.0/26'],
                           state='absent')),
        (module.main, dict(base, project_id=PROJECT, service_account=SA_ID, entries=['203.0.113.9'])),
        (info.main, dict(base, org_id=ORG)),
        (info.main, dict(base, org_id=ORG, service_account=SA_ID)),
    ]
    for main, args in runs:
        failed, result = run_module(capsys, main, args)
        assert not failed, result
    # an error answered with the documented body
    failed, result = run_module(capsys, module.main, dict(base, org_id=ORG, service_account='mdb_sa_id_' + 'f' * 24,
                                                          entries=['1.2.3.4']))
    assert failed and result['http_status'] == 404
    assert {request.method for request, response in exchanges} >= {'GET', 'POST', 'DELETE'}
    assert validate_all(openapi(atlas.url), exchanges, MEDIA) >= 12


def test_the_extract_rejects_what_the_module_must_not_send(atlas):
    validator = openapi(atlas.url)
    path = atlas.url + '/api/atlas/v2/orgs/%s/serviceAccounts/%s/accessList' % (ORG, SA_ID)
    headers = {'Content-Type': MEDIA, 'Accept': MEDIA, 'Authorization': 'Bearer x'}
    bad = [
        requests.Request('POST', path, json=[{'ipAddress': '2001:db8::1'}], headers=headers),   # compressed IPv6
        requests.Request('POST', path, json=[{'ipAddress': '192.0.2.%d' % (i % 250)} for i in range(201)],
                         headers=headers),                                                      # over maxItems
        requests.Request('GET', path.replace(SA_ID, 'mdb_sa_id_XYZ'), headers=headers),          # bad client ID
    ]
    for request in bad:
        with pytest.raises(Exception):
            validator.validate_request(RequestsOpenAPIRequest(request.prepare()))


@pytest.mark.parametrize('setting, status', [('406', 406), ('serve-latest-not-after', 200)])
def test_a_later_accept_date_follows_the_setting(atlas, setting, status):
    atlas.update_settings({'accept_later_version': setting, 'auth_required': False})
    for path, version in (('/api/atlas/v2/orgs/%s/serviceAccounts/%s/accessList' % (ORG, SA_ID), '2025-03-12'),
                          ('/api/atlas/v2/orgs/%s/apiKeys' % ORG, '2024-08-05')):
        response = requests.get(atlas.url + path, headers={'Accept': 'application/vnd.atlas.%s+json' % version})
        assert response.status_code == status, path
        if status == 406:
            assert response.json()['errorCode'] == 'INVALID_VERSION_DATE'
    # an earlier date than the resource's version is never served
    response = requests.get(atlas.url + '/api/atlas/v2/orgs/%s/serviceAccounts' % ORG,
                            headers={'Accept': 'application/vnd.atlas.2023-01-01+json'})
    assert response.status_code == 406


@pytest.mark.parametrize('method', ['PUT', 'OPTIONS', 'TRACE', 'PATCH', 'BREW'])
def test_every_method_gets_a_json_error_body(atlas, method):
    response = requests.request(method, atlas.url + '/api/atlas/v2/orgs/%s/apiKeys' % ORG,
                                headers={'Accept': 'application/vnd.atlas.2023-01-01+json'})
    assert response.status_code >= 400
    assert response.headers['Content-Type'].startswith('application/json') and 'error' in response.json()
