# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Offline stand-in for ansible-test's get-pip bootstrap script.

ansible-test downloads get-pip-<version>.py from a host this machine cannot reach; it takes a
file placed at ~/.ansible/test/cache/get_pip_<version>.py instead. This one bootstraps pip with
ensurepip (in a subprocess, so pip.conf settings such as ``cert`` stay visible) and installs the
requested pip from the package index.
"""

from __future__ import annotations

import subprocess
import sys

FLAGS = {'--no-setuptools', '--no-wheel'}
ARGS = [a for a in sys.argv[1:] if a not in FLAGS]
subprocess.check_call([sys.executable, '-m', 'ensurepip', '--default-pip'], stdout=subprocess.DEVNULL)
subprocess.check_call([sys.executable, '-m', 'pip', 'install', '-q', '--disable-pip-version-check'] + ARGS)
HAS_SETUPTOOLS = subprocess.call([sys.executable, '-m', 'pip', 'show', '-q', 'setuptools'],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) == 0
if '--no-setuptools' in sys.argv and HAS_SETUPTOOLS:
    # only when present: uninstalling a missing package prints "Skipping setuptools ..." every time
    subprocess.call([sys.executable, '-m', 'pip', 'uninstall', '-q', '-y', 'setuptools'])
