# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment(object):

    # The Atlas connection of the modules that work on many targets at once (fleet_converge, access_audit):
    # atlas.atlas_argument_spec's options prefixed with atlas_ (fleet.argument_spec), one credential for every
    # Atlas target.
    DOCUMENTATION = r'''
options:
  atlas_base_url:
    description:
      - Atlas base URL. If not set, E(MONGODB_ATLAS_BASE_URL) is used.
    type: str
    default: https://cloud.mongodb.com
  atlas_public_key:
    description:
      - Atlas API key (public part) used for every Atlas target. If not set, E(MONGODB_ATLAS_PUBLIC_API_KEY)
        or E(MONGODB_ATLAS_PUBLIC_KEY) is used.
    type: str
  atlas_private_key:
    description:
      - Atlas API key (private part). If not set, E(MONGODB_ATLAS_PRIVATE_API_KEY) or
        E(MONGODB_ATLAS_PRIVATE_KEY) is used, then the file named by E(MONGODB_ATLAS_PRIVATE_API_KEY_FILE).
    type: str
  atlas_client_id:
    description:
      - Atlas service account client ID, instead of an API key. If not set, E(MONGODB_ATLAS_CLIENT_ID) is used.
    type: str
  atlas_client_secret:
    description:
      - Atlas service account secret. If not set, E(MONGODB_ATLAS_CLIENT_SECRET) is used, then the file named by
        E(MONGODB_ATLAS_CLIENT_SECRET_FILE).
    type: str
  api_version:
    description: Atlas API form, as in M(apiaccess.ipwhitelist.atlas_apikey_whitelist).
    type: str
    choices: [v2, v1_access_list, v1_whitelist]
    default: v2
  api_path_prefix:
    description: Atlas API path prefix, as in M(apiaccess.ipwhitelist.atlas_apikey_whitelist).
    type: str
'''
