# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the invariant machines share: the kinds and their modules, a module runner that lets no exception
through, the simulators' observable state, the faults, and the secrets every output is grepped for."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import time
import traceback
from unittest import mock

from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import atlas as atlas_utils
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import fleet as fleet_utils
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import http_client
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import woodcore as woodcore_utils
from ansible_collections.apiaccess.ipwhitelist.plugins.modules import atlas_apikey_whitelist
from ansible_collections.apiaccess.ipwhitelist.plugins.modules import atlas_project_whitelist
from ansible_collections.apiaccess.ipwhitelist.plugins.modules import atlas_service_account_whitelist
from ansible_collections.apiaccess.ipwhitelist.plugins.modules import fleet_converge
from ansible_collections.apiaccess.ipwhitelist.plugins.modules import woodcore_ipwhitelist
from ansible_collections.apiaccess.ipwhitelist.tests.simulators.atlas import AtlasSimulator
from ansible_collections.apiaccess.ipwhitelist.tests.simulators.woodcore import WoodcoreSimulator
from ansible_collections.apiaccess.ipwhitelist.tests.unit.conftest import (
    CLIENT_ID, CLIENT_SECRET, KEY2_ID, KEY_ID, ORG, PRIVATE, PRIVATE2, PROJECT, PUBLIC, SA_ID, WC_KEY, WC_LIVE_KEY,
    atlas_seed, woodcore_seed,
)

KINDS = ('api_key', 'org_service_account', 'project_service_account', 'project', 'woodcore')
ATLAS_KINDS = KINDS[:4]
MAINS = {'api_key': atlas_apikey_whitelist.main, 'org_service_account': atlas_service_account_whitelist.main,
         'project_service_account': atlas_service_account_whitelist.main, 'project': atlas_project_whitelist.main,
         'woodcore': woodcore_ipwhitelist.main, 'fleet': fleet_converge.main}
# the entries an op picks from: some on the seeded lists, some not
POOL = ('203.0.113.10', '203.0.113.11', '198.51.100.0/24', '192.0.2.10', '10.1.0.0/24')
WC_IPS = ('203.0.113.7', '198.51.100.254', '203.0.113.8')
WC_NAME = 'payments-sandbox'
WRONG_OTP = 'wrongotp0000'
SA_SECRET = 'mdb_sa_sk_other'
# every secret of the seeds (the conftest's markers); issued OTPs and bearer tokens are added per run
SEED_SECRETS = (PRIVATE, PRIVATE2, CLIENT_SECRET, SA_SECRET, WC_KEY, WC_LIVE_KEY)
TOKEN_PATH = '/api/oauth/token'

# Where a fault is aimed, by kind: (method, path regex, matching requests to let through first). A digest run's
# first request is the challenge leg (401), so its list read is the second GET of the list.
ATLAS_AIMS = ('auth', 'read', 'ipinfo', 'add', 'remove', 'reread', 'status')
WOODCORE_AIMS = ('read', 'write', 'reread')


def aim(kind, at, auth=None):
    """(method, path, skip) of the request a fault ``at`` hits in an op of ``kind``."""
    if kind == 'woodcore':
        return {'read': ('GET', r'/keyprofile$', 0), 'write': ('POST', r'/apiKeys/', 0),
                'reread': ('GET', r'/keyprofile$', 1)}[at]
    legs = 1 if auth == 'digest' else 0
    return {'auth': ('GET', r'/accessList$', 0) if legs else ('POST', TOKEN_PATH + '$', 0),
            'read': ('GET', r'/accessList$', legs), 'ipinfo': ('GET', r'/ipinfo$', 0),
            'add': ('POST', r'/accessList$', 0), 'remove': ('DELETE', r'/accessList/', 0),
            'reread': ('GET', r'/accessList$', legs + 1), 'status': ('GET', r'/status$', 0)}[at]


HTML = '<html><head><title>Sign in</title></head><body>Hotel Wi-Fi: accept the terms to continue</body></html>'
# what a fault does: kind and the fields the simulator's Fault takes
FAULT_KINDS = {
    '5xx before acting': [dict(kind='status', status=s) for s in (500, 502, 503, 504)],
    # not 503: the client takes it, as RFC 9110 defines it, for a server that did not act (and retries it)
    '5xx after acting': [dict(kind='status_after', status=s) for s in (500, 502, 504)],
    'reset before acting': [dict(kind='reset_before')],
    'reset after acting': [dict(kind='reset_after')],
    '200 with an HTML page': [dict(kind='status', status=200, content_type='text/html', body=HTML),
                              dict(kind='status_after', status=200, content_type='text/html', body=HTML)],
    # a leaky server echoes the request's bearer token in the error
    '401': [dict(kind='status', status=401, body={'error': 401, 'errorCode': 'UNAUTHORIZED', 'status': 0,
                                                  'message': 'token {bearer} rejected',
                                                  'detail': 'token {bearer} rejected'})],
    '429 Retry-After 0': [dict(kind='status', status=429, headers={'Retry-After': '0'})],
}


def new_simulators():
    """One Atlas and one Woodcore simulator, started: every list the kinds manage is seeded with entries of
    the pool and others; no OAuth token limit and no status polling wait, so runs take no wall-clock time."""
    seed = atlas_seed()
    seed['projects'][0]['access_list'] = ['192.0.2.10', {'address': '10.20.0.0/16', 'comment': 'old VPN'}]
    atlas = AtlasSimulator(seed=seed, oauth_token_limit=0, status_pending_reads=0)
    woodcore = WoodcoreSimulator(seed=woodcore_seed(), rate_limit=100000)
    atlas.start()
    woodcore.start()
    return atlas, woodcore


def service_state(atlas, woodcore):
    """Everything an op may change, read through the simulators' Python API: every list of every kind (a
    project entry with its comment), each Woodcore key's IP, and how many OTP emails went out."""
    with atlas.lock:
        project = atlas.projects[PROJECT]
        comments = sorted((str(k), e.get('comment'), e.get('deleteAfterDate'))
                          for k, e in atlas._project_entries(project).items())  # pylint: disable=protected-access
    return {
        'api_keys': {k: sorted(atlas.access_list(ORG, k)) for k in (KEY_ID, KEY2_ID)},
        'org_service_account': sorted(atlas.sa_access_list(SA_ID)),
        'project_service_account': sorted(atlas.sa_access_list(SA_ID, PROJECT)),
        'project': comments,
        'woodcore': {name: woodcore.key_state(name)['ip'] for name in (WC_NAME, 'payments-live')},
        'emails': len(woodcore.emails()),
    }


def writes_since(sims_and_marks):
    """The write requests (anything but GET/HEAD, and but the OAuth token request) each simulator received
    since its mark."""
    found = []
    for sim, mark in sims_and_marks:
        found.extend(e for e in sim.requests()[mark:] if e['method'] not in ('GET', 'HEAD') and e['path'] != TOKEN_PATH)
    return found


class Run(object):
    """One in-process module run: its result, or the exception that escaped ``main()``; and every log record
    emitted meanwhile (at DEBUG: the most a user's log_path could hold)."""

    def __init__(self):
        self.result = None
        self.crash = None
        self.log_lines = []

    @property
    def failed(self):
        return self.crash is not None or bool(self.result.get('failed'))

    def text(self):
        """Everything this run let out of the process, as one string."""
        parts = [json.dumps(self.result, sort_keys=True) if self.result is not None else '', self.crash or '']
        return '\n'.join(parts + self.log_lines)


class _Collect(logging.Handler):
    def __init__(self, lines):
        super(_Collect, self).__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter('%(name)s %(levelname)s| %(message)s'))
        self.lines = lines

    def emit(self, record):
        try:
            self.lines.append(self.format(record))
        except Exception:  # pylint: disable=broad-except  # a record that cannot be formatted is not written either
            pass


class _TimeWithoutSleep(object):
    """The ``time`` module as the collection's code sees it here: retries, backoffs, pauses between POST rounds and
    status polls take no wall-clock time (which waits they ask for is the client's own business)."""

    def __getattr__(self, name):
        return getattr(time, name)

    @staticmethod
    def sleep(_seconds):
        return None


# the module_utils that sleep (each through its own ``time`` global)
SLEEPERS = (http_client, atlas_utils, woodcore_utils, fleet_utils)


def run_module(main, args, check_mode=False):
    """``main()`` of a module, in-process, with diff on. Never raises: an exception that escapes ``main()``
    (which Ansible would print as a traceback) is kept as ``Run.crash``."""
    from ansible.module_utils.common import warnings
    from ansible.module_utils.testing import patch_module_args
    warnings._global_warnings.clear()  # pylint: disable=protected-access  # process-wide: one run's must not leak
    run = Run()
    root = logging.getLogger()
    handler, level = _Collect(run.log_lines), root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    out = io.StringIO()
    code = None
    try:
        with contextlib.ExitStack() as stack:
            for module in SLEEPERS:
                stack.enter_context(mock.patch.object(module, 'time', _TimeWithoutSleep()))
            stack.enter_context(patch_module_args(dict(args, _ansible_check_mode=check_mode, _ansible_diff=True)))
            stack.enter_context(contextlib.redirect_stdout(out))
            main()
    except SystemExit as exc:
        code = exc.code
    except Exception:  # pylint: disable=broad-except  # what the invariants are about
        run.crash = traceback.format_exc()
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    if run.crash is None:
        try:
            run.result = json.loads(out.getvalue())
        except ValueError:
            run.crash = 'main() printed no JSON result (exit code %r): %r' % (code, out.getvalue()[-2000:])
    return run


def atlas_args(atlas, kind, auth):
    """Connection and target options of an Atlas kind; ``auth``: 'digest' (API key) or 'oauth'."""
    args = dict(base_url=atlas.url)
    if auth == 'digest':
        args.update(public_key=PUBLIC, private_key=PRIVATE)
    else:
        args.update(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    if kind == 'api_key':
        args.update(org_id=ORG, api_key=KEY_ID)
    elif kind == 'org_service_account':
        args.update(org_id=ORG, service_account=SA_ID)
    elif kind == 'project_service_account':
        args.update(project_id=PROJECT, service_account=SA_ID)
    else:
        args.update(project_id=PROJECT)
    return args


def fleet_target(kind, purge):
    """fleet_converge's option and its one target of ``kind`` (an Atlas list; Woodcore keys are built apart)."""
    if kind == 'api_key':
        return 'atlas_keys', dict(name='main', org_id=ORG, api_key=KEY_ID, purge=purge)
    if kind == 'org_service_account':
        return 'atlas_service_accounts', dict(name='sa', org_id=ORG, service_account=SA_ID, purge=purge)
    if kind == 'project_service_account':
        return 'atlas_service_accounts', dict(name='sa', project_id=PROJECT, service_account=SA_ID, purge=purge)
    return 'atlas_projects', dict(name='prod', project_id=PROJECT, purge=purge)


def secrets_of(atlas, woodcore, given=()):
    """Every secret of the run so far: the seeds' markers, the OTPs emailed or given, the bearer tokens issued."""
    with atlas.lock:
        tokens = list(atlas.tokens)
    return set(SEED_SECRETS) | set(e['otp'] for e in woodcore.emails()) | set(given) | set(tokens)
