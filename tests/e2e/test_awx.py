# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""AWX / Automation Platform, for real: the shipped credential types are rendered into a job the
way AWX renders them (sandboxed Jinja, file injectors in the private data dir, env injectors), and
the fleet playbook runs under ansible-runner, the engine AWX uses. A first launch requests the
Woodcore OTP; a second launch approves it through a survey answer. No secret may reach runner's
artifacts. The execution environment files are checked with ansible-builder."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import tempfile
import types
from pathlib import Path

import pytest
import yaml

from ansible_collections.apiaccess.ipwhitelist.tests.unit.conftest import (
    CLIENT_ID, CLIENT_SECRET, KEY_ID, ORG, PRIVATE, PUBLIC, WC_KEY,
)

# ansible-runner runs ansible-playbook under pexpect, which forks a pty child of this process; the
# simulators' threads make Python warn about forkpty, but the child execs at once and touches no lock.
pytestmark = pytest.mark.filterwarnings('ignore:This process .* is multi-threaded:DeprecationWarning')

ansible_runner = pytest.importorskip('ansible_runner')  # in requirements-dev.txt, so present under test.sh
jinja_sandbox = pytest.importorskip('jinja2.sandbox')

ROOT = Path(__file__).resolve().parent.parent.parent
TYPES = ROOT / 'extensions' / 'awx' / 'credential_types'
BIN = Path(sys.executable).parent
# AWX refuses these names in env injectors (awx/main/fields.py: ENV_BLOCKLIST and the ANSIBLE_ prefix)
ENV_BLOCKLIST = {'VIRTUAL_ENV', 'PATH', 'PYTHONPATH', 'JOB_ID', 'INVENTORY_ID', 'INVENTORY_SOURCE_ID',
                 'INVENTORY_UPDATE_ID', 'AD_HOC_COMMAND_ID', 'REST_API_URL', 'REST_API_TOKEN', 'MAX_EVENT_RES',
                 'CALLBACK_QUEUE', 'CALLBACK_CONNECTION', 'CACHE', 'JOB_CALLBACK_DEBUG', 'INVENTORY_HOSTVARS',
                 'AWX_HOST', 'PROJECT_REVISION', 'SUPERVISOR_CONFIG_PATH'}


def credential_type(name):
    return yaml.safe_load((TYPES / (name + '.yml')).read_text(encoding='utf-8'))


def render(cred_type, inputs, private_data_dir):
    """Render a credential's injectors as AWX does (CredentialType.inject_credential): only the
    inputs that were given are defined, booleans default to False, each file template becomes a
    0600 file under <private_data_dir>/env whose path is tower.filename[.label], then the env and
    extra_vars templates are rendered in an ImmutableSandboxedEnvironment."""
    namespace = {k: v for k, v in inputs.items() if isinstance(v, bool) or len(v)}
    for field in cred_type['inputs']['fields']:
        if field.get('type') == 'boolean' and field['id'] not in inputs:
            namespace[field['id']] = False
    sandbox = jinja_sandbox.ImmutableSandboxedEnvironment()
    tower = types.SimpleNamespace()
    namespace['tower'] = tower
    for label, template in cred_type['injectors'].get('file', {}).items():
        handle, path = tempfile.mkstemp(dir=str(private_data_dir / 'env'))
        with os.fdopen(handle, 'w') as out:
            out.write(sandbox.from_string(template).render(**namespace))
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
        if '.' in label:
            if not hasattr(tower, 'filename'):
                tower.filename = types.SimpleNamespace()
            setattr(tower.filename, label.split('.', 1)[1], path)
        else:
            tower.filename = path
    env = {name: sandbox.from_string(template).render(**namespace)
           for name, template in cred_type['injectors'].get('env', {}).items()}
    extra_vars = {name: sandbox.from_string(template).render(**namespace)
                  for name, template in cred_type['injectors'].get('extra_vars', {}).items()}
    return env, extra_vars


@pytest.mark.parametrize('name', ['atlas_api_key', 'atlas_service_account', 'woodcore_api_key'])
def test_credential_type_is_well_formed(name):
    cred_type = credential_type(name)
    fields = {f['id']: f for f in cred_type['inputs']['fields']}
    assert cred_type['kind'] == 'cloud' and set(cred_type['inputs']['required']) <= set(fields)
    for var in cred_type['injectors']['env']:
        assert not var.startswith('ANSIBLE_') and var not in ENV_BLOCKLIST, var
    secrets = [fid for fid, f in fields.items() if f.get('secret')]
    assert secrets
    # secrets travel only through files, never through an environment variable's value
    for template in cred_type['injectors']['env'].values():
        assert not any(re.search(r'{{\s*%s\b' % fid, template) for fid in secrets), template
    for secret in secrets:
        assert 'template.' + secret in cred_type['injectors']['file']


def test_env_var_names_are_the_ones_the_modules_read():
    from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import atlas, fleet, woodcore

    def read(spec):
        names = set()
        for option in spec.values():
            if 'fallback' in option:
                names.update(option['fallback'][1])
        return names
    known = read(atlas.atlas_argument_spec()) | read(woodcore.woodcore_argument_spec()) | read(fleet.argument_spec())
    for name in ('atlas_api_key', 'atlas_service_account', 'woodcore_api_key'):
        for var in credential_type(name)['injectors']['env']:
            assert var in known or (var.endswith('_FILE') and var[:-5] in known), var


class Job(object):
    """One AWX job: a private data dir, credentials rendered into it, a launch through ansible-runner."""

    def __init__(self, tmp_path, atlas, woodcore, atlas_credential):
        self.tmp_path = tmp_path
        self.atlas = atlas
        self.woodcore = woodcore
        self.atlas_credential = atlas_credential
        self.launches = 0

    def launch(self, survey=None, verbosity=4, fresh_environment=False, playbook='playbooks/fleet.yml'):
        """``fresh_environment``: the pending-request file lives in the job's own directory, as in a real
        AWX execution environment, so nothing carries over from an earlier job but what AWX passes on."""
        self.launches += 1
        pdd = self.tmp_path / ('job%d' % self.launches)
        (pdd / 'env').mkdir(parents=True)
        (pdd / 'inventory').mkdir()
        (pdd / 'inventory' / 'hosts.json').write_text(json.dumps({'all': {
            'vars': {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable},
            'children': {'fleet': {'hosts': {
                'app1': {'fleet_whitelist_address': '203.0.113.10'},
                'app2': {'fleet_whitelist_address': '203.0.113.11'}}}}}}))
        if self.atlas_credential == 'atlas_api_key':
            inputs = {'public_key': PUBLIC, 'private_key': PRIVATE, 'base_url': self.atlas.url}
        else:
            inputs = {'client_id': CLIENT_ID, 'client_secret': CLIENT_SECRET, 'base_url': self.atlas.url}
        env, extra_vars = render(credential_type(self.atlas_credential), inputs, pdd)
        wc_env, wc_extra = render(credential_type('woodcore_api_key'),
                                  {'api_key': WC_KEY, 'base_url': self.woodcore.url + '/api/v2'}, pdd)
        env.update(wc_env)
        extra_vars.update(wc_extra)
        # job template extra vars, plus the survey answers; AWX writes them to env/extravars itself
        extra_vars.update({
            'fleet_whitelist_atlas_keys': [{'name': 'main', 'org_id': ORG, 'api_key': KEY_ID, 'purge': True}],
            'fleet_whitelist_woodcore_keys': [{'name': 'payments', 'ip': '198.51.100.254'}],
            'fleet_whitelist_woodcore_pending_state_path': str((pdd if fresh_environment else self.tmp_path)
                                                               / 'pending.json'),
        })
        extra_vars.update(survey or {})
        (pdd / 'env' / 'extravars').write_text(json.dumps(extra_vars))
        os.chmod(str(pdd / 'env' / 'extravars'), stat.S_IRUSR)
        env.update({
            'PATH': '%s:%s' % (BIN, os.environ.get('PATH', '')),
            'ANSIBLE_COLLECTIONS_PATH': str(ROOT / '.collections'),  # AWX: the project's collections
            'ANSIBLE_LOCAL_TEMP': str(self.tmp_path / 'ansible-local'),
            'ANSIBLE_NOCOLOR': '1',
        })
        self.env = env
        self.private_data_dir = pdd
        result = ansible_runner.run(
            private_data_dir=str(pdd), project_dir=str(ROOT), playbook=playbook,
            inventory=str(pdd / 'inventory' / 'hosts.json'), envvars=env, verbosity=verbosity,
            suppress_env_files=True, quiet=True, ident='job%d' % self.launches)
        self.result = result
        return result

    def artifacts(self):
        """What AWX passes on to the next workflow node: the set_stats data of the playbook_on_stats event."""
        stats = [e for e in self.result.events if e.get('event') == 'playbook_on_stats']
        return stats[-1]['event_data'].get('artifact_data', {})

    def artifact_text(self):
        """Everything runner keeps about the job: the artifact dir (stdout, command with its env dump,
        status, job_events) and the events and stdout as the API hands them over."""
        chunks = []
        for path in (self.private_data_dir / 'artifacts').rglob('*'):
            if path.is_file():
                chunks.append(path.read_text(encoding='utf-8', errors='replace'))
        chunks.append(json.dumps(list(self.result.events)))
        chunks.append(self.result.stdout.read())
        return '\n'.join(chunks)


@pytest.mark.parametrize('atlas_credential', ['atlas_api_key', 'atlas_service_account'])
def test_job_template_with_credentials_and_otp_survey(tmp_path, atlas, woodcore, atlas_credential):
    job = Job(tmp_path, atlas, woodcore, atlas_credential)

    first = job.launch()
    text = job.artifact_text()
    assert first.status == 'successful' and first.rc == 0, text[-4000:]
    assert 'woodcore payments                 pending approval of 198.51.100.254 (OTP emailed)' in text
    assert sorted(atlas.access_list(ORG, KEY_ID)) == ['203.0.113.10/32', '203.0.113.11/32']
    assert 'MONGODB_ATLAS_PRIVATE_API_KEY' not in job.env and 'WOODCORE_API_KEY' not in job.env
    secrets = [PRIVATE, CLIENT_SECRET, WC_KEY] + list(atlas.tokens)
    assert [s for s in secrets if s in text] == []

    otp = woodcore.emails()[0]['otp']
    second = job.launch(survey={'fleet_whitelist_woodcore_otps': {'payments': otp}})
    text = job.artifact_text()
    assert second.status == 'successful' and second.rc == 0, text[-4000:]
    assert 'woodcore payments                 whitelisted 198.51.100.254' in text
    assert woodcore.key_state('payments-sandbox') == {'ip': '198.51.100.254', 'pending_ip': None}
    secrets = [PRIVATE, CLIENT_SECRET, WC_KEY, otp] + list(atlas.tokens)
    assert [s for s in secrets if s in text] == []
    # what runner calls the env dump is there, and it holds file paths, not values
    command = json.loads((job.private_data_dir / 'artifacts' / 'job2' / 'command').read_text())
    assert command['env']['WOODCORE_API_KEY_FILE'].startswith(str(job.private_data_dir / 'env'))


def test_workflow_hands_the_pending_request_to_the_approval_job(tmp_path, atlas, woodcore):
    """Request job -> (approval node) -> approve job, each in a fresh environment: the pending request
    travels as set_stats artifacts, which AWX turns into the next node's extra variables."""
    job = Job(tmp_path, atlas, woodcore, 'atlas_api_key')
    first = job.launch(fresh_environment=True)
    assert first.status == 'successful', job.artifact_text()[-4000:]
    artifacts = job.artifacts()
    pending = artifacts['fleet_whitelist_woodcore_pending_requests']['payments']
    assert pending['ip'] == '198.51.100.254' and pending['action'] == 'whitelist'
    assert WC_KEY not in json.dumps(artifacts) and len(woodcore.emails()) == 1

    # the request job again (a retried node), with the artifacts: no second email
    again = job.launch(survey=artifacts, fresh_environment=True)
    assert again.status == 'successful' and len(woodcore.emails()) == 1, job.artifact_text()[-4000:]
    assert 'pending approval of 198.51.100.254 (OTP already requested)' in job.artifact_text()

    # an approve job whose key entry was edited to another IP: refused before the OTP is sent
    otp = woodcore.emails()[0]['otp']
    survey = dict(artifacts, fleet_whitelist_woodcore_otps={'payments': otp},
                  fleet_whitelist_woodcore_keys=[{'name': 'payments', 'ip': '198.51.100.253'}])
    wrong = job.launch(survey=survey, fresh_environment=True)
    assert wrong.status == 'failed' and 'whitelisting 198.51.100.254' in job.artifact_text()
    assert not [e for e in woodcore.log if '/approve/' in e['path']]

    # the approve job with the artifacts and the OTP from the survey
    approved = job.launch(survey=dict(artifacts, fleet_whitelist_woodcore_otps={'payments': otp}),
                          fresh_environment=True)
    text = job.artifact_text()
    assert approved.status == 'successful', text[-4000:]
    assert woodcore.key_state('payments-sandbox') == {'ip': '198.51.100.254', 'pending_ip': None}
    assert job.artifacts()['fleet_whitelist_woodcore_pending_requests'] == {}
    assert otp not in text and WC_KEY not in text and len(woodcore.emails()) == 1


def test_a_scheduled_audit_job_fails_on_its_findings_after_publishing_them(tmp_path, atlas, woodcore):
    """docs/awx.md section 5: playbooks/audit.yml as a job template on the fleet template's inventory, credentials
    and keys: it writes nothing, publishes the counts and the report's path as artifacts, and fails on the high
    findings (audit_fail_on: high) only after that."""
    job = Job(tmp_path, atlas, woodcore, 'atlas_api_key')
    result = job.launch(survey={'audit_report_dir': str(tmp_path / 'report')}, playbook='playbooks/audit.yml')
    assert result.status == 'failed', job.artifact_text()[-4000:]
    artifacts = job.artifacts()
    # the fleet's two addresses missing from the key, the Woodcore key's IP, the organization's setting
    assert artifacts['access_audit_summary'] == {'critical': 0, 'high': 4, 'medium': 2, 'low': 0, 'info': 0}
    assert artifacts['access_audit_unreadable'] == 0
    assert artifacts['access_audit_report'] == str(tmp_path / 'report' / 'access-report.html')
    assert (tmp_path / 'report' / 'access-report.html').is_file()
    assert 'findings at or above high (fail_on)' in job.artifact_text()
    assert atlas.writes() == [] and woodcore.writes() == []
    text = job.artifact_text() + ''.join(p.read_text() for p in (tmp_path / 'report').iterdir())
    assert PRIVATE not in text and WC_KEY not in text


def test_ansible_builder_introspect_lists_exactly_the_runtime_dependencies():
    proc = subprocess.run([str(BIN / 'ansible-builder'), 'introspect', '--sanitize', str(ROOT / '.collections')],
                          capture_output=True, text=True, check=True)
    data = yaml.safe_load(proc.stdout.split('---', 1)[1])
    assert data['python'] == ['requests>=2.31.0  # from collection apiaccess.ipwhitelist',
                              'netaddr>=1.0.0  # from collection apiaccess.ipwhitelist']
    assert data['system'] == []
    runtime = [line.split('#')[0].strip() for line in
               (ROOT / 'meta' / 'ee-requirements.txt').read_text().splitlines() if line.split('#')[0].strip()]
    assert sorted(re.split(r'[<>=]', r)[0] for r in runtime) == ['netaddr', 'requests']


def test_example_execution_environment_builds_a_context(tmp_path):
    subprocess.run([str(BIN / 'ansible-galaxy'), 'collection', 'build', '--output-path', str(tmp_path), str(ROOT)],
                   check=True, capture_output=True, text=True)
    definition = ROOT / 'extensions' / 'ee' / 'execution-environment.yml'
    (tmp_path / 'execution-environment.yml').write_text(definition.read_text())
    proc = subprocess.run([str(BIN / 'ansible-builder'), 'create', '--file', 'execution-environment.yml',
                           '--context', 'context'], cwd=str(tmp_path), capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    context = tmp_path / 'context'
    assert (context / '_build' / 'collections' / 'apiaccess-ipwhitelist-0.1.0.tar.gz').is_file()
    requirements = yaml.safe_load((context / '_build' / 'requirements.yml').read_text())
    assert requirements['collections'][0]['name'] == 'collections/apiaccess-ipwhitelist-0.1.0.tar.gz'
