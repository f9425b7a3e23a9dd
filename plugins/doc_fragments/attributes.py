# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment(object):

    DOCUMENTATION = r'''
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying the target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
'''

    ATLAS_GROUP = r'''
attributes:
  action_group:
    description: Use C(group/apiaccess.ipwhitelist.atlas) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - apiaccess.ipwhitelist.atlas
'''

    WOODCORE_GROUP = r'''
attributes:
  action_group:
    description: Use C(group/apiaccess.ipwhitelist.woodcore) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - apiaccess.ipwhitelist.woodcore
'''

    INFO_MODULE = r'''
attributes:
  check_mode:
    support: full
    details:
      - This action does not modify state.
  diff_mode:
    support: N/A
    details:
      - This action does not modify state.
'''
