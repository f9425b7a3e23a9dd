# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The guides' placeholders in docs/docsite/rst/ ship in the collection: an antsibull-docs build other than
scripts/docs.sh shows them as they are, so each links to its guide in the repository (galaxy.yml
``repository``). They are what tests/tools/docsite_guides.py generates."""

from __future__ import annotations

from pathlib import Path

import pytest

from ansible_collections.apiaccess.ipwhitelist.tests.tools import docsite_guides

ROOT = Path(__file__).resolve().parent.parent.parent
REFS = docsite_guides.guides(str(ROOT))


@pytest.mark.parametrize('ref', REFS)
def test_each_placeholder_is_the_generated_one(ref):
    checked_in = (ROOT / 'docs' / 'docsite' / 'rst' / (ref + '.rst')).read_text(encoding='utf-8')
    repository = docsite_guides.repository_of(str(ROOT))
    generated = docsite_guides.placeholder(ref, docsite_guides.placeholder_title(str(ROOT), ref), repository)
    assert checked_in == generated, 'run: python tests/tools/docsite_guides.py --placeholders .'


@pytest.mark.parametrize('ref', REFS)
def test_each_placeholder_links_to_its_guide_in_the_repository(ref):
    text = (ROOT / 'docs' / 'docsite' / 'rst' / (ref + '.rst')).read_text(encoding='utf-8')
    url = 'https://github.com/example/apiaccess.ipwhitelist/blob/main/docs/%s.md' % ref
    assert docsite_guides.repository_of(str(ROOT)) == 'https://github.com/example/apiaccess.ipwhitelist'
    assert '`docs/%s.md <%s>`__' % (ref, url) in text
    assert (ROOT / 'docs' / (ref + '.md')).is_file()


def test_a_new_guide_gets_its_heading_as_title(tmp_path):
    (tmp_path / 'docs' / 'docsite' / 'rst').mkdir(parents=True)
    (tmp_path / 'docs' / 'new.md').write_text('Intro\n# The `new` guide: more\n\ntext\n', encoding='utf-8')
    assert docsite_guides.placeholder_title(str(tmp_path), 'new') == 'The new guide: more'
    text = docsite_guides.placeholder('new', 'The new guide', 'https://example.org/repo/')
    assert 'The new guide\n=============\n' in text
    assert '`docs/new.md <https://example.org/repo/blob/main/docs/new.md>`__' in text
