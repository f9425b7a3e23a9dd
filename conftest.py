# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Make ``ansible_collections.apiaccess.ipwhitelist`` importable from the live checkout.

The repo root is the collection; a git-ignored symlink farm exposes it under .collections/.
Inside ansible-test's copy (already under ansible_collections/) this does nothing.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
if ROOT.parent.parent.name != 'ansible_collections':
    FARM = ROOT / '.collections'
    LINK = FARM / 'ansible_collections' / 'apiaccess' / 'ipwhitelist'
    if not LINK.is_symlink():
        LINK.parent.mkdir(parents=True, exist_ok=True)
        try:
            LINK.symlink_to(Path('..') / '..' / '..', target_is_directory=True)
        except FileExistsError:  # another pytest-xdist worker made it first
            pass
    sys.path.insert(0, str(FARM))
    os.environ['ANSIBLE_COLLECTIONS_PATH'] = str(FARM)  # subprocess `ansible` sees the live code too
    os.environ.setdefault('ANSIBLE_CONFIG', str(ROOT / 'ansible.cfg'))
