# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Invariants (i), (ii), (iv) and (v) of issue 19 over every kind, by stateful property-based testing.

A :class:`Machine` drives the real modules in-process against one Atlas and one Woodcore simulator per run:
random converge ops (entries from a small pool, purge or not, present or absent, check mode or not, for the
three Atlas lists, the project list and the Woodcore key), each maybe preceded by one fault aimed at a method
and path. After each op it checks its invariant. Each test runs the machine with one invariant, so a failure
names the promise that broke (docs/invariants.md).
"""

from __future__ import annotations

import json
import shutil
import tempfile

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test

from ansible_collections.apiaccess.ipwhitelist.tests.invariants.harness import (
    ATLAS_AIMS, FAULT_KINDS, KINDS, LIST_KINDS, MAINS, POOL, WC_IPS, WC_NAME, WOODCORE_AIMS, WRONG_OTP, aim,
    atlas_args, new_simulators, run_module, secrets_of, service_state, writes_since,
)
from ansible_collections.apiaccess.ipwhitelist.tests.unit.conftest import WC_KEY


def faults(aims):
    """No fault, or one: what it does (FAULT_KINDS), where it is aimed, and how many times it fires (3 outlasts
    the retries of an op)."""
    return st.one_of(st.none(), st.sampled_from([
        dict(spec, what=label, at=at, times=times)
        for label, specs in FAULT_KINDS.items() for spec in specs for at in aims for times in (1, 3)]))


ENTRIES = st.lists(st.sampled_from(POOL), max_size=3, unique=True)
PROJECT_ENTRIES = st.lists(st.one_of(st.sampled_from(POOL), st.sampled_from(
    [{'cidr': cidr, 'comment': comment} for cidr in POOL for comment in ('vpn', 'ci')])),
    max_size=3, unique_by=lambda e: e if isinstance(e, str) else e['cidr'])
# the settings that stand for unknowns of the services (docs/simulators.md) which these ops meet
ATLAS_SETTINGS = st.fixed_dictionaries({
    'duplicate_post': st.sampled_from(['noop', 'conflict']), 'sa_host_render': st.sampled_from(['both', 'ip_only']),
    'project_post_existing': st.sampled_from(['update', 'ignore', 'conflict'])})
WOODCORE_SETTINGS = st.fixed_dictionaries({
    'pending_visible': st.booleans(), 'removal_requires_otp': st.booleans(),
    'second_post_while_pending': st.sampled_from(['replace', 'reject']),
    'otp_error_texts': st.sampled_from(['distinct', 'combined'])})


class Observation(object):
    """One op as the invariants see it."""

    def __init__(self, kind, args, check_mode, fault, before, after, writes, run, secrets, ignored_updates=False):
        self.kind = kind
        self.args = args
        self.check_mode = check_mode
        self.fault = fault
        self.before = before
        self.after = after
        self.writes = writes
        self.run = run
        self.secrets = secrets
        self.ignored_updates = ignored_updates  # the server may acknowledge an update it does not apply

    @property
    def result(self):
        return self.run.result


def _where(obs):
    return '%s op (check_mode=%s, fault=%s): %s' % (obs.kind, obs.check_mode, obs.fault,
                                                   json.dumps(obs.result, sort_keys=True)[:3000] if obs.result
                                                   is not None else obs.run.crash)


# -- the invariants ------------------------------------------------------------------------------------------------

def changed_tells_the_truth(obs):
    """(i) Outside check mode ``changed`` is true exactly when the service's state changed (a list, a comment,
    a key's IP) or an OTP email went out. When the result lists ``outcome_unknown`` writes, ``changed`` must be
    true and the state may or may not have changed.

    Catches on a788d62 item 3, a Woodcore removal whose verifying read fails reported changed=false::

        state.converge_woodcore(check_mode=False, fault={'kind': 'status', 'status': 500,
            'what': '5xx before acting', 'at': 'reread', 'times': 1}, ip='current', otp=None,
            request_otp=False, retries=0, state='absent')

    (the key's IP was gone, the result said changed=false).
    """
    if obs.check_mode or obs.result is None:
        return  # check mode is (ii)'s; an escaped exception is (v)'s
    changed = obs.result.get('changed')
    assert isinstance(changed, bool), 'changed is %r: %s' % (changed, _where(obs))
    if obs.result.get('outcome_unknown'):
        assert changed, 'writes of unknown outcome, yet changed=false: %s' % _where(obs)
        return
    moved = obs.before != obs.after
    assert changed == moved, 'changed=%s, but the service state %s: before %s, after %s; %s' % (
        changed, 'changed' if moved else 'did not change', obs.before, obs.after, _where(obs))


def check_mode_writes_nothing_and_predicts(check, real):
    """(ii) Check mode sends no write (the simulators' logs: any method but GET, the OAuth token request
    aside), changes nothing, and predicts the real run from the same state: same ``changed``, and for an Atlas
    list the same ``added``/``removed``/``updated``, when both runs succeed.

    Catches on a788d62 item 11, Woodcore check mode mispredicts while a request is pending (here the pending
    removal item 4 requested despite request_otp=false), with removal_requires_otp=true::

        state.converge_woodcore(check_mode=False, fault=None, ip='current', otp=None, request_otp=False,
            retries=0, state='absent')
        state.converge_woodcore(check_mode=True, fault=None, ip='current', otp=None, request_otp=False,
            retries=0, state='absent')

    (check mode: "would request an OTP for removing 203.0.113.7", changed=true; the real run sent nothing).
    """
    assert not check.writes, 'check mode sent %s: %s' % (check.writes, _where(check))
    assert check.before == check.after, 'check mode changed %s into %s' % (check.before, check.after)
    if check.run.failed or real.run.failed:
        return  # a fault in the check run, or an OTP only the real run can find wrong: nothing to compare
    predicted = dict((f, _sorted(check.result.get(f) or [])) for f in ('added', 'removed', 'updated'))
    done = dict((f, _sorted(real.result.get(f) or [])) for f in ('added', 'removed', 'updated'))
    changed = check.result['changed']
    if real.ignored_updates and set(done['updated']) <= set(predicted['updated']):
        # project_post_existing ignore or conflict: Atlas acknowledges (or refuses) a comment update without
        # applying it, which only the write can tell; the prediction stands without those updates
        predicted['updated'] = done['updated']
        changed = bool(predicted['added'] or predicted['removed'] or predicted['updated'])
    assert changed == real.result['changed'], 'check mode predicted changed=%s, the real run was changed=%s: ' \
        'check %s; real %s' % (check.result['changed'], real.result['changed'], _where(check), _where(real))
    for field in ('added', 'removed', 'updated'):
        assert predicted[field] == done[field], 'check mode predicted %s=%s, the real run %s: check %s; real %s' % (
            field, check.result.get(field), real.result.get(field), _where(check), _where(real))


def no_secret_leaves(obs):
    """(iv) No secret (the seeds' private keys, client secrets and Woodcore keys; every bearer token issued;
    every OTP emailed or given) in the result (msg, warnings, diff, errors), nor in any log record emitted
    during the run (what a log_path file would get, at DEBUG).

    Catches on a788d62 item 9, the OTP in the HTTP library's log lines::

        state.converge_woodcore(check_mode=False, fault=None, ip='current', otp='emailed',
            request_otp=False, retries=0, state='absent')

    (nothing emailed yet, so the wrong OTP was given: urllib3 logged
    ``"POST /api/v2/gateway/apiKeys/ipwhitelist/approve/wrongotp0000 HTTP/1.1" 400``).
    """
    text = obs.run.text()
    leaked = sorted(s for s in obs.secrets if s in text)
    assert not leaked, 'secret(s) %s left the process: %s' % (leaked, '\n'.join(
        line for line in text.splitlines() if any(s in line for s in leaked))[:3000])


def no_traceback(obs):
    """(v) No traceback: ``main()`` never raises, and every failure is a structured result (``failed``, a
    ``msg``), without ``exception`` or a 'Traceback' anywhere.

    Catches on a788d62 item 8, a 200 answer that is not JSON::

        state.converge_list(auth='digest', check_mode=False, entries=[], fault={'kind': 'status_after',
            'status': 200, 'content_type': 'text/html', 'body': '<html>...</html>',
            'what': '200 with an HTML page', 'at': 'auth', 'times': 1}, kind='api_key', purge=False,
            retries=0, state='present')

    (``requests.exceptions.JSONDecodeError`` escaped the API-key module).
    """
    assert obs.run.crash is None, 'an exception escaped the module: %s\n%s op, fault %s, args %s' % (
        obs.run.crash[-3000:], obs.kind, obs.fault, obs.args)
    result = obs.result
    assert 'exception' not in result and 'Traceback' not in json.dumps(result), _where(obs)
    if result.get('failed'):
        assert isinstance(result.get('msg'), str) and result['msg'].strip(), _where(obs)


def _sorted(items):
    return sorted(json.dumps(i, sort_keys=True) for i in items)


INVARIANTS = {'changed': changed_tells_the_truth, 'check_mode': check_mode_writes_nothing_and_predicts,
              'secrets': no_secret_leaves, 'traceback': no_traceback}


# -- the machine ---------------------------------------------------------------------------------------------------

class Machine(RuleBasedStateMachine):
    """Random converge ops over every kind, each maybe after one fault aimed at one of its requests; ``CHECK``
    names the invariant checked after each op."""

    CHECK = None

    def __init__(self):
        super(Machine, self).__init__()
        self.atlas, self.woodcore = new_simulators()
        self.tmp = tempfile.mkdtemp(prefix='invariants-')
        self.given_otps = set()

    def teardown(self):
        self.atlas.stop()
        self.woodcore.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    @initialize(atlas=ATLAS_SETTINGS, woodcore=WOODCORE_SETTINGS)
    def unknowns(self, atlas, woodcore):
        """The services' unknowns, for this whole run."""
        self.atlas.update_settings(atlas)
        self.woodcore.update_settings(woodcore)

    @rule(kind=st.sampled_from(LIST_KINDS), entries=ENTRIES, purge=st.booleans(),
          state=st.sampled_from(['present', 'absent']), check_mode=st.booleans(), retries=st.sampled_from([0, 2]),
          auth=st.sampled_from(['digest', 'oauth']), fault=faults(ATLAS_AIMS))
    def converge_list(self, kind, entries, purge, state, check_mode, retries, auth, fault):
        """An API key's or a service account's (organization or project) list."""
        args = dict(atlas_args(self.atlas, kind, auth), entries=entries, purge=purge, state=state,
                    allow_empty=True, retries=retries)
        self.op(kind, args, check_mode, fault, auth)

    @rule(entries=PROJECT_ENTRIES, comment=st.sampled_from([None, 'ci']), purge=st.booleans(),
          state=st.sampled_from(['present', 'absent']), wait=st.booleans(), check_mode=st.booleans(),
          retries=st.sampled_from([0, 2]), auth=st.sampled_from(['digest', 'oauth']), fault=faults(ATLAS_AIMS))
    def converge_project(self, entries, comment, purge, state, wait, check_mode, retries, auth, fault):
        """A project's IP access list: entries with comments, and waiting for them to be ACTIVE."""
        args = dict(atlas_args(self.atlas, 'project', auth), entries=entries, purge=purge, state=state,
                    allow_empty=True, retries=retries, wait=wait, wait_timeout=5)
        if comment is not None:
            args['comment'] = comment
        self.op('project', args, check_mode, fault, auth)

    @rule(ip=st.sampled_from(['current', 'pending', 'new']), state=st.sampled_from(['present', 'absent']),
          otp=st.sampled_from([None, 'emailed', 'wrong']), request_otp=st.booleans(), check_mode=st.booleans(),
          retries=st.sampled_from([0, 2]), fault=faults(WOODCORE_AIMS))
    def converge_woodcore(self, ip, state, otp, request_otp, check_mode, retries, fault):
        """The Woodcore key's one IP: ``ip`` the key's current one, the one a request awaits approval for, or
        another; ``otp`` the last one emailed, a wrong one, or none."""
        key = self.woodcore.key_state(WC_NAME)
        emails = self.woodcore.emails(WC_NAME)
        address = {'current': key['ip'], 'pending': key['pending_ip'] or (emails[-1]['ip'] if emails else None)}.get(ip)
        if address is None:
            address = [a for a in WC_IPS if a not in (key['ip'], key['pending_ip'])][0]
        args = dict(api_key=WC_KEY, base_url=self.woodcore.url + '/api/v2', ip=address, state=state,
                    request_otp=request_otp, retries=retries, pending_state_path=self.tmp + '/pending.json')
        if otp is not None:
            args['otp'] = emails[-1]['otp'] if otp == 'emailed' and emails else WRONG_OTP
            self.given_otps.add(args['otp'])
        self.op('woodcore', args, check_mode, fault)

    # -- one op, and its checks

    def op(self, kind, args, check_mode, fault, auth=None):
        assert kind in KINDS
        observed = self.observe(kind, args, check_mode, fault, auth)
        if check_mode:  # then for real, from the same state, without the fault
            real = self.observe(kind, args, False, None)
            if self.CHECK == 'check_mode':
                check_mode_writes_nothing_and_predicts(observed, real)
            else:
                INVARIANTS[self.CHECK](real)
        if self.CHECK != 'check_mode':
            INVARIANTS[self.CHECK](observed)

    def observe(self, kind, args, check_mode, fault, auth=None):
        sims = (self.atlas, self.woodcore)
        before = service_state(*sims)
        marks = [(sim, len(sim.requests())) for sim in sims]
        if fault is not None:
            spec = dict((k, v) for k, v in fault.items() if k not in ('what', 'at'))
            spec['method'], spec['path'], spec['skip'] = aim(kind, fault['at'], auth)
            for sim in sims:
                sim.add_fault(**spec)
        run = run_module(MAINS[kind], args, check_mode)
        for sim in sims:
            with sim.lock:
                sim.faults = []
        return Observation(kind, args, check_mode, fault, before, service_state(*sims), writes_since(marks), run,
                           secrets_of(self.atlas, self.woodcore, self.given_otps), ignored_updates=(
                               kind == 'project' and self.atlas.settings['project_post_existing'] != 'update'))


def machine(check):
    return type('%sMachine' % check.title().replace('_', ''), (Machine,), {'CHECK': check})


# -- the tests: one invariant each ---------------------------------------------------------------------------------

def test_i_changed_is_true_exactly_when_the_service_changed(machine_settings):
    """(i), see :func:`changed_tells_the_truth`."""
    run_state_machine_as_test(machine('changed'), settings=machine_settings)


def test_ii_check_mode_writes_nothing_and_predicts_the_real_run(machine_settings):
    """(ii), see :func:`check_mode_writes_nothing_and_predicts`."""
    run_state_machine_as_test(machine('check_mode'), settings=machine_settings)


def test_iv_no_secret_in_results_warnings_diffs_or_logs(machine_settings):
    """(iv) in-process, see :func:`no_secret_leaves`; test_invariants_playbooks.py has the -vvvv log_path runs."""
    run_state_machine_as_test(machine('secrets'), settings=machine_settings)


def test_v_every_failure_is_structured_never_a_traceback(machine_settings):
    """(v), see :func:`no_traceback`."""
    run_state_machine_as_test(machine('traceback'), settings=machine_settings)
