# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The access audit's rules (module_utils.audit), without a server: each threshold on both sides of its edge;
and the read-only client it reads with, against the simulator."""

from __future__ import annotations

import argparse
import html.parser
import importlib.util
import json
import os
import re
import stat
import time
from pathlib import Path

import markdown_it
import pytest

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import addresses, atlas, audit, fleet, org_policy
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.common import PlanError
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.http_client import (
    ApiClient, ApiError, Write, digest_auth,
)
from ansible_collections.apiaccess.ipwhitelist.plugins.plugin_utils.access_report import render_html
from ansible_collections.apiaccess.ipwhitelist.tests.simulators.atlas import AtlasSimulator
from ansible_collections.apiaccess.ipwhitelist.tests.unit.conftest import KEY_ID, ORG, PRIVATE, PUBLIC

NOW = 1_800_000_000.0
DAY = 86400


def iso(days_ago):
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(NOW - days_ago * DAY))


def plan(**args):
    base = dict(atlas_base_url='https://cloud.mongodb.com', atlas_public_key=PUBLIC, atlas_private_key=PRIVATE)
    base.update(args)
    validation = ArgumentSpecValidator(audit.argument_spec()).validate(base)
    assert not validation.error_messages, validation.error_messages
    return audit.Plan(validation.validated_parameters, NOW)


def key(name='k1', entries=(), managed=False, spec=None, kind='api_key'):
    target = audit.Target(kind, name, '6a00000000000000000000%02d' % len(name), org_id=ORG, managed=managed,
                          spec=spec or {'entries': [], 'keep': []})
    target.entries = [atlas.Entry(raw, atlas.KINDS[kind]) for raw in entries]
    return target


def managed(entries=(), kind='api_key', **args):
    """(plan, target): a target the role manages, planned as the role plans it (its spec: args['spec'])."""
    spec = dict(org_id=ORG, api_key=KEY_ID, name='k1', **args.pop('spec', {}))
    audit_plan = plan(atlas_keys=[spec], **args)
    target = audit_plan.targets[0]
    target.entries = [atlas.Entry(raw, atlas.KINDS[kind]) for raw in entries]
    return audit_plan, target


def entry(address, created=1, last_used=None):
    raw = {'cidrBlock': address if '/' in address else address + '/32', 'created': iso(created)}
    if last_used is not None:
        raw['lastUsed'] = iso(last_used)
    return raw


def codes(findings):
    return [(f['code'], f['entry']) for f in findings]


def test_wide_entry_is_beyond_the_threshold_and_any_address_is_open_to_the_internet():
    assessor = audit.Assessor(plan())
    target = key(entries=[entry('10.0.0.0/8'), entry('203.0.0.0/16'), entry('198.18.0.0/15'), entry('0.0.0.0/0'),
                          entry('2001:db8::/48'), entry('2001:db8::/47'), entry('::/0')])
    found = codes(assessor.list_findings(target, policy=True))
    assert ('wide-entry', '198.18.0.0/15') in found and ('wide-entry', '10.0.0.0/8') in found
    assert ('wide-entry', '2001:db8::/47') in found
    assert not [f for f in found if f[1] in ('203.0.0.0/16', '2001:db8::/48')]
    assert ('open-to-internet', '0.0.0.0/0') in found and ('open-to-internet', '::/0') in found
    assert ('wide-entry', '0.0.0.0/0') not in found  # one finding, the worse one


def test_max_prefix_moves_the_threshold():
    assessor = audit.Assessor(plan(max_prefix={'ipv4': 24}))
    assert assessor.max_prefix == {'ipv4': 24, 'ipv6': 48}
    assert codes(assessor.list_findings(key(entries=[entry('203.0.113.0/25'), entry('203.0.112.0/23')]), True)) == [
        ('wide-entry', '203.0.112.0/23')]
    with pytest.raises(PlanError, match='max_prefix.ipv4 must be 0 to 32'):
        plan(max_prefix={'ipv4': 33})


@pytest.mark.parametrize('policy, found, note', [
    (False, True, False), (None, True, False), (True, False, True)])
def test_an_empty_api_key_list_is_open_unless_the_org_requires_lists(policy, found, note):
    target = key(entries=[])
    findings = audit.Assessor(plan()).list_findings(target, policy)
    assert [f['code'] for f in findings] == (['open-to-internet'] if found else [])
    if policy is None:
        assert 'could not be read' in findings[0]['message']
    assert bool(target.notes) == note


@pytest.mark.parametrize('policy', [False, None, True])
def test_an_empty_service_account_list_is_always_reported(policy):
    """Whether the requirement binds service accounts is not documented: the audit does not assume it does."""
    target = key(entries=[], kind='org_service_account')
    findings = audit.Assessor(plan()).list_findings(target, policy)
    assert [f['code'] for f in findings] == ['open-to-internet']
    assert 'not documented' in findings[0]['message']


def test_stale_entries_and_unused_credentials_on_both_sides_of_stale_days():
    assessor = audit.Assessor(plan())
    used = key('used', entries=[entry('203.0.113.1', created=400, last_used=91),
                                entry('203.0.113.2', created=400, last_used=89),
                                entry('203.0.113.3', created=91), entry('203.0.113.4', created=89)])
    assert codes(assessor.list_findings(used, True)) == [('stale-entry', '203.0.113.1/32'),
                                                         ('stale-entry', '203.0.113.3/32')]
    idle = key('idle', entries=[entry('203.0.113.1', created=400, last_used=91), entry('203.0.113.3', created=91)])
    found = codes(assessor.list_findings(idle, True))
    assert ('unused-credential', None) in found
    unused = [f for f in assessor.list_findings(idle, True) if f['code'] == 'unused-credential'][0]
    assert 'last use %s' % iso(91) in unused['message']
    assert audit.Assessor(plan(stale_days=120)).list_findings(idle, True) == []


def test_private_entries_only_on_atlas_cloud_and_only_on_api_access_lists():
    target = key(entries=[entry('10.1.2.3'), entry('127.0.0.1'), entry('169.254.0.1'), entry('203.0.113.9')])
    found = codes(audit.Assessor(plan()).list_findings(target, True))
    assert [e for c, e in found if c == 'private-entry'] == ['10.1.2.3/32', '127.0.0.1/32', '169.254.0.1/32']
    assert audit.Assessor(plan(atlas_base_url='https://opsmanager.example.com')).list_findings(target, True) == []
    assert codes(audit.Assessor(plan(atlas_base_url='https://om.example.com', atlas_cloud=True))
                 .list_findings(target, True))
    # a project list: private addresses are normal with VPC peering
    project = audit.Target('project', 'prod', '6b0000000000000000000001', managed=False)
    project.entries = [atlas.Entry({'cidrBlock': '10.1.0.0/16'}, atlas.KINDS['project'])]
    assert audit.Assessor(plan()).list_findings(project, None) == []


@pytest.mark.parametrize('hours, found', [(23, True), (25, False), (-1, False)])
def test_expiring_project_entries_within_a_day(hours, found):
    project = audit.Target('project', 'prod', '6b0000000000000000000001')
    expiry = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(NOW + hours * 3600))
    project.entries = [atlas.Entry({'cidrBlock': '203.0.113.5/32', 'deleteAfterDate': expiry},
                                   atlas.KINDS['project'])]
    assert bool(audit.Assessor(plan()).list_findings(project, None)) == found


def test_missing_and_unknown_entries_need_a_fleet_and_a_managed_target():
    fleet = {'web1': '203.0.113.10', 'web2': '203.0.113.11', 'web3': '203.0.113.12'}
    spec = {'entries': ['198.51.100.0/24'], 'keep': ['192.0.2.0/24']}
    audit_plan, target = managed([
        entry('203.0.113.10'), entry('198.51.100.7'), entry('192.0.2.5'), entry('192.0.2.200/32'),
        entry('100.64.0.9'), entry('203.0.113.99')], spec=spec, fleet=fleet, atlas_cloud=False)
    assessor = audit.Assessor(audit_plan, caller=atlas._server_network('100.64.0.9'))
    found = codes(assessor.list_findings(target, True))
    # .11, .12 and the target's own /24 (198.51.100.7 is in it, not the whole block) are missing
    assert [e for c, e in found if c == 'missing-entry'] == ['198.51.100.0/24', '203.0.113.11/32', '203.0.113.12/32']
    # 192.0.2.x is kept, 100.64.0.9 is this controller's address: only 203.0.113.99 is unknown
    assert [e for c, e in found if c == 'unknown-entry'] == ['203.0.113.99/32']
    missing = [f for f in assessor.list_findings(target, True) if f['entry'] == '203.0.113.11/32'][0]
    assert '(host web2)' in missing['message']
    target.managed = False
    assert not [c for c, e in codes(assessor.list_findings(target, True)) if c in ('missing-entry', 'unknown-entry')]
    no_fleet, target = managed([entry('203.0.113.99')], spec=spec, atlas_cloud=False)
    assert audit.Assessor(no_fleet).list_findings(target, True) == []


def test_a_merged_fleet_is_compared_as_the_role_merges_it():
    fleet = dict(('web%d' % i, '203.0.113.%d' % i) for i in range(4))  # .0-.3: one /30 merged
    merged_plan, merged = managed([entry('203.0.113.0/30')], fleet=fleet, merge=True, atlas_cloud=False)
    assert audit.Assessor(merged_plan).list_findings(merged, True) == []
    unmerged_plan, merged = managed([entry('203.0.113.0/30')], fleet=fleet, atlas_cloud=False)
    found = codes(audit.Assessor(unmerged_plan).list_findings(merged, True))
    # not merged, the role wants each host: the /30 holds them, so nothing is missing, but it is no fleet entry
    assert found == [('unknown-entry', '203.0.113.0/30')]
    view = audit._entry_view(merged, merged.entries[0], audit.Assessor(unmerged_plan), {})
    assert view['hosts'] == ['web0', 'web1', 'web2', 'web3']


def woodcore_target(ip, pending=None, wanted=None):
    target = audit.Target('woodcore_key', 'payments', 'f1f1f1f1f1f1f1f1', managed=True,
                          spec={'name': 'payments', 'ip': wanted})
    target.entries = [ip] if ip else []
    target.pending = pending
    return target


@pytest.mark.parametrize('hours, found', [(25, True), (23, False)])
def test_a_woodcore_request_waiting_more_than_a_day(hours, found):
    pending = {'action': 'whitelist', 'ip': '198.51.100.254', 'source': 'the local record',
               'requested_at': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(NOW - hours * 3600))}
    findings = audit.Assessor(plan()).woodcore_findings(woodcore_target('192.0.2.200', pending))
    assert [f['code'] for f in findings] == (['woodcore-pending'] if found else [])


def test_a_woodcore_key_lacking_the_role_s_ip():
    with_fleet = audit.Assessor(plan(fleet={'nat': '198.51.100.254'}))
    assert [f['entry'] for f in with_fleet.woodcore_findings(woodcore_target('192.0.2.200'))] == ['198.51.100.254']
    assert with_fleet.woodcore_findings(woodcore_target('198.51.100.254')) == []
    assert audit.Assessor(plan()).woodcore_findings(woodcore_target('192.0.2.200', wanted='198.51.100.9')) == []
    two = audit.Assessor(plan(fleet={'a': '203.0.113.1', 'b': '203.0.113.2'}))
    assert two.woodcore_findings(woodcore_target('192.0.2.200')) == []  # no one IP to want: the role refuses


def test_findings_sort_by_severity_then_target_then_entry():
    findings = [
        dict(severity='low', code='private-entry', target=dict(kind='api_key', name='a'), entry='10.0.0.1/32'),
        dict(severity='critical', code='open-to-internet', target=dict(kind='project', name='p'), entry='0.0.0.0/0'),
        dict(severity='high', code='wide-entry', target=dict(kind='api_key', name='b'), entry='10.0.0.0/8'),
        dict(severity='high', code='org-policy-off', target=dict(kind='organization', name='o'), entry=None),
        dict(severity='high', code='wide-entry', target=dict(kind='api_key', name='a'), entry='11.0.0.0/8'),
        dict(severity='high', code='wide-entry', target=dict(kind='api_key', name='a'), entry='9.0.0.0/8'),
    ]
    ordered = [(f['severity'], f['target']['name'], f['entry']) for f in audit.sort_findings(findings)]
    assert ordered == [('critical', 'p', '0.0.0.0/0'), ('high', 'o', None), ('high', 'a', '9.0.0.0/8'),
                       ('high', 'a', '11.0.0.0/8'), ('high', 'b', '10.0.0.0/8'), ('low', 'a', '10.0.0.1/32')]


@pytest.mark.parametrize('fail_on, count', [('critical', 1), ('high', 2), ('medium', 2), ('low', 3), ('never', 0)])
def test_fail_on(fail_on, count):
    report = {'findings': [dict(severity=s) for s in ('critical', 'high', 'low', 'info')]}
    assert len(audit.failing(report, fail_on)) == count


def test_the_markdown_escapes_table_cells():
    report = dict(generated_at='2026-01-01T00:00:00Z', generator='g', summary=dict((s, 0) for s in audit.SEVERITIES),
                  findings=[dict(severity='high', code='wide-entry', entry='10.0.0.0/8', message='a | b\nc', fix='f',
                                 target=dict(kind='api_key', name='k|1', id='x'))],
                  targets=[], unreadable=[], warnings=[], read=1)
    text = audit.markdown(report)
    assert '| high | `wide-entry` | API key k\\|1 (x) | 10.0.0.0/8 | a \\| b c | f |' in text


HOSTILE = ('k|1 <img src=x onerror=alert(1)> ![beacon](https://evil.example/b.png) [click](javascript:alert(1)) '
           '<script>alert(2)</script> **bold** `code` www.evil.example <https://evil.example/auto>')


def hostile_report():
    """A report whose every string from the API is hostile: a key's name and description, a project's comment."""
    audit_plan = plan()
    hostile_key = audit.Target('api_key', HOSTILE, '6a0000000000000000000009', org_id=ORG)
    hostile_key.description = HOSTILE
    hostile_key.entries = [atlas.Entry(entry('10.1.2.3'), atlas.KINDS['api_key'])]
    project = audit.Target('project', HOSTILE, '6b0000000000000000000001')
    project.entries = [atlas.Entry({'cidrBlock': '0.0.0.0/0', 'comment': HOSTILE}, atlas.KINDS['project'])]
    unreadable = audit.Target('api_key', 'gone', 'gone')
    unreadable.status, unreadable.error = 'unreadable', HOSTILE
    findings, assessor = audit.assess(audit_plan, [], [hostile_key, project, unreadable], [])
    return audit.build_report(audit_plan, [], [hostile_key, project, unreadable], [], findings, assessor,
                              warnings=[HOSTILE])


class Tags(html.parser.HTMLParser):
    def __init__(self):
        super(Tags, self).__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def tags(text):
    parser = Tags()
    parser.feed(text)
    return parser.tags


def test_a_hostile_name_makes_no_tag_link_or_image_in_either_report():
    report = hostile_report()
    assert HOSTILE in json.dumps(report['findings'])  # the JSON keeps the text as it is (a machine escapes it)
    text = audit.markdown(report)
    assert text.count('beacon') >= 3
    for raw in ('<img', '<script', '](', '![', '<https', 'https://', 'www.evil', '**bold**', '`code`'):
        assert not re.search(r'(?<!\\)' + re.escape(raw), text), raw  # only escaped, if at all
    md = markdown_it.MarkdownIt('commonmark', {'html': True}).enable('table')
    rendered = tags(md.render(text))
    allowed = {'h1', 'h2', 'p', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'code', 'ul', 'li'}
    assert rendered and set(tag for tag, _attrs in rendered) <= allowed
    page = render_html(report)
    assert 'beacon' in page
    found = tags(page)
    assert not [t for t, _a in found if t in ('img', 'script', 'iframe', 'object', 'embed')]
    assert not [a for _t, a in found if any(k.startswith('on') for k in a)]
    assert not [a['href'] for t, a in found if t == 'a' and not a['href'].startswith('#')]


def test_audit_all_needs_organizations_and_bad_input_is_refused_before_any_request():
    with pytest.raises(PlanError, match='audit_all needs the organizations'):
        plan(audit_all=True)
    assert plan(audit_all=True, atlas_keys=[{'org_id': ORG, 'api_key': KEY_ID}]).listed_orgs == {ORG}
    with pytest.raises(PlanError, match=r'Atlas key k1: org_id .* is not an organization ID'):
        plan(atlas_keys=[{'name': 'k1', 'org_id': 'nope', 'api_key': KEY_ID}])
    with pytest.raises(PlanError, match='org_ids'):
        plan(org_ids=['nope'])
    with pytest.raises(PlanError, match='host web9'):
        plan(fleet={'web9': 'not-an-ip'})
    with pytest.raises(PlanError, match='stale_days'):
        plan(stale_days=0)


def test_the_read_only_client_refuses_every_write_before_sending_it(atlas):
    client = ApiClient(atlas.url, auth=digest_auth(PUBLIC, PRIVATE), read_only=True, sleep=lambda s: None,
                       headers={'Accept': 'application/vnd.atlas.2023-01-01+json'})
    path = '/api/atlas/v2/orgs/%s/apiKeys/%s/accessList' % (ORG, KEY_ID)
    assert client.request('GET', path).status_code == 200
    for method in ('POST', 'DELETE', 'PATCH', 'PUT'):
        with pytest.raises(ApiError, match='refused, this client only reads'):
            client.request(method, path, json=[{'ipAddress': '203.0.113.1'}],
                           write=Write(path, 'add', ['203.0.113.1/32']))
    with pytest.raises(ApiError, match='only reads'):
        client.request('POST', path)  # even one that forgot to name its write
    assert [e['method'] for e in atlas.log] == ['GET', 'GET']  # the challenge, then the read
    assert client.journal.records() == [] and atlas.access_list(ORG, KEY_ID) == ['192.0.2.10/32', '10.1.0.0/24']


def test_audit_all_reads_a_managed_list_once_however_the_role_names_it():
    project, other_project = '6b0000000000000000000001', '6b0000000000000000000002'
    client_id = 'mdb_sa_id_5a0000000000000000000001'
    managed = plan(audit_all=True, org_ids=[ORG], atlas_keys=[{'org_id': ORG, 'api_key': PUBLIC}],
                   atlas_service_accounts=[{'org_id': ORG, 'service_account': 'ci-runner'}],
                   atlas_projects=[{'project_id': project}])
    org = audit.Target('organization', ORG, ORG, org_id=ORG)
    org.keys = [{'id': KEY_ID, 'publicKey': PUBLIC}, {'id': '6a0000000000000000000002', 'publicKey': 'zyxwvuts'}]
    org.service_accounts = [{'clientId': client_id, 'name': 'ci-runner'}]
    found = audit.Reader(managed).discover([org], managed.targets, [
        {'id': project, 'name': 'prod', 'orgId': ORG}, {'id': other_project, 'name': 'x', 'orgId': '5f' + '0' * 22}])
    assert [(t.kind, t.id, t.managed) for t in found] == [('api_key', '6a0000000000000000000002', False)]
    assert [(t.kind, t.id, t.resolved) for t in managed.targets] == [
        ('api_key', KEY_ID, True), ('org_service_account', client_id, True), ('project', project, True)]


def test_the_audit_reads_at_the_floor(tmp_path, monkeypatch):
    """bench/audit.py's organization, smaller (two pages of keys): every listing page and every list read once,
    nothing else but one digest challenge for every worker, and nothing written."""
    bench = Path(__file__).resolve().parents[4] / 'bench'
    monkeypatch.syspath_prepend(str(bench))  # its own imports (bench_common, fleet_rollout, wan)
    spec = importlib.util.spec_from_file_location('bench_audit', str(bench / 'audit.py'))
    bench_audit = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench_audit)
    with AtlasSimulator(seed=bench_audit.seed(600, 20, 5), rate_limit_capacity=0) as sim:
        args = dict(atlas_base_url=sim.url, atlas_public_key=bench_audit.PUBLIC, atlas_private_key=bench_audit.PRIVATE,
                    audit_all=True, org_ids=[bench_audit.ORG], report_dir=str(tmp_path))
        result = audit.run(ArgumentSpecValidator(audit.argument_spec()).validate(args).validated_parameters,
                           render_html)
    reads = [e for e in sim.log if e['status'] != 401]
    floor = bench_audit.floor_requests(argparse.Namespace(keys=600, service_accounts=20, projects=5))
    # the settings, 2 pages of 601 keys, the accounts, the projects, then every list
    assert len(reads) == result['requests'] == floor == 1 + 2 + 1 + 1 + 601 + 20 + 5
    assert set(e['method'] for e in sim.log) == {'GET'}
    assert len(sim.log) - len(reads) == 1


# -- the review of issue 20's audit ------------------------------------------------------------------------------

def unreadable_report(targets, fail_on='high', **args):
    audit_plan = plan(**args)
    findings, assessor = audit.assess(audit_plan, [], targets, [])
    return audit.build_report(audit_plan, [], targets, [], findings, assessor)


def test_an_unreadable_target_is_a_finding_that_reaches_the_gate():
    gone = audit.Target('api_key', 'gone', 'gone', org_id=ORG)
    gone.status, gone.error = 'unreadable', 'GET ...: HTTP 401 Unauthorized'
    fine = key('fine', entries=[entry('203.0.113.1', created=1, last_used=1)])
    report = unreadable_report([gone, fine])
    assert [(f['code'], f['severity'], f['target']['name']) for f in report['findings']] == [
        ('unreadable-target', 'high', 'gone')]
    assert 'HTTP 401' in report['findings'][0]['message']
    assert len(audit.failing(report, 'high')) == 1 and audit.failing(report, 'critical') == []
    assert report['read'] == 1 and report['unreadable'][0]['name'] == 'gone'


def test_a_wrong_key_reads_nothing_and_fails_whatever_fail_on_says(atlas, tmp_path):
    """A revoked or mistyped audit credential: every target unreadable, the report written, the run failed even
    with fail_on=never."""
    for fail_on in ('never', 'high'):
        args = dict(atlas_base_url=atlas.url, atlas_public_key=PUBLIC, atlas_private_key='wrong-private-key',
                    org_ids=[ORG], atlas_keys=[{'org_id': ORG, 'api_key': KEY_ID}], fail_on=fail_on,
                    report_dir=str(tmp_path / fail_on))
        result = audit.run(ArgumentSpecValidator(audit.argument_spec()).validate(args).validated_parameters,
                           render_html, clock=lambda: NOW)
        assert result['failed'] and result['nothing_read'], result['msg']
        assert 'the audit read nothing' in result['msg'] and 'wrong-private-key' not in json.dumps(result)
        report = json.loads((tmp_path / fail_on / 'access-report.json').read_text())
        assert report['read'] == 0 and len(report['unreadable']) == 2
        assert set(f['code'] for f in report['findings']) == {'unreadable-target'}
        assert result['findings_at_fail_on'] == (0 if fail_on == 'never' else 2)


def test_a_failed_project_listing_under_audit_all_is_unreadable():
    class Failing(object):
        def list_projects(self):
            raise ApiError('GET /api/atlas/v2/groups: HTTP 403 FORBIDDEN')
    reader = audit.Reader(plan(audit_all=True, org_ids=[ORG]))
    reader._api = Failing()  # pylint: disable=protected-access
    reader._api.client = None  # pylint: disable=protected-access,attribute-defined-outside-init
    assert reader.list_projects() is None
    listing = reader.listings[0]
    assert (listing.kind, listing.status) == ('listing', 'unreadable') and 'HTTP 403' in listing.error
    finding = audit.unreadable_finding(listing)
    assert finding['code'] == 'unreadable-target' and 'could not be listed' in finding['message']


@pytest.mark.parametrize('seconds, days', [(-0.4, 0), (-86400 * 3, 0), (0, 0), (86399.9, 0), (86400, 1)])
def test_days_never_go_negative(seconds, days):
    """The auditor's own key is used during the audit, after plan.now was read: lastUsed (whole seconds) may be
    later than now."""
    assert audit._days(seconds) == days  # pylint: disable=protected-access


def test_an_entry_used_after_the_audit_began_was_unused_for_0_days():
    target = key(entries=[{'cidrBlock': '198.51.100.7/32', 'created': iso(10), 'lastUsed': iso(-1 / DAY)}])
    view = audit._entry_view(target, target.entries[0], audit.Assessor(plan()), {})  # pylint: disable=W0212
    assert view['days_unused'] == 0 and view['age_days'] == 10


def test_reports_are_private_atomic_and_never_follow_a_symlink(tmp_path):
    report = hostile_report()
    directory = tmp_path / 'new' / 'report'
    paths = audit.write_reports(report, str(directory), render_html)
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    for path in paths.values():
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert sorted(os.listdir(str(directory))) == sorted(audit.REPORT_FILES)  # no temporary file left
    # a symlink planted where a report goes is replaced, never written through
    victim = tmp_path / 'victim'
    victim.write_text('keep me')
    os.unlink(paths['html'])
    os.symlink(str(victim), paths['html'])
    audit.write_reports(report, str(directory), render_html)
    assert victim.read_text() == 'keep me' and not os.path.islink(paths['html'])
    # a report directory that is a symlink, or writable by everyone, is refused
    link = tmp_path / 'link'
    os.symlink(str(directory), str(link))
    with pytest.raises(OSError, match='symbolic link'):
        audit.write_reports(report, str(link), render_html)
    shared = tmp_path / 'shared'
    shared.mkdir()
    os.chmod(str(shared), 0o1777)
    with pytest.raises(OSError, match='writable by every user'):
        audit.write_reports(report, str(shared), render_html)
    assert os.listdir(str(shared)) == []


def test_a_typo_in_a_target_is_refused_as_the_role_refuses_it():
    for option, spec in (('atlas_keys', {'org_id': ORG, 'apikey': KEY_ID}),
                         ('atlas_service_accounts', {'org_id': ORG, 'service_account': 'x', 'entires': []}),
                         ('atlas_projects', {'project_id': '6b0000000000000000000001', 'purge': 'maybe'})):
        args = dict(atlas_public_key=PUBLIC, atlas_private_key=PRIVATE)
        args[option] = [spec]
        audit_errors = ArgumentSpecValidator(audit.argument_spec()).validate(args).error_messages
        fleet_errors = ArgumentSpecValidator(fleet.argument_spec()).validate(dict(args, fleet={})).error_messages
        assert audit_errors and audit_errors == fleet_errors, option


def test_the_wanted_entries_are_the_role_s_current_ip_and_allow_any_included():
    fleet_map = {'web1': '203.0.113.10'}
    caller = atlas._server_network('198.51.100.7')  # pylint: disable=protected-access
    audit_plan, target = managed([entry('203.0.113.10')], spec={'current_ip': True}, fleet=fleet_map,
                                 atlas_cloud=False)
    found = codes(audit.Assessor(audit_plan, caller=caller).list_findings(target, True))
    assert found == [('missing-entry', '198.51.100.7/32')]  # current_ip: the role adds the caller's address
    # an entry the role refuses without allow_any is refused by the audit too
    with pytest.raises(PlanError, match='covers too much of the internet'):
        managed(spec={'entries': ['8.0.0.0/6']}, fleet=fleet_map)
    assert managed(spec={'entries': ['8.0.0.0/6']}, fleet=fleet_map, allow_any=True)[1].desired.entries


def test_woodcore_keys_are_planned_as_the_role_plans_them(monkeypatch):
    monkeypatch.delenv('WOODCORE_API_KEY', raising=False)
    wc_key = 'wc_test_audit0payments0key00000001'
    with pytest.raises(PlanError, match='same API key'):
        plan(woodcore_keys=[{'name': 'a', 'api_key': wc_key}, {'name': 'b', 'api_key': wc_key}])
    with pytest.raises(PlanError, match='Woodcore key a has no api_key'):
        plan(woodcore_keys=[{'name': 'a'}])
    assert fleet.woodcore_fleet_ip(plan(fleet={'nat': '198.51.100.254'}).networks) == '198.51.100.254'
    assert fleet.woodcore_fleet_ip(plan(fleet={'a': '203.0.113.1', 'b': '203.0.113.2'}).networks) is None


@pytest.mark.parametrize('url, cloud', [('https://cloud.mongodb.com', True), ('https://cloud.mongodbgov.com', True),
                                        ('https://CLOUD.mongodb.com:443', True), ('https://om.example.com', False)])
def test_atlas_cloud_is_told_in_one_place_atlas_for_government_included(url, cloud):
    assert atlas.is_atlas_cloud(url) is cloud
    assert plan(atlas_base_url=url).atlas_cloud is cloud


@pytest.mark.parametrize('kind', ['api_key', 'org_service_account', 'service_account'])
@pytest.mark.parametrize('required', [True, False, None])
def test_one_rule_for_an_empty_list_read_both_ways(kind, required):
    """The audit reports an empty list as open exactly when the rule says it may be callable from anywhere, and the
    policy module refuses to turn the requirement on exactly when the rule says it may be locked out."""
    effect = org_policy.empty_list(kind, required)
    if kind == 'api_key':
        assert (effect.callable_from_anywhere, effect.locked_out) == {
            True: (False, True), False: (True, False), None: (True, True)}[required]
    else:  # [U] both readings: bound (as an API key) or not (open whatever the setting)
        assert effect.callable_from_anywhere and effect.locked_out == (required is not False)
        assert 'not documented' in effect.why
    if kind != 'service_account':
        target = key(entries=[], kind=kind)
        found = audit.Assessor(plan()).list_findings(target, required)
        assert bool(found) == effect.callable_from_anywhere
        assert bool(target.notes) == (not effect.callable_from_anywhere)


def test_address_containment_never_crosses_versions():
    v6 = addresses.parse_network('::/96', allow_any=True)
    v4 = addresses.parse_network('0.0.0.5')
    assert not addresses.contains(v6, v4) and addresses.contains(v6, addresses.parse_network('::5'))
    assert addresses.contains(addresses.parse_network('203.0.113.0/24'), addresses.parse_network('203.0.113.9'))


@pytest.mark.parametrize('net, reach', [
    ('10.0.0.0/8', 'none'), ('10.0.0.0/7', 'partly'), ('100.64.0.9/32', 'none'), ('0.1.2.3/32', 'none'),
    ('240.0.0.0/4', 'none'), ('198.18.0.0/15', 'none'), ('192.0.0.0/24', 'partly'), ('224.0.0.1/32', 'none'),
    ('ff02::1/128', 'none'), ('fc00::/7', 'none'), ('8.8.8.0/24', 'global'), ('203.0.113.5/32', 'global'),
    ('2001:db8::/48', 'global'), ('192.0.0.9/32', 'global')])
def test_reach_judges_the_whole_network_by_netaddr_s_notion_of_global(net, reach):
    assert addresses.reach(addresses.parse_network(net, allow_any=True)) == reach


def test_private_entries_multicast_reserved_and_partly_private_networks():
    target = key(entries=[entry('10.0.0.0/7'), entry('224.0.0.1'), entry('198.18.0.0/15'), entry('0.1.2.3'),
                          entry('8.8.8.8')])
    found = [f for f in audit.Assessor(plan(max_prefix={'ipv4': 0})).list_findings(target, True)
             if f['code'] == 'private-entry']
    assert [f['entry'] for f in found] == ['10.0.0.0/7', '224.0.0.1/32', '198.18.0.0/15', '0.1.2.3/32']
    assert 'partly private' in found[0]['message'] and 'allows nobody' in found[1]['message']


def test_the_fleet_and_the_audit_agree_on_private_addresses_of_project_lists():
    """A project IP access list decides who may connect to clusters, where private addresses are normal (VPC
    peering [V]): neither the audit nor the fleet's warning calls them useless; on an API access list both do."""
    private = [addresses.parse_network('10.1.0.0/16')]
    for url in ('https://cloud.mongodb.com', 'https://cloud.mongodbgov.com'):
        assert atlas.unseen_entries_warning(url, private, kind='api_key')
        assert atlas.unseen_entries_warning(url, private, kind='project') == []
    assert atlas.unseen_entries_warning('https://om.example.com', private, kind='api_key') == []
    project = audit.Target('project', 'prod', '6b0000000000000000000001')
    project.entries = [atlas.Entry({'cidrBlock': '10.1.0.0/16'}, atlas.KINDS['project'])]
    assert audit.Assessor(plan()).list_findings(project, None) == []


def test_a_read_only_client_lets_through_only_the_oauth_token_request(atlas):
    """Not any write=False caller: a read-only client refuses a POST that only says it changes nothing."""
    client = ApiClient(atlas.url, auth=digest_auth(PUBLIC, PRIVATE), read_only=True, sleep=lambda s: None)
    with pytest.raises(ApiError, match='only reads'):
        client.request('POST', '/api/atlas/v2/orgs/%s/apiKeys/%s/accessList' % (ORG, KEY_ID), write=False)
    assert atlas.log == []
