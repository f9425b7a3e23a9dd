# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The docs site (scripts/docs.sh: antsibull-docs + Sphinx) has a page for every module and the
role, and each page carries that plugin's examples; the guides (docs/*.md) are on it too, linked from
the collection's index, and a browser (headless Chromium) shows one with its real text."""

from __future__ import annotations

import ast
import html
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ansible_collections.apiaccess.ipwhitelist.tests.unit.conftest import MODULES

ROOT = Path(__file__).resolve().parent.parent.parent
GUIDES = sorted(p.stem for p in (ROOT / 'docs').glob('*.md'))
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
    return visible_text(path.read_text(encoding='utf-8'))


def visible_text(markup):
    return re.sub(r'\s+', ' ', html.unescape(re.sub(r'<[^>]+>', '', markup)))


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


def test_index_links_every_guide(site):
    index = (site / 'index.html').read_text(encoding='utf-8')
    assert 'Guides' in page_text(site / 'index.html')
    for name in GUIDES:
        assert 'href="docsite/%s.html"' % name in index, name


def browser():
    found = next(filter(None, map(shutil.which, ('chromium', 'chromium-browser', 'google-chrome'))), None)
    if not found:
        pytest.skip('no Chromium on this machine (scripts/test.sh installs the Debian package where it can)')
    return found


def test_a_browser_shows_a_guide_with_its_text(site, tmp_path):
    """The role guide, opened from the index's link in headless Chromium, is the Markdown of docs/role.md,
    rendered: its title, every section heading and a sentence of its text; its link to a heading of another
    guide lands on that heading; and the antsibull-docs placeholder it took the place of is gone."""
    index = (site / 'index.html').read_text(encoding='utf-8')
    href = re.search(r'href="(docsite/role\.html)"', index).group(1)
    # --no-sandbox: the test may run as root (containers, CI), where Chromium's sandbox refuses to start
    proc = subprocess.run([browser(), '--headless', '--no-sandbox', '--disable-gpu', '--user-data-dir=%s' % tmp_path,
                           '--dump-dom', (site / href).as_uri()], capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 0 and '</html>' in proc.stdout, proc.stderr[-2000:]
    dom = proc.stdout
    # Sphinx's smart quotes, undone
    text = visible_text(dom).translate({0x2018: "'", 0x2019: "'", 0x201c: '"', 0x201d: '"'})
    source = (ROOT / 'docs' / 'role.md').read_text(encoding='utf-8')
    prose = re.sub(r'^```.*?^```', '', source, flags=re.M | re.S)  # not the comments in code blocks
    lines = [line.replace('`', '') for line in prose.splitlines()]
    headings = [line.lstrip('#').strip() for line in lines if re.match(r'#{1,3} ', line)]
    assert len(headings) > 3, headings
    assert re.search(r'<title>%s' % re.escape(headings[0]), dom)
    for heading in headings:
        assert heading in text, heading
    first_sentence = next(line for line in lines[1:] if line.strip() and not line.startswith('#')).split('.')[0]
    assert len(first_sentence) > 30 and first_sentence in text, first_sentence
    assert 'This guide is docs/role.md in the collection' not in text  # the placeholder
    # a link to another guide's heading, as written in the Markdown, lands on an anchor of that page
    link = re.search(r'href="atlas-access-lists\.html#([^"]+)"', dom)
    assert link, 'role.md links to atlas-access-lists.md#...'
    target = (site / 'docsite' / 'atlas-access-lists.html').read_text(encoding='utf-8')
    assert 'id="%s"' % link.group(1) in target
