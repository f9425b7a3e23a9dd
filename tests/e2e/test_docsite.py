# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The docs site (scripts/docs.sh: antsibull-docs + Sphinx) has a page for every module and the
role, and each page carries that plugin's examples."""

from __future__ import annotations

import ast
import html
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ansible_collections.apiaccess.ipwhitelist.tests.unit.conftest import MODULES

ROOT = Path(__file__).resolve().parent.parent.parent
ROLES = sorted(p.name for p in (ROOT / 'roles').iterdir() if (p / 'meta' / 'argument_specs.yml').is_file())


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    dest = tmp_path_factory.mktemp('docsite') / 'site'
    env = dict(os.environ, VENV=str(Path(sys.executable).parent.parent))
    proc = subprocess.run(['bash', str(ROOT / 'scripts' / 'docs.sh'), str(dest)], env=env,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return dest / 'build' / 'html' / 'collections' / 'apiaccess' / 'ipwhitelist'


def page_text(path):
    """The visible text of a generated page, with whitespace runs collapsed."""
    raw = re.sub(r'<[^>]+>', '', path.read_text(encoding='utf-8'))
    return re.sub(r'\s+', ' ', html.unescape(raw))


def module_examples(name):
    source = (ROOT / 'plugins' / 'modules' / (name + '.py')).read_text(encoding='utf-8')
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and node.targets[0].id == 'EXAMPLES':
            return node.value.value
    raise AssertionError('%s has no EXAMPLES' % name)


def task_names(examples):
    names = [task['name'] for task in yaml.safe_load(examples) if 'name' in task]
    assert names, 'examples without named tasks'
    return names


@pytest.mark.parametrize('name', MODULES)
def test_every_module_has_a_page_with_its_examples(site, name):
    page = site / (name + '_module.html')
    assert page.is_file(), sorted(p.name for p in site.iterdir())
    text = page_text(page)
    assert 'Examples' in text and 'Return Values' in text
    for task in task_names(module_examples(name)):
        assert re.sub(r'\s+', ' ', task) in text, task


@pytest.mark.parametrize('name', ROLES)
def test_every_role_has_a_page_with_its_examples(site, name):
    page = site / (name + '_role.html')
    assert page.is_file(), sorted(p.name for p in site.iterdir())
    spec = yaml.safe_load((ROOT / 'roles' / name / 'meta' / 'argument_specs.yml').read_text(encoding='utf-8'))
    text = page_text(page)
    for play in yaml.safe_load(spec['argument_specs']['main']['examples']):
        assert play['name'] in text
    for option in spec['argument_specs']['main']['options']:
        assert option in text


def test_index_links_every_plugin_and_role(site):
    index = (site / 'index.html').read_text(encoding='utf-8')
    for name in MODULES:
        assert name + '_module.html' in index
    for name in ROLES:
        assert name + '_role.html' in index
