# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""End-to-end fixtures: simulators on loopback and the real ansible / ansible-playbook CLIs."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

# the simulator fixtures are defined once, in the unit tests' conftest
from ansible_collections.apiaccess.ipwhitelist.tests.unit.conftest import (  # noqa: F401 pylint: disable=unused-import
    atlas, woodcore,
)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PLAYBOOKS = HERE / 'playbooks'
BIN = Path(sys.executable).parent


class Run(object):
    def __init__(self, proc):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.output = proc.stdout + proc.stderr

    def recap(self):
        match = re.search(r'localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)', self.stdout)
        assert match, self.output[-3000:]
        return dict(zip(('ok', 'changed', 'unreachable', 'failed'), map(int, match.groups())))

    def result(self):
        """The JSON result of an ad-hoc run with the minimal callback."""
        return json.loads(self.stdout.split('=>', 1)[1])


def _env(tmp_path, extra=None):
    env = dict(os.environ)
    env.update({
        'ANSIBLE_CONFIG': str(ROOT / 'ansible.cfg'),
        'ANSIBLE_COLLECTIONS_PATH': str(ROOT / '.collections'),
        'ANSIBLE_LOCALHOST_WARNING': '0',
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_FORCE_COLOR': '0',
        'ANSIBLE_LOCAL_TEMP': str(tmp_path / 'ansible-local'),
        'ANSIBLE_REMOTE_TEMP': str(tmp_path / 'ansible-remote'),
        'HOME': os.environ.get('HOME', str(tmp_path)),
    })
    env.update(extra or {})
    return env


@pytest.fixture
def ansible_playbook(tmp_path):
    def run(playbook, *args, extra_vars=None, env=None):
        cmd = [str(BIN / 'ansible-playbook'), str(PLAYBOOKS / playbook)]
        if extra_vars:  # in a file, as users keep (vaulted) secrets: -vvvv echoes the command line
            path = tmp_path / ('extra-vars-%d.json' % len(list(tmp_path.glob('extra-vars-*.json'))))
            path.write_text(json.dumps(extra_vars))
            cmd += ['-e', '@%s' % path]
        cmd += list(args)
        return Run(subprocess.run(cmd, env=_env(tmp_path, env), capture_output=True, text=True, cwd=str(ROOT),
                                  timeout=600, check=False))
    return run


@pytest.fixture
def ansible_adhoc(tmp_path):
    def run(module, module_args, *args, env=None):
        cmd = [str(BIN / 'ansible'), 'localhost', '-m', 'apiaccess.ipwhitelist.' + module, '-a',
               json.dumps(module_args)] + list(args)
        extra = {'ANSIBLE_STDOUT_CALLBACK': 'ansible.builtin.minimal'}
        extra.update(env or {})
        return Run(subprocess.run(cmd, env=_env(tmp_path, extra), capture_output=True, text=True, cwd=str(ROOT),
                                  timeout=300, check=False))
    return run
