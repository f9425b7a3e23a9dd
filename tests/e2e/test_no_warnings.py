# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""An ``ansible`` command of the pinned toolchain prints no warning at all.

cryptography 51 deprecated DSA, and ansible-core (2.19 to 2.21) imports the DSA classes at start-up, so every
command printed a CryptographyDeprecationWarning until requirements.txt pinned cryptography below 51. Warnings
are not filtered here: the command runs as a user would run it (ANSIBLE_CONFIG and ANSIBLE_COLLECTIONS_PATH
only, as in the README), and anything on stderr fails the test."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ansible_collections.apiaccess.ipwhitelist.tests.unit.conftest import ORG, PRIVATE, PUBLIC

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def test_an_ansible_command_prints_no_warning(atlas, tmp_path):
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith(('PYTHONWARNINGS', 'ANSIBLE_')))
    env.update(ANSIBLE_CONFIG=str(ROOT / 'ansible.cfg'), ANSIBLE_COLLECTIONS_PATH=str(ROOT / '.collections'),
               ANSIBLE_LOCAL_TEMP=str(tmp_path / 'ansible-local'), MONGODB_ATLAS_BASE_URL=atlas.url,
               MONGODB_ATLAS_PUBLIC_API_KEY=PUBLIC, MONGODB_ATLAS_PRIVATE_API_KEY=PRIVATE)
    proc = subprocess.run([str(BIN / 'ansible'), 'localhost', '-m', 'apiaccess.ipwhitelist.atlas_apikey_whitelist_info',
                           '-a', 'org_id=%s' % ORG], env=env, cwd=str(tmp_path), capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'SUCCESS' in proc.stdout, proc.stdout
    warnings = [line for line in proc.stderr.splitlines() if 'warn' in line.lower()]
    assert warnings == [], proc.stderr
    assert proc.stderr.strip() == '', proc.stderr
