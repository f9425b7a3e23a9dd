# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The built collection tarball holds the collection and no development leftovers."""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def test_built_tarball_has_no_dev_files(tmp_path):
    galaxy = str(Path(sys.executable).parent / 'ansible-galaxy')
    subprocess.run([galaxy, 'collection', 'build', '--force', '--output-path', str(tmp_path), str(ROOT)],
                   check=True, capture_output=True, text=True)
    tarball = next(tmp_path.glob('apiaccess-ipwhitelist-*.tar.gz'))
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
        members = archive.getmembers()
    assert 'plugins/modules/atlas_apikey_whitelist.py' in names
    assert 'roles/fleet_whitelist/meta/argument_specs.yml' in names
    assert 'MANIFEST.json' in names
    forbidden = ('.venv', '.venv311', '.collections', 'collections', '.ansible', '.git', '.pytest_cache',
                 'tests/output', 'scripts', '.ci', 'bench/results', '.hypothesis', '.cache')
    leaked = [n for n in names if any(n == f or n.startswith(f + '/') for f in forbidden) or '__pycache__' in n]
    assert leaked == []
    assert not [m.name for m in members if m.issym() or m.islnk()]
