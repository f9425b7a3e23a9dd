# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Invariants (i), (ii), (iv) and (v) of issue 19 over every kind, by stateful property-based testing.

A :class:`Machine` drives the real modules in-process against one Atlas and one Woodcore simulator per run:
random converge ops on the four Atlas lists (API key, organization and project service account, project) and
the Woodcore key, by each kind's module or by fleet_converge (entries from a small pool, purge or not, present
or absent, check mode or not, Woodcore requests, approvals and removals), each maybe meeting one fault aimed at
a method and path. After each op it checks its invariant. Each test runs the machine with one invariant, so a
failure names the promise that broke (docs/invariants.md).
"""

from __future__ import annotations

import json
import shutil
import tempfile

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test

from ansible_collections.apiaccess.ipwhitelist.tests.invariants.harness import (
    ATLAS_AIMS, ATLAS_KINDS, FAULT_KINDS, KINDS, MAINS, POOL, WC_IPS, WC_NAME, WOODCORE_AIMS,
    WRONG_OTP, aim, atlas_args, fleet_target, new_simulators, run_module, secrets_of, service_state, writes_since,
)
from ansible_collections.apiaccess.ipwhitelist.tests.unit.conftest import (
    CLIENT_ID, CLIENT_SECRET, PRIVATE, PUBLIC, WC_KEY,
)


def faults(aims):
    """No fault, or one: what it does (FAULT_KINDS), where it is aimed, and how many times it fires (3 outlasts
    the retries of an op)."""
    return st.one_of(st.none(), st.sampled_from([
        dict(spec, what=label, at=at, times=times)
        for label, specs in FAULT_KINDS.items() for spec in specs for at in aims for times in (1, 3)]))


ENTRIES = st.lists(st.sampled_from(POOL), max_size=3, unique=True)
HOW = st.sampled_from(['module present', 'module absent', 'fleet'])
# the settings that stand for unknowns of the services (docs/simulators.md) which these ops meet
ATLAS_SETTINGS = st.fixed_dictionaries({
    'duplicate_post': st.sampled_from(['noop', 'conflict']), 'sa_host_render': st.sampled_from(['both', 'ip_only']),
    'project_post_existing': st.sampled_from(['update', 'ignore', 'conflict'])})
WOODCORE_SETTINGS = st.fixed_dictionaries({
    'pending_visible': st.booleans(), 'removal_requires_otp': st.booleans(),
    'second_post_while_pending': st.sampled_from(['replace', 'reject']),
    'otp_error_texts': st.sampled_from(['distinct', 'combined']),
    'otp_format': st.sampled_from(['alnum11', 'digits6'])})
# what a Woodcore op does, and by which (the fleet has no state=absent)
WOODCORE_OPS = [(what, via) for what in ('request', 'request again', 'approve', 'approve, OTP as a number',
                                         'approve, wrong OTP', 'remove', 'keep')
                for via in ('module', 'fleet') if (what, via) != ('remove', 'fleet')]


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

    @property
    def target(self):
        """The result of the op's one target: the module's result, or the fleet's one key."""
        if self.kind != 'fleet' or self.result is None:
            return self.result
        return (self.result.get('atlas') or self.result.get('woodcore') or [{}])[0]


def _where(obs):
    """The op and its result (or the exception that escaped), for a failure message."""
    what = json.dumps(obs.result, sort_keys=True)[:3000] if obs.result is not None else obs.run.crash
    return '%s op (check_mode=%s, fault=%s): %s' % (obs.kind, obs.check_mode, obs.fault, what)


# -- the invariants ------------------------------------------------------------------------------------------------

def changed_tells_the_truth(obs):
    """(i) Outside check mode ``changed`` is true exactly when the service's state changed (a list, a comment,
    a key's IP) or an OTP email went out. When the result lists ``outcome_unknown`` writes, ``changed`` must be
    true and the state may or may not have changed.

    Catches on a788d62 the non-JSON 200 of item 8, here not a crash but a false "OTP sent": an HTML page (a
    captive portal) answering the OTP request before it reached the gateway gave changed=true, otp_sent=true
    ("an OTP was emailed to the key owner"), and no email went out::

        state.converge_woodcore(check_mode=False, fault={'kind': 'status', 'status': 200,
            'content_type': 'text/html', 'body': '<html>...</html>', 'what': '200 with an HTML page',
            'at': 'write', 'times': 1}, op=('request', 'module'), request_otp=True, retries=0)

    It catches item 3 too (a removal whose verifying read failed said changed=false), replayed in
    :data:`FOUND_ON_A788D62`: ``op=('remove', 'module')`` with ``{'kind': 'status', 'status': 500, 'at':
    'reread', 'times': 1}``.
    """
    if obs.check_mode or obs.result is None:
        return  # check mode is (ii)'s; an escaped exception is (v)'s
    changed = obs.result.get('changed')
    assert isinstance(changed, bool), 'changed is %r: %s' % (changed, _where(obs))
    if obs.result.get('outcome_unknown') or obs.target.get('outcome_unknown'):
        assert changed, 'writes of unknown outcome, yet changed=false: %s' % _where(obs)
        return
    moved = obs.before != obs.after
    assert changed == moved, 'changed=%s, but the service state %s: before %s, after %s; %s' % (
        changed, 'changed' if moved else 'did not change', obs.before, obs.after, _where(obs))


def check_mode_writes_nothing_and_predicts(check, real):
    """(ii) Check mode sends no write (the simulators' logs: any method but GET, the OAuth token request
    aside), changes nothing, and predicts the real run from the same state: same ``changed``, and for an Atlas
    list the same ``added``/``removed``/``updated``, when both runs succeed; a run the real one refuses before
    any write, check mode refuses too, and only such a run.

    Catches on a788d62 item 11, Woodcore check mode mispredicting, in two shapes (hypothesis reported both).
    A request already pending: check mode said "would request an OTP for whitelisting 203.0.113.8", the real
    run "already awaits approval" and sent nothing::

        state.converge_woodcore(check_mode=False, fault=None, op=('request', 'module'), request_otp=True,
            retries=0)
        state.converge_woodcore(check_mode=True, fault=None, op=('request again', 'module'),
            request_otp=True, retries=0)

    And request_otp=false: check mode said "would request an OTP", the real run refused before any write::

        state.converge_woodcore(check_mode=True, fault=None, op=('request', 'module'), request_otp=False,
            retries=0)
    """
    assert not check.writes, 'check mode sent %s: %s' % (check.writes, _where(check))
    assert check.before == check.after, 'check mode changed %s into %s' % (check.before, check.after)
    if check.fault is not None or check.run.crash or real.run.crash:
        return  # the fault met the check run only; an escaped exception is (v)'s
    if check.run.failed or real.run.failed:
        # a refusal before any write is made in check mode too, and only then; a failure a write reveals (the
        # gateway refusing an OTP) check mode cannot foresee
        if not real.writes:
            assert check.run.failed == real.run.failed, 'check mode %s, the real run %s before any write: ' \
                'check %s; real %s' % ('failed' if check.run.failed else 'succeeded',
                                       'failed' if real.run.failed else 'succeeded', _where(check), _where(real))
        return
    predicted = dict((f, _sorted(check.target.get(f) or [])) for f in ('added', 'removed', 'updated'))
    done = dict((f, _sorted(real.target.get(f) or [])) for f in ('added', 'removed', 'updated'))
    changed = check.result['changed']
    if real.ignored_updates and done['updated'] != predicted['updated'] and set(done['updated']) < set(
            predicted['updated']):
        # project_post_existing ignore or conflict: Atlas acknowledges (or refuses) a comment update without
        # applying it, which only the write can tell; the prediction stands without those updates
        predicted['updated'] = done['updated']
        changed = bool(predicted['added'] or predicted['removed'] or predicted['updated'])
    assert changed == real.result['changed'], 'check mode predicted changed=%s, the real run was changed=%s: ' \
        'check %s; real %s' % (check.result['changed'], real.result['changed'], _where(check), _where(real))
    for field in ('added', 'removed', 'updated'):
        assert predicted[field] == done[field], 'check mode predicted %s=%s, the real run %s: check %s; real %s' % (
            field, check.target.get(field), real.target.get(field), _where(check), _where(real))


def no_secret_leaves(obs):
    """(iv) No secret (the seeds' private keys, client secrets and Woodcore keys; every bearer token issued;
    every OTP emailed or given) in the result (msg, warnings, diff, errors), nor in any log record emitted
    during the run (what a log_path file would get, at DEBUG).

    Catches on a788d62 item 9, the OTP in the HTTP library's log lines::

        state.converge_woodcore(check_mode=False, fault=None, op=('approve', 'module'), request_otp=True,
            retries=0)

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

        state.converge_woodcore(check_mode=False, fault={'kind': 'status_after', 'status': 200,
            'content_type': 'text/html', 'body': '<html>...</html>', 'what': '200 with an HTML page',
            'at': 'read', 'times': 1}, op=('request', 'module'), request_otp=True, retries=0)

    (``requests.exceptions.JSONDecodeError`` escaped the Woodcore module from its profile read; an earlier draw
    found the same from the API-key module's list read).
    """
    assert obs.run.crash is None, 'an exception escaped the module: %s\n%s op, fault %s, args %s' % (
        obs.run.crash[-3000:], obs.kind, obs.fault, obs.args)
    result = obs.result
    assert 'exception' not in result and 'Traceback' not in json.dumps(result), _where(obs)
    for one in (result, obs.target):
        if one.get('failed'):
            assert isinstance(one.get('msg'), str) and one['msg'].strip(), _where(obs)


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

    @rule(kind=st.sampled_from(ATLAS_KINDS), how=HOW, entries=ENTRIES, purge=st.booleans(),
          comment=st.sampled_from([None, 'ci']), wait=st.booleans(), check_mode=st.booleans(),
          retries=st.sampled_from([0, 2]), auth=st.sampled_from(['digest', 'oauth']), fault=faults(ATLAS_AIMS))
    def converge_atlas(self, kind, how, entries, purge, comment, wait, check_mode, retries, auth, fault):
        """One Atlas list of ``kind``: by its module (``entries`` present or absent) or by fleet_converge (the
        addresses in ``entries`` the fleet's hosts, the networks its extra entries). ``comment`` and ``wait`` are
        the project list's (the fleet's ``comment_prefix``)."""
        if how == 'fleet':
            option, target = fleet_target(kind, purge)
            if kind == 'project':
                target.update(wait=wait, wait_timeout=5, **({'comment_prefix': comment} if comment else {}))
            args = dict(self.fleet_args(retries, auth), **{option: [target]})
            args['fleet'] = dict(('host%d' % i, e) for i, e in enumerate(entries) if '/' not in e)
            args['extra_entries'] = [e for e in entries if '/' in e]
            return self.op('fleet', args, check_mode, fault, auth, aim_kind=kind)
        args = dict(atlas_args(self.atlas, kind, auth), entries=entries, purge=purge, state=how.split()[1],
                    allow_empty=True, retries=retries)
        if kind == 'project':
            args.update(wait=wait, wait_timeout=5, **({'comment': comment} if comment else {}))
        return self.op(kind, args, check_mode, fault, auth)

    @rule(op=st.sampled_from(WOODCORE_OPS), request_otp=st.sampled_from([True, False]), check_mode=st.booleans(),
          retries=st.sampled_from([0, 2]), fault=faults(WOODCORE_AIMS))
    def converge_woodcore(self, op, request_otp, check_mode, retries, fault):
        """The Woodcore key's one IP, ``op`` = (what, by which): request another IP, request again the one
        awaiting approval, approve it with the last OTP emailed (as text, as the number YAML makes of an all-digit
        one, or a wrong one), remove the current IP, or keep it; by the module, or by fleet_converge (the IP its
        one host's address; the fleet removes nothing)."""
        what, via = op
        key = self.woodcore.snapshot()['keys'][WC_NAME]
        emails = self.woodcore.emails(WC_NAME)
        pending = key['pending_ip'] or (emails[-1]['ip'] if emails else None)
        other = [a for a in WC_IPS if a not in (key['ip'], key['pending_ip'])][0]
        state = 'absent' if what == 'remove' or (what.startswith('approve') and key['pending_action'] == 'remove') \
            else 'present'
        address = {'request': other, 'remove': key['ip'], 'keep': key['ip']}.get(what, pending) or other
        otp = None
        if what.startswith('approve'):
            otp = emails[-1]['otp'] if emails and what != 'approve, wrong OTP' else WRONG_OTP
            self.given_otps.add(otp)
            if what == 'approve, OTP as a number' and otp.isdigit():
                otp = int(otp)
        if via == 'fleet':
            args = dict(self.fleet_args(retries), fleet={'host0': address}, woodcore_request_otp=request_otp,
                        woodcore_keys=[dict(name='payments', api_key=WC_KEY)])
            if otp is not None:
                args['woodcore_otps'] = {'payments': otp}
            return self.op('fleet', args, check_mode, fault, aim_kind='woodcore')
        args = dict(api_key=WC_KEY, base_url=self.woodcore.url + '/api/v2', ip=address, state=state,
                    request_otp=request_otp, retries=retries, pending_state_path=self.tmp + '/pending.json')
        if otp is not None:
            args['otp'] = otp
        return self.op('woodcore', args, check_mode, fault)

    def fleet_args(self, retries, auth='digest'):
        """fleet_converge's connection options; one target at a time (concurrency 1): no thread timing decides
        which request a fault meets."""
        args = dict(atlas_base_url=self.atlas.url, woodcore_base_url=self.woodcore.url + '/api/v2', retries=retries,
                    concurrency=1, woodcore_pending_state_path=self.tmp + '/pending.json')
        if auth == 'digest':
            args.update(atlas_public_key=PUBLIC, atlas_private_key=PRIVATE)
        else:
            args.update(atlas_client_id=CLIENT_ID, atlas_client_secret=CLIENT_SECRET)
        return args

    # -- one op, and its checks

    def op(self, kind, args, check_mode, fault, auth=None, aim_kind=None):
        assert kind in KINDS + ('fleet',)
        observed = self.observe(kind, args, check_mode, fault, auth, aim_kind or kind)
        if check_mode:  # then for real, from the same state, without the fault
            real = self.observe(kind, args, False, None)
            if self.CHECK == 'check_mode':
                check_mode_writes_nothing_and_predicts(observed, real)
            else:
                INVARIANTS[self.CHECK](real)
        if self.CHECK != 'check_mode':
            INVARIANTS[self.CHECK](observed)

    def observe(self, kind, args, check_mode, fault, auth=None, aim_kind=None):
        sims = (self.atlas, self.woodcore)
        before = service_state(*sims)
        marks = [(sim, len(sim.requests())) for sim in sims]
        if fault is not None:
            spec = dict((k, v) for k, v in fault.items() if k not in ('what', 'at'))
            spec['method'], spec['path'], spec['skip'] = aim(aim_kind, fault['at'], auth)
            for sim in sims:
                sim.add_fault(**spec)
        run = run_module(MAINS[kind], args, check_mode)
        for sim in sims:
            with sim.lock:
                sim.faults = []
        return Observation(kind, args, check_mode, fault, before, service_state(*sims), writes_since(marks), run,
                           secrets_of(self.atlas, self.woodcore, self.given_otps), ignored_updates=(
                               (kind == 'project' or 'atlas_projects' in args)
                               and self.atlas.settings['project_post_existing'] != 'update'))


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


# -- what the machines found on a788d62, replayed on every run ------------------------------------------------------

HTML_FAULT = dict(FAULT_KINDS['200 with an HTML page'][0], what='200 with an HTML page')
UNKNOWNS = dict(atlas={'duplicate_post': 'noop', 'sa_host_render': 'both', 'project_post_existing': 'update'},
                woodcore={'pending_visible': False, 'removal_requires_otp': False,
                          'second_post_while_pending': 'replace', 'otp_error_texts': 'distinct',
                          'otp_format': 'alnum11'})
# invariant -> the Woodcore ops of a sequence that failed it on a788d62 (shortened where hypothesis printed
# repeats of the first op); each passes on the fixed code
FOUND_ON_A788D62 = [
    ('changed', [dict(op=('request', 'module'), fault=dict(HTML_FAULT, at='write', times=1))]),
    ('changed', [dict(op=('remove', 'module'),
                      fault=dict(kind='status', status=500, what='5xx before acting', at='reread', times=1))]),
    ('check_mode', [dict(op=('request', 'module')), dict(op=('request again', 'module'), check_mode=True)]),
    ('check_mode', [dict(op=('request', 'module'), request_otp=False, check_mode=True)]),
    ('secrets', [dict(op=('approve', 'module'))]),
    ('traceback', [dict(op=('request', 'module'), fault=dict(HTML_FAULT, kind='status_after', at='read', times=1))]),
]


@pytest.mark.parametrize('check, steps', FOUND_ON_A788D62,
                         ids=['%s-%d' % (check, i) for i, (check, _steps) in enumerate(FOUND_ON_A788D62)])
def test_what_the_machines_found_on_a788d62_holds(check, steps):
    """The failing sequences of the docstrings above, run as they are: generation may drift (a new rule, a new
    hypothesis), these do not."""
    state = machine(check)()
    try:
        state.unknowns(**UNKNOWNS)
        for step in steps:
            state.converge_woodcore(**dict(dict(fault=None, request_otp=True, check_mode=False, retries=0), **step))
    finally:
        state.teardown()
