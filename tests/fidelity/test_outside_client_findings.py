# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What clients nobody here wrote found (issue 21, section 1): schemathesis, the npm package
mongodb-atlas-api-client and PyPI atlasapi. One test (or group) per finding, each against the specs
(shared/specs README, the extracts, the recordings); the modules run against every value of each new setting."""

from __future__ import annotations

import json
import re

import pytest
import requests
from requests.auth import HTTPDigestAuth

from ansible_collections.apiaccess.ipwhitelist.plugins.modules import atlas_apikey_whitelist as key_module
from ansible_collections.apiaccess.ipwhitelist.plugins.modules import atlas_project_whitelist as project_module
from ansible_collections.apiaccess.ipwhitelist.plugins.modules import atlas_service_account_whitelist as sa_module
from ansible_collections.apiaccess.ipwhitelist.tests.fidelity.contract import SPECS, load, openapi_for
from ansible_collections.apiaccess.ipwhitelist.tests.unit.conftest import (
    CLIENT_ID, CLIENT_SECRET, KEY_ID, ORG, PRIVATE, PROJECT, PUBLIC, SA_ID, run_module,
)

V2 = 'application/vnd.atlas.2023-01-01+json'
SA = 'application/vnd.atlas.2024-08-05+json'
RL = 'application/vnd.atlas.2025-03-12+json'
KEY_LIST = '/api/atlas/v2/orgs/%s/apiKeys/%s/accessList' % (ORG, KEY_ID)
SA_LIST = '/api/atlas/v2/orgs/%s/serviceAccounts/%s/accessList' % (ORG, SA_ID)
PROJECT_LIST = '/api/atlas/v2/groups/%s/accessList' % PROJECT
V1_PROJECT_LIST = '/api/atlas/v1.0/groups/%s/accessList' % PROJECT
RECORDED_CHALLENGE = (SPECS / 'atlas-recorded' / 'atlas-cli-e2e-TestSetup' / 'Run' /
                      'POST_api_atlas_v2_groups_6a793f7fc0eb9e7a17716153_accessList_1.snaphost')


def session():
    s = requests.Session()
    s.auth = HTTPDigestAuth(PUBLIC, PRIVATE)
    return s


def snaphost(path):
    """(status, headers, body bytes) of one recorded raw HTTP dump."""
    head, body = path.read_bytes().split(b'\n\n', 1)
    lines = head.decode('utf-8').splitlines()
    headers = dict(line.split(': ', 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


# -- 1. the v1.0 project IP access list ----------------------------------------------------------------------

def test_v1_project_access_list_is_served_with_plain_json(atlas):
    s = session()
    json_headers = {'Accept': 'application/json'}
    created = s.post(atlas.url + V1_PROJECT_LIST, json=[{'ipAddress': '203.0.113.5', 'comment': 'npm'},
                                                        {'cidrBlock': '198.51.100.0/24'}],
                     headers=dict(json_headers, **{'Content-Type': 'application/json'}))
    assert created.status_code == 201, created.text
    assert created.headers['Content-Type'] == 'application/json'
    body = created.json()
    assert body['totalCount'] == 2 and {e.get('ipAddress') for e in body['results']} == {'203.0.113.5', None}
    assert body['results'][0]['links'][0]['href'] == atlas.url + V1_PROJECT_LIST + '/203.0.113.5%2F32'
    listed = s.get(atlas.url + V1_PROJECT_LIST, headers=json_headers)
    assert listed.status_code == 200 and listed.json()['totalCount'] == 2
    one = s.get(atlas.url + V1_PROJECT_LIST + '/198.51.100.0%2F24', headers=json_headers)
    assert one.status_code == 200 and one.json()['cidrBlock'] == '198.51.100.0/24' and 'ipAddress' not in one.json()
    assert s.delete(atlas.url + V1_PROJECT_LIST + '/203.0.113.5', headers=json_headers).status_code == 204
    assert atlas.project_access_list(PROJECT) == {'198.51.100.0/24': None}
    missing = s.get(atlas.url + V1_PROJECT_LIST + '/203.0.113.5', headers=json_headers)
    assert missing.status_code == 404 and missing.json()['errorCode'] == 'ATLAS_NETWORK_PERMISSION_ENTRY_NOT_FOUND'
    # the same handler as v2 [I]: the same bucket and headers
    assert listed.headers['Ratelimit-Limit'] == '1200'


def test_v1_project_whitelist_stays_removed(atlas):
    # [V] "Atlas removed whitelists in July 2021"
    response = session().get(atlas.url + '/api/atlas/v1.0/groups/%s/whitelist' % PROJECT,
                             headers={'Accept': 'application/json'})
    assert response.status_code == 404 and response.json()['error'] == 404


# -- 2. bad paging answers 400 INVALID_QUERY_PARAMETER everywhere --------------------------------------------

BAD_PAGING = ['itemsPerPage=0', 'itemsPerPage=501', 'itemsPerPage=abc', 'pageNum=0', 'pageNum=-1', 'pageNum=x']


@pytest.mark.parametrize('query', BAD_PAGING)
@pytest.mark.parametrize('path, accept', [
    ('/api/atlas/v2/orgs/%s/serviceAccounts' % ORG, SA),
    ('/api/atlas/v2/groups', V2),
    (SA_LIST, SA), (KEY_LIST, V2), (PROJECT_LIST, V2), ('/api/atlas/v2/orgs/%s/apiKeys' % ORG, V2),
], ids=['serviceAccounts', 'groups', 'sa-list', 'key-list', 'project-list', 'apiKeys'])
def test_bad_paging_is_a_json_400(atlas, path, accept, query):
    response = session().get(atlas.url + path + '?' + query, headers={'Accept': accept})
    assert response.status_code == 400, response.text
    assert response.headers['Content-Type'] == 'application/json'
    assert response.json()['errorCode'] == 'INVALID_QUERY_PARAMETER'


@pytest.mark.parametrize('path, media', [(KEY_LIST, V2), (SA_LIST, SA), (PROJECT_LIST, V2)])
def test_bad_paging_on_post_changes_nothing(atlas, path, media):
    response = session().post(atlas.url + path + '?itemsPerPage=0', json=[{'ipAddress': '203.0.113.77'}],
                              headers={'Accept': media, 'Content-Type': media})
    assert response.status_code == 400 and response.json()['errorCode'] == 'INVALID_QUERY_PARAMETER'
    assert '203.0.113.77/32' not in json.dumps(atlas.snapshot()) + json.dumps(atlas.project_access_list(PROJECT))


# -- 3. the digest challenge, byte for byte as recorded ---------------------------------------------------

def test_digest_challenge_matches_the_recording(atlas):
    status, recorded, body = snaphost(RECORDED_CHALLENGE)
    response = requests.post(atlas.url + PROJECT_LIST, json=[{'ipAddress': '192.0.2.1'}],
                             headers={'Accept': V2, 'Content-Type': V2})
    assert response.status_code == status == 401
    assert response.content == body  # pretty-printed, " : ", errorCode UNEXPECTED_ERROR, no trailing newline
    assert response.headers['Content-Length'] == recorded['Content-Length'] == '142'
    for name in ('Content-Type', 'Vary'):
        assert response.headers[name] == recorded[name], name
    pattern = r'^Digest realm="MMS Public API", domain="", nonce="[^"]{32}", algorithm=MD5, qop="auth", stale=false$'
    assert re.match(pattern, recorded['Www-Authenticate'])
    assert re.match(pattern, response.headers['WWW-Authenticate']), response.headers['WWW-Authenticate']
    assert 'opaque' not in response.headers['WWW-Authenticate']
    assert not [h for h in response.headers if h.lower().startswith('ratelimit')]


# -- 4. /rateLimits ---------------------------------------------------------------------------------------

def rate_limit_openapi(url):
    return openapi_for(load('atlas-access-lists.openapi.json'), url, RL)


def test_rate_limits_are_served_as_the_extract_describes(atlas, exchanges):
    s = session()
    listed = s.get(atlas.url + '/api/atlas/v2/rateLimits', headers={'Accept': RL})
    assert listed.status_code == 200, listed.text
    assert listed.headers['Content-Type'] == RL + ';charset=utf-8'
    assert (listed.headers['Ratelimit-Limit'], listed.headers['Ratelimit-Remaining']) == ('300', '299')
    sets = {s_['endpointSetName'] + '/' + s_['scope']: s_ for s_ in listed.json()['results']}
    assert {'Programmatic API Keys/ORGANIZATION', 'Service Accounts/ORGANIZATION', 'Service Accounts/GROUP',
            'Project IP Access List/GROUP', 'Projects/USER', 'Rate Limits Inspection/USER'} <= set(sets)
    project = sets['Project IP Access List/GROUP']
    assert (project['capacity'], project['refillRate'], project['refillDurationSeconds']) == (
        {'value': 1200}, {'value': 500}, {'value': 60})
    assert {'method': 'GET', 'path': '/api/atlas/v2/groups/{groupId}/accessList/{entryValue}/status'} in \
        project['endpoints']
    one = s.get(atlas.url + '/api/atlas/v2/rateLimits/' + project['endpointSetId'], headers={'Accept': RL})
    assert one.status_code == 200 and one.json() == project
    assert s.get(atlas.url + '/api/atlas/v2/rateLimits/noSuchSet', headers={'Accept': RL}).status_code == 404
    grouped = s.get(atlas.url + '/api/atlas/v2/rateLimits?groupId=' + PROJECT, headers={'Accept': RL}).json()
    assert grouped['results'] and {r['scope'] for r in grouped['results']} == {'GROUP'}
    named = s.get(atlas.url + '/api/atlas/v2/rateLimits?name=Projects&name=Rate%20Limits%20Inspection',
                  headers={'Accept': RL}).json()
    assert sorted(r['endpointSetName'] for r in named['results']) == ['Projects', 'Rate Limits Inspection']
    by_path = s.get(atlas.url + '/api/atlas/v2/rateLimits', params={'endpointPath': '/api/atlas/v2/groups'},
                    headers={'Accept': RL}).json()
    assert [r['endpointSetName'] for r in by_path['results']] == ['Projects']
    assert s.get(atlas.url + '/api/atlas/v2/rateLimits', headers={'Accept': V2}).status_code == 406
    assert s.get(atlas.url + '/api/atlas/v2/rateLimits', headers={'Accept': 'application/vnd.atlas.preview+json'}
                 ).headers['Content-Type'] == 'application/vnd.atlas.preview+json;charset=utf-8'
    validator = rate_limit_openapi(atlas.url)
    from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
    checked = 0
    for request, response in exchanges:
        if response.status_code in (200, 404) and RL in request.headers.get('Accept', ''):
            validator.validate_response(RequestsOpenAPIRequest(request), RequestsOpenAPIResponse(response))
            checked += 1
    assert checked >= 5


def test_rate_limits_show_applied_and_default_values_and_check_the_scope_key(atlas):
    atlas.update_settings({'project_rate_limit_capacity': 100})
    s = session()
    one = s.get(atlas.url + '/api/atlas/v2/rateLimits?groupId=' + PROJECT, headers={'Accept': RL}).json()
    project = next(r for r in one['results'] if r['endpointSetName'] == 'Project IP Access List')
    assert project['capacity'] == {'value': 100, 'defaultValue': 1200}
    # the caller must be able to read the key it asks about; userId must be the caller
    assert s.get(atlas.url + '/api/atlas/v2/rateLimits?orgId=5f00000000000000000000ff',
                 headers={'Accept': RL}).status_code == 403
    assert s.get(atlas.url + '/api/atlas/v2/rateLimits?userId=someoneelse', headers={'Accept': RL}).status_code == 403
    mine = s.get(atlas.url + '/api/atlas/v2/rateLimits?userId=' + PUBLIC, headers={'Accept': RL}).json()
    assert {r['scope'] for r in mine['results']} == {'USER'}
    assert s.get(atlas.url + '/api/atlas/v2/rateLimits?itemsPerPage=0', headers={'Accept': RL}).status_code == 400
    assert requests.get(atlas.url + '/api/atlas/v2/rateLimits', headers={'Accept': RL}).status_code == 401


# -- 5. envelope=true (and pretty=true) --------------------------------------------------------------------

@pytest.mark.parametrize('field', ['content', 'envelope'])
def test_envelope_adds_status_to_lists_and_wraps_single_results(atlas, field):
    atlas.update_settings({'envelope_single_field': field})
    s = session()
    listed = s.get(atlas.url + KEY_LIST + '?envelope=true', headers={'Accept': V2})
    assert listed.status_code == 200 and listed.json()['status'] == 200 and listed.json()['totalCount'] == 2
    one = s.get(atlas.url + KEY_LIST + '/192.0.2.10?envelope=true', headers={'Accept': V2}).json()
    assert set(one) == {'status', field} and one['status'] == 200 and one[field]['ipAddress'] == '192.0.2.10'
    created = s.post(atlas.url + PROJECT_LIST + '?envelope=true', json=[{'ipAddress': '192.0.2.1'}],
                     headers={'Accept': V2, 'Content-Type': V2})
    assert created.status_code == 201 and created.json()['status'] == 201 and created.json()['results']
    status = s.get(atlas.url + PROJECT_LIST + '/192.0.2.1/status?envelope=true', headers={'Accept': V2}).json()
    assert status == {'status': 200, field: {'STATUS': 'PENDING'}}
    # without the flag, or with envelope=false, nothing changes; errors keep their own body
    assert 'status' not in s.get(atlas.url + KEY_LIST + '?envelope=false', headers={'Accept': V2}).json()
    missing = s.get(atlas.url + KEY_LIST + '/192.0.2.99?envelope=true', headers={'Accept': V2})
    assert missing.status_code == 404 and missing.json()['errorCode'] == 'RESOURCE_NOT_FOUND'


def test_pretty_prints_the_way_the_recorded_challenge_is_printed(atlas):
    s = session()
    compact = s.get(atlas.url + KEY_LIST, headers={'Accept': V2})
    pretty = s.get(atlas.url + KEY_LIST + '?pretty=true', headers={'Accept': V2})
    assert b'\n' not in compact.content
    assert pretty.text == json.dumps(compact.json(), indent=2, separators=(',', ' : '))


@pytest.mark.parametrize('field', ['content', 'envelope'])
def test_modules_under_each_envelope_setting(capsys, atlas, field):
    atlas.update_settings({'envelope_single_field': field})
    failed, result = run_module(capsys, key_module.main, dict(base_url=atlas.url, org_id=ORG, api_key=KEY_ID,
                                                              public_key=PUBLIC, private_key=PRIVATE,
                                                              entries=['203.0.113.5']))
    assert not failed, result
    failed, result = run_module(capsys, project_module.main, dict(base_url=atlas.url, project_id=PROJECT,
                                                                  public_key=PUBLIC, private_key=PRIVATE,
                                                                  entries=['203.0.113.5'], wait=True))
    assert not failed, result


# -- 6. GET /groups/byName takes a Projects token --------------------------------------------------------------

def test_by_name_takes_a_token_from_the_projects_bucket(atlas):
    s = session()
    first = s.get(atlas.url + '/api/atlas/v2/groups/byName/prod', headers={'Accept': V2})
    second = s.get(atlas.url + '/api/atlas/v2/groups/byName/prod', headers={'Accept': V2})
    listed = s.get(atlas.url + '/api/atlas/v2/groups', headers={'Accept': V2})
    missing = s.get(atlas.url + '/api/atlas/v2/groups/byName/nope', headers={'Accept': V2})
    assert first.status_code == second.status_code == listed.status_code == 200 and missing.status_code == 404
    assert [r.headers.get('Ratelimit-Limit') for r in (first, second, listed, missing)] == ['1200'] * 4
    assert [r.headers.get('Ratelimit-Remaining') for r in (first, second, listed, missing)] == [
        '1199', '1198', '1197', '1196']


# -- 7. Content-Type: application/json on POST --------------------------------------------------------------

@pytest.mark.parametrize('setting, status', [('accept', 200), ('refuse', 415)])
def test_plain_json_post_on_key_and_sa_lists_follows_the_setting(atlas, setting, status):
    atlas.update_settings({'plain_json_post': setting})
    s = session()
    for path, media in ((KEY_LIST, V2), (SA_LIST, SA)):
        response = s.post(atlas.url + path, json=[{'ipAddress': '203.0.113.8'}],
                          headers={'Accept': media, 'Content-Type': 'application/json'})
        assert response.status_code == status, (path, response.text)
        if status == 415:
            assert response.json()['errorCode'] == 'UNSUPPORTED_MEDIA_TYPE'
    # [V] the project list takes application/json whatever the setting
    project = s.post(atlas.url + PROJECT_LIST, json=[{'ipAddress': '203.0.113.8'}],
                     headers={'Accept': V2, 'Content-Type': 'application/json'})
    assert project.status_code == 201
    # any other type is refused everywhere
    other = s.post(atlas.url + KEY_LIST, data='ipAddress=1.2.3.4',
                   headers={'Accept': V2, 'Content-Type': 'application/x-www-form-urlencoded'})
    assert other.status_code == 415


@pytest.mark.parametrize('setting', ['accept', 'refuse'])
def test_modules_under_each_plain_json_setting(capsys, atlas, setting):
    atlas.update_settings({'plain_json_post': setting})
    failed, result = run_module(capsys, key_module.main, dict(base_url=atlas.url, org_id=ORG, api_key=KEY_ID,
                                                              public_key=PUBLIC, private_key=PRIVATE,
                                                              entries=['203.0.113.5']))
    assert not failed and result['changed'], result
    failed, result = run_module(capsys, sa_module.main, dict(base_url=atlas.url, org_id=ORG, service_account=SA_ID,
                                                             client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                                                             entries=['203.0.113.5']))
    assert not failed and result['changed'], result


# -- 8. the v1.0 API-key /whitelist: gone from the cloud, kept on Ops Manager ---------------------------------

@pytest.mark.parametrize('base_path, setting, served', [
    ('/api/atlas/v1.0', 'auto', False),      # [V] removed from Atlas in 2021; 404 [I]
    ('/api/atlas/v1.0', 'served', True),     # the seed document's API as it was
    ('/api/atlas/v1.0', 'removed', False),
    ('/api/public/v1.0', 'auto', True),      # Ops Manager (4.2 documents only /whitelist) [V]
    ('/api/public/v1.0', 'served', True),
    ('/api/public/v1.0', 'removed', False),  # an Ops Manager that dropped it [U]
])
def test_v1_whitelist_follows_the_setting_and_the_module_sees_it(capsys, atlas, base_path, setting, served):
    atlas.update_settings({'v1_base_path': base_path, 'v1_whitelist': setting})
    s = session()
    path = '%s/orgs/%s/apiKeys/%s/whitelist' % (base_path, ORG, KEY_ID)
    response = s.get(atlas.url + path, headers={'Accept': 'application/json'})
    assert response.status_code == (200 if served else 404)
    if not served:
        assert response.json()['errorCode'] == 'RESOURCE_NOT_FOUND'
    # the v1.0 accessList is there either way
    assert s.get(atlas.url + path.replace('/whitelist', '/accessList'),
                 headers={'Accept': 'application/json'}).status_code == 200
    failed, result = run_module(capsys, key_module.main, dict(
        base_url=atlas.url, org_id=ORG, api_key=KEY_ID, public_key=PUBLIC, private_key=PRIVATE,
        api_version='v1_whitelist', api_path_prefix=base_path, entries=['203.0.113.5'], retries=0))
    if served:
        assert not failed and result['added'] == ['203.0.113.5/32'], result
    else:
        assert failed and result.get('http_status') == 404, result
        assert '192.0.2.10/32' in atlas.access_list(ORG, KEY_ID) and '203.0.113.5/32' not in atlas.access_list(
            ORG, KEY_ID)


# -- a boolean query value that is neither true nor false (schemathesis' negative cases) [U] -------------------

@pytest.mark.parametrize('setting', ['lenient', 'strict'])
def test_non_boolean_query_values_follow_the_setting(capsys, atlas, setting):
    atlas.update_settings({'query_boolean': setting})
    s = session()
    odd = s.get(atlas.url + KEY_LIST + '?includeCount=null&pretty=1', headers={'Accept': V2})
    if setting == 'strict':
        assert odd.status_code == 400 and odd.json()['errorCode'] == 'INVALID_QUERY_PARAMETER'
    else:  # Java's Boolean.valueOf: anything but "true" is false
        assert odd.status_code == 200 and 'totalCount' not in odd.json() and b'\n' not in odd.content
    assert 'totalCount' in s.get(atlas.url + KEY_LIST + '?includeCount=TRUE', headers={'Accept': V2}).json()
    failed, result = run_module(capsys, key_module.main, dict(base_url=atlas.url, org_id=ORG, api_key=KEY_ID,
                                                              public_key=PUBLIC, private_key=PRIVATE,
                                                              entries=['203.0.113.5'], purge=True))
    assert not failed and result['changed'], result
