# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Collection metadata: action groups, version, no requests import in modules."""

from __future__ import annotations

import ast
from pathlib import Path

import yaml

from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.http_client import COLLECTION_VERSION
from ansible_collections.apiaccess.ipwhitelist.tests.unit.conftest import MODULES

ROOT = Path(__file__).resolve().parent.parent.parent


def runtime():
    return yaml.safe_load((ROOT / 'meta' / 'runtime.yml').read_text())


def test_every_provider_module_is_in_its_action_group():
    groups = runtime()['action_groups']
    for name in MODULES:
        provider = name.split('_', 1)[0]
        if provider in ('atlas', 'woodcore'):
            assert name in groups[provider], name
    # fleet_converge and access_audit take prefixed options (atlas_public_key...), so no provider group fits them
    assert all(name in MODULES for members in groups.values() for name in members)
    grouped = [m for members in groups.values() for m in members]
    assert 'fleet_converge' not in grouped and 'access_audit' not in grouped


def test_requires_ansible():
    assert runtime()['requires_ansible'] == '>=2.18.0'


def test_version_matches_galaxy():
    assert yaml.safe_load((ROOT / 'galaxy.yml').read_text())['version'] == COLLECTION_VERSION


def test_modules_never_import_requests_directly():
    for name in MODULES:
        tree = ast.parse((ROOT / 'plugins' / 'modules' / (name + '.py')).read_text())
        imported = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
        imported += [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module]
        assert not [m for m in imported if m.split('.')[0] in ('requests', 'urllib3', 'netaddr')], name


def test_group_docs_match_runtime():
    groups = runtime()['action_groups']
    for group, members in groups.items():
        for name in members:
            text = (ROOT / 'plugins' / 'modules' / (name + '.py')).read_text()
            assert 'attributes.%s_GROUP' % group.upper() in text, name


def test_first_release_lists_every_module_and_role():
    release = yaml.safe_load((ROOT / 'changelogs' / 'changelog.yaml').read_text())['releases'][COLLECTION_VERSION]
    assert sorted(m['name'] for m in release['modules']) == MODULES
    roles = sorted(p.name for p in (ROOT / 'roles').iterdir() if p.is_dir())
    assert sorted(r['name'] for r in release['objects']['role']) == roles
    rendered = (ROOT / 'CHANGELOG.rst').read_text()
    for name in MODULES + roles:
        assert '- apiaccess.ipwhitelist.%s - ' % name in rendered


def test_role_option_docs_hold_no_jinja():
    """Ansible templates the options of meta/argument_specs.yml when it validates a role's arguments, so
    a '{{ ... }}' in a description is evaluated (and fails where it names a missing group or variable)."""
    specs = yaml.safe_load((ROOT / 'roles' / 'fleet_whitelist' / 'meta' / 'argument_specs.yml').read_text())
    for name, option in specs['argument_specs']['main']['options'].items():
        text = yaml.safe_dump(option)
        assert '{{' not in text and '{%' not in text, name


def test_the_role_passes_every_fleet_option_and_documents_every_variable():
    """Issue 19 item 12: the role did not expose allow_http, proxy, woodcore_request_otp, woodcore_resend_after
    or rate_limit_max_wait. Every fleet_converge option but ``fleet`` (built from hostvars) reaches it, each
    through a documented fleet_whitelist_ variable."""
    import re
    from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import fleet
    role = ROOT / 'roles' / 'fleet_whitelist'
    tasks = yaml.safe_load((role / 'tasks' / 'main.yml').read_text())
    passed = tasks[0]['apiaccess.ipwhitelist.fleet_converge']
    assert set(fleet.argument_spec()) - set(passed) == {'fleet'}
    documented = set(yaml.safe_load((role / 'meta' / 'argument_specs.yml').read_text())
                     ['argument_specs']['main']['options'])
    used = set(re.findall(r'\bfleet_whitelist_\w+', (role / 'tasks' / 'main.yml').read_text()))
    registered = {'fleet_whitelist_result', 'fleet_whitelist_approved'}
    assert used - registered <= documented, sorted(used - registered - documented)
