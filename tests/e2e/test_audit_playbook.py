# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""playbooks/audit.yml with real ansible-playbook runs against both simulators (issue 20).

Every finding code is raised by the seed that has its problem (tests/simulators/seeds/audit-atlas.yml) and not by
the same seed with the problem fixed (audit-atlas-clean.yml); both runs read the same variables
(tests/e2e/audit/keys.yml) over the same fleet (tests/e2e/audit/inventory.yml). No run writes anything to either
service."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import audit
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.woodcore import key_fingerprint
from ansible_collections.apiaccess.ipwhitelist.tests.e2e.conftest import ROOT, Run, _env
from ansible_collections.apiaccess.ipwhitelist.tests.simulators.atlas import AtlasSimulator
from ansible_collections.apiaccess.ipwhitelist.tests.simulators.base import load_seed_file
from ansible_collections.apiaccess.ipwhitelist.tests.simulators.woodcore import WoodcoreSimulator

PLAYBOOK = ROOT / 'playbooks' / 'audit.yml'
HERE = Path(__file__).resolve().parent / 'audit'
SEEDS = ROOT / 'tests' / 'simulators' / 'seeds'
ORG, OTHER_ORG = '66a100000000000000000001', '66a100000000000000000002'
AUDITOR, AUDITOR_PRIVATE = 'auditor1', '5e1f0a2b-audit-4c1b-9e2a-auditor00001'
CALLER_IP = '198.51.100.7'  # where the simulator sees the audit call from
WC_KEY = 'wc_test_audit0payments0key00000001'
WANTED_IP = '198.51.100.254'


def woodcore_seed(ip):
    seed = load_seed_file(str(SEEDS / 'audit-woodcore.yml'))
    seed['keys'][0]['ip'] = ip
    return seed


def pending(hours_ago):
    """The role's pending-request record of the Woodcore key (what AWX hands over as an artifact)."""
    requested = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(time.time() - hours_ago * 3600))
    return {'payments': {'key_fingerprint': key_fingerprint(WC_KEY), 'action': 'whitelist', 'ip': WANTED_IP,
                         'requested_at': requested}}


class Audit(object):
    """One playbook run against fresh simulators; its report and what each simulator saw."""

    def __init__(self, tmp, atlas_seed, wc_ip, *args, extra_vars=None, env=None, inventory=True, sa=False,
                 atlas_faults=()):
        self.atlas = AtlasSimulator(seed=load_seed_file(str(SEEDS / atlas_seed)), caller_ip=CALLER_IP)
        for fault in atlas_faults:
            self.atlas.add_fault(**fault)
        self.woodcore = WoodcoreSimulator(seed=woodcore_seed(wc_ip))
        tmp.mkdir(parents=True, exist_ok=True)
        self.report_dir = tmp / 'report'
        variables = {'audit_report_dir': str(self.report_dir), 'audit_atlas_cloud': True,
                     'fleet_whitelist_woodcore_pending_state_path': str(tmp / 'no-ledger.json')}
        variables.update(extra_vars or {})
        (tmp / 'vars.json').write_text(json.dumps(variables))
        credentials = {'MONGODB_ATLAS_CLIENT_ID': 'mdb_sa_id_66a1000000000000000000c2',
                       'MONGODB_ATLAS_CLIENT_SECRET': 'mdb_sa_sk_ok'} if sa else \
            {'MONGODB_ATLAS_PUBLIC_API_KEY': AUDITOR, 'MONGODB_ATLAS_PRIVATE_API_KEY': AUDITOR_PRIVATE}
        with self.atlas, self.woodcore:
            environment = dict(credentials, MONGODB_ATLAS_BASE_URL=self.atlas.url, WOODCORE_API_KEY=WC_KEY,
                               WOODCORE_BASE_URL=self.woodcore.url + '/api/v2')
            environment.update(env or {})
            cmd = [str(Path(sys.executable).parent / 'ansible-playbook'), str(PLAYBOOK),
                   '-e', '@%s' % (HERE / 'keys.yml'), '-e', '@%s' % (tmp / 'vars.json')]
            if inventory:
                cmd += ['-i', str(HERE / 'inventory.yml')]
            self.run = Run(subprocess.run(cmd + list(args), env=_env(tmp, environment), capture_output=True,
                                          text=True, cwd=str(ROOT), timeout=300, check=False))
        path = self.report_dir / 'access-report.json'
        self.report = json.loads(path.read_text()) if path.exists() else None

    def codes(self):
        return sorted(set(f['code'] for f in self.report['findings']))

    def findings(self, code):
        return [f for f in self.report['findings'] if f['code'] == code]


@pytest.fixture(scope='module')
def dirty(tmp_path_factory):
    """Every problem: audit_all over the organization, the fleet, and a Woodcore request pending for two days."""
    return Audit(tmp_path_factory.mktemp('dirty'), 'audit-atlas.yml', '192.0.2.200',
                 extra_vars={'audit_all': True, 'audit_org_ids': [ORG],
                             'fleet_whitelist_woodcore_pending_requests': pending(48)})


@pytest.fixture(scope='module')
def clean(tmp_path_factory):
    """The same, every problem fixed (the Woodcore request pending for less than a day, and the key of the other
    organization, which the auditing key cannot read, left out)."""
    return Audit(tmp_path_factory.mktemp('clean'), 'audit-atlas-clean.yml', WANTED_IP,
                 extra_vars={'audit_all': True, 'audit_org_ids': [ORG],
                             'fleet_whitelist_woodcore_pending_requests': pending(20),
                             'fleet_whitelist_atlas_keys': [
                                 {'name': 'deploy', 'org_id': ORG, 'api_key': 'deploy01', 'purge': True}]})


# code -> (kind, name, entry) of the finding the dirty seed raises
EXPECTED = {
    'open-to-internet': [('api_key', 'anywher1', '0.0.0.0/0'), ('api_key', 'openkey1', None),
                         ('org_service_account', 'sa-open', None)],
    'org-policy-off': [('organization', ORG, None)],
    'missing-entry': [('api_key', 'deploy', '203.0.113.11/32'), ('woodcore_key', 'payments', WANTED_IP)],
    'wide-entry': [('api_key', 'widekey1', '203.0.0.0/12')],
    'unknown-entry': [('api_key', 'deploy', '192.0.2.99/32')],
    'stale-entry': [('api_key', 'stalekey', '203.0.113.20/32'), ('api_key', 'unusedk1', '192.0.2.30/32')],
    'woodcore-pending': [('woodcore_key', 'payments', WANTED_IP)],
    'unused-credential': [('api_key', 'unusedk1', None)],
    'private-entry': [('api_key', 'privatek', '10.1.2.3/32')],
    'expiring-entry': [('project', 'prod', '198.51.100.50/32')],
    'unreadable-target': [('api_key', 'other-org', None), ('organization', OTHER_ORG, None)],
}


def test_the_table_is_the_issues():
    assert [c for c, _s in audit.CODES] == list(EXPECTED)


@pytest.mark.parametrize('code', list(EXPECTED))
def test_each_finding_is_raised_by_its_problem(dirty, code):
    found = [(f['target']['kind'], f['target']['name'], f['entry']) for f in dirty.findings(code)]
    assert sorted(found, key=str) == sorted(EXPECTED[code], key=str), dirty.findings(code)
    for finding in dirty.findings(code):
        assert finding['severity'] == audit.SEVERITY_OF[code]
        assert finding['message'] and '\n' not in finding['message'] and finding['fix']


@pytest.mark.parametrize('code', list(EXPECTED))
def test_no_finding_once_the_problem_is_fixed(clean, code):
    assert clean.findings(code) == []


def test_the_clean_run_passes_the_gate_and_the_dirty_one_fails_after_writing_the_report(dirty, clean):
    assert clean.run.rc == 0, clean.run.output[-3000:]
    assert clean.report['summary'] == dict((s, 0) for s in audit.SEVERITIES)
    # audit_fail_on defaults to high in the playbook: the run fails, and the report is there
    assert dirty.run.rc != 0
    assert 'findings at or above high (fail_on)' in dirty.run.stdout
    assert dirty.run.stdout.index('TASK [Summary') < dirty.run.stdout.index('TASK [Fail when a finding')
    for name in audit.REPORT_FILES:
        assert (dirty.report_dir / name).stat().st_size > 0
    assert dirty.report['summary'] == {'critical': 3, 'high': 6, 'medium': 4, 'low': 2, 'info': 1}


def test_nothing_is_ever_written_to_either_service(dirty, clean):
    for run in (dirty, clean):
        assert run.atlas.writes() == [] and run.woodcore.writes() == []
        assert set(e['method'] for e in run.atlas.log + run.woodcore.log) == {'GET'}


def test_a_target_the_credential_cannot_read_is_reported_and_the_others_are_read(dirty):
    unreadable = dict((u['name'], u['error']) for u in dirty.report['unreadable'])
    assert sorted(unreadable) == [OTHER_ORG, 'other-org']
    assert 'HTTP 403 USER_CANNOT_ACCESS_ORGANIZATION' in unreadable['other-org']
    read = [t for t in dirty.report['targets'] if t['status'] == 'ok']
    # org, 8 keys, 2 service accounts, 1 project, 1 Woodcore key
    assert len(read) == 13, [t['name'] for t in read]


def test_every_target_lists_its_entries_with_last_use_age_and_status(dirty):
    targets = dict(((t['kind'], t['name']), t) for t in dirty.report['targets'])
    stale = dict((e['entry'], e) for e in targets[('api_key', 'stalekey')]['entries'])
    assert stale['203.0.113.20/32']['status'] == 'stale-entry' and stale['203.0.113.20/32']['days_unused'] >= 199
    assert stale['203.0.113.20/32']['age_days'] >= 399 and stale['203.0.113.20/32']['last_used']
    assert stale['203.0.113.21/32']['status'] == 'ok' and stale['203.0.113.21/32']['last_used'] is None
    deploy = dict((e['entry'], e) for e in targets[('api_key', 'deploy')]['entries'])
    assert deploy['203.0.113.10/32']['hosts'] == ['web1'] and deploy['192.0.2.99/32']['status'] == 'unknown-entry'
    assert targets[('api_key', 'deploy')]['managed'] and not targets[('api_key', 'widekey1')]['managed']
    prod = dict((e['entry'], e) for e in targets[('project', 'prod')]['entries'])
    assert prod['198.51.100.50/32']['comment'] == 'load test' and prod['198.51.100.50/32']['delete_after']
    assert targets[('organization', ORG)]['api_access_list_required'] is False
    # the auditing key's own entry: used just now, by this audit, maybe a second after the audit's clock was read
    # (lastUsed in whole seconds): 0 days unused, never -1 (audit._days)
    auditor = targets[('api_key', AUDITOR)]['entries'][0]
    assert auditor['entry'] == '198.51.100.7/32' and auditor['days_unused'] == 0


def test_the_markdown_and_the_set_stats_summary(tmp_path):
    run = Audit(tmp_path, 'audit-atlas.yml', '192.0.2.200', extra_vars={'audit_fail_on': 'never'},
                env={'ANSIBLE_SHOW_CUSTOM_STATS': 'true'})
    assert run.run.rc == 0, run.run.output[-3000:]
    stats = run.run.stdout.split('CUSTOM STATS:')[1]
    assert '"access_audit_summary"' in stats and '"high": 5' in stats  # 3, and the other organization's 2
    assert str(run.report_dir / 'access-report.html') in stats
    markdown = (run.report_dir / 'access-report.md').read_text()
    assert '| severity | code | target | entry | message | fix |' in markdown
    assert '`org-policy-off`' in markdown
    assert '0 critical, 5 high, 1 medium, 0 low, 1 info' in run.run.stdout


def test_as_a_service_account_the_only_post_is_its_token(tmp_path):
    run = Audit(tmp_path, 'audit-atlas.yml', '192.0.2.200', extra_vars={'audit_fail_on': 'never'}, sa=True)
    assert run.run.rc == 0, run.run.output[-3000:]
    assert set((e['method'], e['path']) for e in run.atlas.log if e['method'] != 'GET') == {
        ('POST', '/api/oauth/token')}
    assert run.report['scope']['credential'] == 'service account mdb_sa_id_66a1000000000000000000c2'
    # neither the client secret nor the token it was given reaches the output or the report
    tokens = list(run.atlas.tokens)
    assert tokens
    text = run.run.output + ''.join((run.report_dir / n).read_text() for n in audit.REPORT_FILES)
    for secret in ['mdb_sa_sk_ok'] + tokens:
        assert secret not in text


def test_without_a_fleet_group_the_play_runs_on_the_controller(tmp_path):
    run = Audit(tmp_path, 'audit-atlas.yml', '192.0.2.200', inventory=False,
                extra_vars={'audit_all': True, 'audit_org_ids': [ORG], 'audit_fail_on': 'never'})
    assert run.run.rc == 0, run.run.output[-3000:]
    assert 'ok: [localhost' in run.run.stdout
    assert run.report['scope']['fleet'] is None
    assert run.findings('missing-entry') == [] and run.findings('unknown-entry') == []
    assert run.findings('open-to-internet')


def test_a_limit_that_narrows_the_fleet_leaves_unknown_entries_out_and_says_so(tmp_path):
    run = Audit(tmp_path, 'audit-atlas.yml', '192.0.2.200', '--limit', 'web1', extra_vars={'audit_fail_on': 'never'})
    assert run.run.rc == 0, run.run.output[-3000:]
    assert run.findings('unknown-entry') == []
    assert '--limit narrows the fleet' in run.run.output
    assert run.report['scope']['fleet']['unknown_entries_checked'] is False
    # the limited fleet is web1 only: web2's address is not missing from anything
    assert [f['entry'] for f in run.findings('missing-entry') if f['target']['kind'] == 'api_key'] == []


def test_secrets_never_reach_the_output_or_the_report(dirty):
    text = dirty.run.output + ''.join((dirty.report_dir / n).read_text() for n in audit.REPORT_FILES)
    for secret in (AUDITOR_PRIVATE, WC_KEY):
        assert secret not in text


def test_a_wrong_key_fails_the_gate_and_reading_nothing_fails_whatever_fail_on_says(tmp_path):
    """A revoked (here: wrong) audit credential must not make a scheduled job green."""
    wrong = Audit(tmp_path / 'wrong-atlas', 'audit-atlas.yml', '192.0.2.200',
                  env={'MONGODB_ATLAS_PRIVATE_API_KEY': 'not-the-private-key'})
    assert wrong.run.rc != 0
    assert wrong.report['summary']['high'] >= 5 and 'unreadable-target' in wrong.run.stdout
    atlas_targets = [t for t in wrong.report['targets'] if t['kind'] != 'woodcore_key']
    assert atlas_targets and all(t['status'] == 'unreadable' for t in atlas_targets)
    nothing = Audit(tmp_path / 'wrong-both', 'audit-atlas.yml', '192.0.2.200', extra_vars={'audit_fail_on': 'never'},
                    env={'MONGODB_ATLAS_PRIVATE_API_KEY': 'not-the-private-key', 'WOODCORE_API_KEY': 'wc_test_wrong'})
    assert nothing.run.rc != 0 and 'the audit read nothing' in nothing.run.stdout
    assert nothing.report['read'] == 0
    for run in (wrong, nothing):
        assert 'not-the-private-key' not in run.run.output
        assert run.atlas.writes() == [] and run.woodcore.writes() == []


def test_a_failed_project_listing_is_unreadable_and_reaches_the_gate(tmp_path):
    """audit_all lists the projects; a listing the credential may not make is reported like an unreadable target."""
    forbidden = {'errorCode': 'USER_CANNOT_ACCESS_ORGANIZATION', 'detail': 'no', 'error': 403, 'reason': 'Forbidden'}
    run = Audit(tmp_path, 'audit-atlas-clean.yml', WANTED_IP, inventory=False,
                extra_vars={'audit_all': True, 'audit_org_ids': [ORG], 'fleet_whitelist_atlas_keys': [],
                            'fleet_whitelist_atlas_projects': [], 'fleet_whitelist_atlas_service_accounts': [],
                            'fleet_whitelist_woodcore_pending_requests': pending(20)},
                atlas_faults=[dict(kind='status', method='GET', path=r'^/api/atlas/v2/groups(\?|$)', status=403,
                                   times=10, body=forbidden)])
    assert run.run.rc != 0
    assert [(u['kind'], u['name']) for u in run.report['unreadable']] == [('listing', 'projects (audit_all)')]
    assert 'HTTP 403' in run.report['unreadable'][0]['error']
    assert [f['code'] for f in run.report['findings']] == ['unreadable-target']
    assert 'prod' not in [t['name'] for t in run.report['targets']]  # not listed, so not audited


def test_a_fleet_host_missing_from_the_inventory_is_named(tmp_path):
    """Both controller-side actions: a clear failure naming the host, nothing sent, no traceback."""
    playbook = tmp_path / 'nosuch.yml'
    playbook.write_text(
        '- hosts: localhost\n  gather_facts: false\n  tasks:\n'
        '    - apiaccess.ipwhitelist.access_audit: {hosts: [nosuch], atlas_public_key: abcdefgh, '
        'atlas_private_key: not-the-private-key, report_dir: "%s"}\n      ignore_errors: true\n'
        '    - apiaccess.ipwhitelist.fleet_converge: {hosts: [nosuch], atlas_public_key: abcdefgh, '
        'atlas_private_key: not-the-private-key}\n      ignore_errors: true\n' % (tmp_path / 'report'))
    run = Run(subprocess.run([str(Path(sys.executable).parent / 'ansible-playbook'), str(playbook)],
                             env=_env(tmp_path), capture_output=True, text=True, cwd=str(ROOT), timeout=300,
                             check=False))
    for name in ('access_audit', 'fleet_converge'):
        assert '%s could not start, nothing was sent: hosts: nosuch is not in the inventory' % name in run.stdout
    assert 'Traceback' not in run.output and 'TemplateContext' not in run.output
    assert 'not-the-private-key' not in run.output
