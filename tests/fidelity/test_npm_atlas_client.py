# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A client nobody here wrote: the npm package mongodb-atlas-api-client (pinned in node/package.json and
node/package-lock.json), configured as its README says (base URL ``.../api/atlas/v1.0``, digest keys, project
ID), drives every access-list call it has against the simulator (node/drive_atlas_client.js). It has no API-key
or service-account calls; its project calls are the v1.0 accessList and the whitelist Atlas removed in 2021.

The package is installed by ``npm ci`` into the git-ignored ``.cache/fidelity-node`` (reused while the lock
file is unchanged). Without node or npm the test is skipped, saying so; so is it when ``npm ci`` cannot reach the
registry (an offline machine with nothing installed yet: npm's error code says so). Any other ``npm ci`` error
fails the test."""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from ansible_collections.apiaccess.ipwhitelist.tests.unit.conftest import PRIVATE, PROJECT, PUBLIC

NODE_DIR = Path(__file__).resolve().parent / 'node'
CACHE = Path(__file__).resolve().parents[2] / '.cache' / 'fidelity-node'
PACKAGE = 'mongodb-atlas-api-client'
VERSION = '4.19.0'
# npm's error codes for a registry it cannot reach: no DNS answer (ENOTFOUND, EAI_AGAIN), nothing listening or no
# route (ECONNREFUSED, ENETUNREACH, EHOSTUNREACH), no answer in time (ETIMEDOUT, ERR_SOCKET_TIMEOUT), and npm
# configured offline with nothing cached (ENOTCACHED)
UNREACHABLE = ('ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ENETUNREACH', 'EHOSTUNREACH', 'ETIMEDOUT',
               'ERR_SOCKET_TIMEOUT', 'ENOTCACHED')


def registry_unreachable(output):
    """npm's error code when its output says the registry could not be reached, else None (any other failure)."""
    match = re.search(r'^npm (?:error|ERR!) code (\S+)', output, re.M)
    return match.group(1) if match and match.group(1) in UNREACHABLE else None


def npm_ci(directory, *options):
    return subprocess.run(['npm', 'ci', '--no-audit', '--no-fund', '--ignore-scripts'] + list(options),
                          cwd=str(directory), capture_output=True, text=True, timeout=300, check=False)


def check_installed(run):
    """Nothing when ``npm ci`` succeeded; a skip when it could not reach the registry; else the test fails."""
    if run.returncode == 0:
        return
    output = run.stdout + run.stderr
    code = registry_unreachable(output)
    if code is not None:
        pytest.skip('npm ci cannot reach the npm registry (%s) and %s@%s is not installed in .cache/fidelity-node '
                    'yet: the npm client cannot run here' % (code, PACKAGE, VERSION))
    pytest.fail('npm ci failed:\n%s\n%s' % (run.stdout[-2000:], run.stderr[-2000:]))


@pytest.fixture(scope='module')
def node_modules():
    """The pinned package, installed once per lock file; skips where node or npm is missing."""
    missing = [tool for tool in ('node', 'npm') if shutil.which(tool) is None]
    if missing:
        pytest.skip('%s not on PATH: the npm client %s@%s cannot run here' % (' and '.join(missing), PACKAGE, VERSION))
    CACHE.mkdir(parents=True, exist_ok=True)
    lock = (NODE_DIR / 'package-lock.json').read_bytes()
    with open(CACHE / '.install.lock', 'w') as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)  # one installer at a time (parallel runs share the cache)
        installed = CACHE / 'node_modules' / PACKAGE / 'package.json'
        if not installed.is_file() or (CACHE / 'package-lock.json').read_bytes() != lock:
            for name in ('package.json', 'package-lock.json'):
                shutil.copyfile(str(NODE_DIR / name), str(CACHE / name))
            check_installed(npm_ci(CACHE))
        assert json.loads(installed.read_text())['version'] == VERSION
    return CACHE / 'node_modules'


def drive(node_modules, base_url):
    env = dict(os.environ, NODE_PATH=str(node_modules))
    config = json.dumps({'baseUrl': base_url, 'publicKey': PUBLIC, 'privateKey': PRIVATE, 'projectId': PROJECT})
    run = subprocess.run(['node', str(NODE_DIR / 'drive_atlas_client.js'), config], env=env, capture_output=True,
                         text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    return dict((step['step'], step) for step in json.loads(run.stdout))


@pytest.mark.parametrize('field', ['envelope', 'content'])
def test_the_npm_client_manages_a_project_access_list(node_modules, atlas, field):
    atlas.update_settings({'envelope_single_field': field})  # [U]: the simulator's setting, in both values
    steps = drive(node_modules, atlas.url + '/api/atlas/v1.0')
    assert all(step['ok'] for step in steps.values()), steps
    data = dict((name, step['data']) for name, step in steps.items())
    # POST: 201 [R] with page 1 of the whole list; the status is visible only through envelope=true
    assert data['create']['status'] == 201 and data['create']['totalCount'] == 1
    entry = data['create']['results'][0]
    self_link = atlas.url + '/api/atlas/v1.0/groups/%s/accessList/203.0.113.5%%2F32' % PROJECT
    assert entry == {'cidrBlock': '203.0.113.5/32', 'comment': 'npm client', 'groupId': PROJECT,
                     'ipAddress': '203.0.113.5', 'links': [{'href': self_link, 'rel': 'self'}]}
    assert data['create-cidr']['totalCount'] == 2
    assert [e.get('comment') for e in data['update']['results']] == ['renamed', None]
    # without envelope the body is the plain list; paging as asked
    assert 'status' not in data['getAll'] and data['getAll']['totalCount'] == 2
    assert [len(data['getAll-page1']['results']), len(data['getAll-page2']['results'])] == [1, 1]
    assert data['getAll-page1']['status'] == 200
    # a single result is wrapped [V], under a field whose name is [U] (the setting envelope_single_field)
    assert data['get'] == {'status': 200, field: dict(entry, comment='renamed')}
    assert data['get-cidr'][field]['cidrBlock'] == '198.51.100.0/24'
    assert data['delete'] is True
    assert data['get-deleted']['error'] == 404
    assert data['get-deleted']['errorCode'] == 'ATLAS_NETWORK_PERMISSION_ENTRY_NOT_FOUND'
    assert data['bad-paging']['error'] == 400 and data['bad-paging']['errorCode'] == 'INVALID_QUERY_PARAMETER'
    # the project whitelist was removed in July 2021 [V]
    assert data['whitelist-getAll']['error'] == 404 and data['whitelist-create']['error'] == 404
    assert atlas.project_access_list(PROJECT) == {'198.51.100.0/24': None}
    # every accessList call authenticated by digest (one challenge each: the client keeps no nonce), all on
    # v1.0; the removed whitelist answers 404 before any challenge
    log = atlas.log
    assert all(e['path'].startswith('/api/atlas/v1.0/groups/%s/' % PROJECT) for e in log)
    assert [e['status'] for e in log if '/whitelist' in e['path']] == [404, 404]
    access_list = [e for e in log if '/accessList' in e['path']]
    assert [e['status'] for e in access_list if e['authorization'] != 'Digest'] == [401] * 11
    assert [e['status'] for e in access_list if e['authorization'] == 'Digest'] == [
        201, 201, 201, 200, 200, 200, 200, 200, 204, 404, 400]


def test_the_npm_client_fails_on_the_v1_project_list_only_where_atlas_has_none(node_modules, atlas):
    # Ops Manager has no project IP access list: under /api/public/v1.0 every call is a 404 the client returns
    atlas.update_settings({'v1_base_path': '/api/public/v1.0'})
    steps = drive(node_modules, atlas.url + '/api/public/v1.0')
    assert steps['create']['data']['error'] == 404 and steps['getAll']['data']['error'] == 404
    assert atlas.project_access_list(PROJECT) == {}


# what npm 11 (and, as "npm ERR!", npm 6-8) prints when npm ci fails
OFFLINE_DNS = '''npm error code ENOTFOUND
npm error syscall getaddrinfo
npm error errno ENOTFOUND
npm error network request to https://registry.npmjs.org/ylru failed, reason: getaddrinfo ENOTFOUND registry.npmjs.org
npm error network This is a problem related to network connectivity.
'''


@pytest.mark.parametrize('output, code', [
    (OFFLINE_DNS, 'ENOTFOUND'),
    ('npm error code EAI_AGAIN\nnpm error syscall getaddrinfo\n', 'EAI_AGAIN'),
    ('npm error code ECONNREFUSED\nnpm error FetchError: request to http://127.0.0.1:9/ylru failed\n', 'ECONNREFUSED'),
    ('npm ERR! code ETIMEDOUT\nnpm ERR! errno ETIMEDOUT\n', 'ETIMEDOUT'),
    ('npm error code ENOTCACHED\nnpm error request to https://registry.npmjs.org/ylru failed: cache mode is '
     "'only-if-cached' but no cached response is available.\n", 'ENOTCACHED'),
    # any other failure is not the network's: the test must fail on it
    ('npm error code EUSAGE\nnpm error The `npm ci` command can only install with an existing package-lock.json\n',
     None),
    ('npm error code EINTEGRITY\nnpm error sha512-... integrity checksum failed\n', None),
    ('npm error code E404\nnpm error 404 Not Found - GET https://registry.npmjs.org/mongodb-atlas-api-client\n', None),
    ('npm error code ENOSPC\nnpm error syscall write\n', None),
    # the code line decides, not a network word further down
    ('npm error code EJSONPARSE\nnpm error network ECONNREFUSED mentioned in a message\n', None),
    ('', None),
], ids=['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'old ETIMEDOUT', 'ENOTCACHED', 'EUSAGE', 'EINTEGRITY', 'E404',
        'ENOSPC', 'code line decides', 'no output'])
def test_only_an_unreachable_registry_is_told_apart(output, code):
    assert registry_unreachable(output) == code


def test_an_unreachable_registry_skips_and_any_other_failure_fails():
    with pytest.raises(pytest.skip.Exception, match='cannot reach the npm registry \\(ENOTFOUND\\)'):
        check_installed(subprocess.CompletedProcess(['npm', 'ci'], 1, '', OFFLINE_DNS))
    with pytest.raises(pytest.fail.Exception, match='npm ci failed'):
        check_installed(subprocess.CompletedProcess(['npm', 'ci'], 1, '', 'npm error code EUSAGE\n'))
    check_installed(subprocess.CompletedProcess(['npm', 'ci'], 0, '', ''))  # installed: nothing to say


@pytest.mark.skipif(shutil.which('npm') is None, reason='npm not on PATH')
def test_npm_ci_against_a_registry_that_refuses_is_told_apart(tmp_path):
    """The real npm's output, no network needed: a registry on a loopback port that refuses every connection
    (bound, never listening), an empty cache, no retries."""
    for name in ('package.json', 'package-lock.json'):
        shutil.copyfile(str(NODE_DIR / name), str(tmp_path / name))
    with socket.socket() as refusing:
        refusing.bind(('127.0.0.1', 0))
        registry = 'http://127.0.0.1:%d/' % refusing.getsockname()[1]
        run = npm_ci(tmp_path, '--registry', registry, '--cache', str(tmp_path / 'cache'), '--fetch-retries', '0')
    assert run.returncode != 0 and registry_unreachable(run.stdout + run.stderr) == 'ECONNREFUSED', run.stderr[-2000:]
