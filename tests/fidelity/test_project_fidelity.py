# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The project IP access list against the real contract: the Atlas CLI's recorded traffic replays on the
simulator with the same statuses, content types, rate-limit headers and shapes, and every request the
module sends and every answer the simulator gives validates against the official extract."""

from __future__ import annotations

import json
import time

import pytest
import requests
from requests.auth import HTTPDigestAuth

from ansible_collections.apiaccess.ipwhitelist.plugins.modules import atlas_project_whitelist as module
from ansible_collections.apiaccess.ipwhitelist.plugins.modules import atlas_project_whitelist_info as info
from ansible_collections.apiaccess.ipwhitelist.tests.fidelity.contract import load, openapi_for, shape, validate_all
from ansible_collections.apiaccess.ipwhitelist.tests.simulators.atlas import AtlasSimulator
from ansible_collections.apiaccess.ipwhitelist.tests.unit.conftest import (
    PRIVATE, PROJECT, PUBLIC, atlas_seed, run_module,
)

SPEC = load('atlas-access-lists.openapi.json')
RECORDED = load('atlas-recorded/index-TestAccessList.json')['recordings']
MEDIA = 'application/vnd.atlas.2023-01-01+json'
ORG = 'a0123456789abcdef012345a'


def openapi(url):
    def adjust(spec):
        # real traffic answers the POST 201 (30 of 30 recorded), the spec says 200 (shared/specs README)
        post = spec['paths']['/api/atlas/v2/groups/{groupId}/accessList']['post']
        post['responses']['201'] = post['responses']['200']
    return openapi_for(SPEC, url, MEDIA, adjust)


def recorded_project_sim(recording):
    """A simulator holding the recorded project (its ID, the masked org) and an operator key."""
    project_id = next(e['path'].split('/')[5] for e in recording['exchanges'] if '/groups/' in e['path'])
    seed = {'orgs': [{'id': ORG, 'api_keys': [{'id': '5f5f5f5f5f5f5f5f5f5f5f5f', 'publicKey': 'operator',
                                               'privateKey': 'operator-private'}]}],
            'projects': [{'id': project_id, 'name': 'recorded', 'org': ORG}]}
    return AtlasSimulator(seed=seed, caller_ip='52.161.45.225'), project_id


@pytest.mark.parametrize('index', [0, 1], ids=['TestAccessList', 'TestSetup'])
def test_every_recorded_exchange_replays(index):
    recording = RECORDED[index]
    sim, project_id = recorded_project_sim(recording)
    with sim:
        authed = requests.Session()
        authed.auth = HTTPDigestAuth('operator', 'operator-private')
        checked = 0
        for exchange in recording['exchanges']:
            if exchange['path'] == '/api/atlas/v2/groups':
                continue  # the test's project creation: the simulator's projects come from its seed
            body = exchange.get('request_body_inferred_from_test')
            if isinstance(body, list):
                body = [dict(e, deleteAfterDate=time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(time.time() + 300)))
                        if 'deleteAfterDate' in e else e for e in body]
            headers = {'Accept': MEDIA}
            if body is not None:
                headers['Content-Type'] = MEDIA
            session = requests if exchange['status'] == 401 else authed  # a recorded digest challenge leg
            response = session.request(exchange['method'], sim.url + exchange['path'], json=body, headers=headers)
            where = '%s %s (recorded #%d)' % (exchange['method'], exchange['path'], exchange['seq'])
            assert response.status_code == exchange['status'], where
            recorded_type = exchange['response_headers'].get('Content-Type')
            assert response.headers.get('Content-Type') == recorded_type, where
            for header in ('Ratelimit-Limit', 'Ratelimit-Remaining'):
                assert (header in response.headers) == (header in exchange['response_headers']), where
            if exchange['status'] != 401:
                if exchange['response_body'] is None:
                    assert response.content == b'', where
                else:
                    assert shape(response.json()) == shape(exchange['response_body']), where
            checked += 1
        assert checked >= 4


def test_recorded_entry_rendering_is_reproduced_exactly():
    recording = RECORDED[0]
    sim, project_id = recorded_project_sim(recording)
    recorded = next(e for e in recording['exchanges'] if e['seq'] == 4)['response_body']
    with sim:
        session = requests.Session()
        session.auth = HTTPDigestAuth('operator', 'operator-private')
        base = sim.url + '/api/atlas/v2/groups/%s/accessList' % project_id
        session.post(base, json=[{'groupId': project_id, 'comment': 'test', 'ipAddress': '192.168.0.243'}],
                     headers={'Accept': MEDIA, 'Content-Type': MEDIA})
        got = session.get(base + '/192.168.0.243', headers={'Accept': MEDIA}).json()
        assert json.loads(json.dumps(got).replace(sim.url, 'http://localhost:8080')) == recorded


def test_module_requests_and_simulator_responses_match_the_extract(capsys, atlas, exchanges):
    seed = atlas_seed()
    seed['projects'][0].update(peering=True, access_list=[{'address': '192.0.2.5', 'comment': 'bastion'}])
    atlas.reset(seed)
    base = dict(base_url=atlas.url, public_key=PUBLIC, private_key=PRIVATE, project_id=PROJECT)
    runs = [
        (module.main, dict(base, entries=['203.0.113.5', {'cidr': '198.51.100.0/26', 'comment': 'vpn',
                                                          'delete_after': '2h'},
                                          {'aws_security_group': 'sg-0123456789'}, '2001:db8::/48'],
                           purge=True, keep=['10.0.0.0/8'], wait=True)),
        (module.main, dict(base, entries=[{'cidr': '203.0.113.5', 'comment': 'renamed'}])),
        (module.main, dict(base, entries=['2001:db8::/48', 'sg-0123456789'], state='absent')),
        (info.main, dict(base, status=True)),
        (info.main, dict(base_url=atlas.url, public_key=PUBLIC, private_key=PRIVATE)),
    ]
    for main, args in runs:
        failed, result = run_module(capsys, main, args)
        assert not failed, result
    methods = {request.method for request, response in exchanges}
    assert methods == {'GET', 'POST', 'DELETE'}
    # digest legs are skipped; /groups and /groups/byName are not in the extract
    checked = validate_all(openapi(atlas.url), exchanges, MEDIA,
                           skip=lambda request: '/groups/' not in request.path_url or 'byName' in request.path_url)
    assert checked >= 10
