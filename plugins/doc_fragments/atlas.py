# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment(object):

    # Atlas connection and credentials (atlas.atlas_argument_spec).
    DOCUMENTATION = r'''
options:
  base_url:
    description:
      - Atlas (or Ops Manager / Cloud Manager) base URL, without the API path.
      - If not set, the environment variable E(MONGODB_ATLAS_BASE_URL) is used.
    type: str
    default: https://cloud.mongodb.com
  org_id:
    description:
      - The organization ID, 24 lowercase hexadecimal characters.
    type: str
    required: true
  public_key:
    description:
      - Public part of an organization API key (8 characters), the HTTP digest user name.
      - If not set, E(MONGODB_ATLAS_PUBLIC_API_KEY) is used, then the older E(MONGODB_ATLAS_PUBLIC_KEY).
      - Give either O(public_key) and O(private_key), or O(client_id) and O(client_secret).
    type: str
  private_key:
    description:
      - Private part of the organization API key, the HTTP digest password.
      - If not set, E(MONGODB_ATLAS_PRIVATE_API_KEY) is used, then the older E(MONGODB_ATLAS_PRIVATE_KEY), then
        the contents of the file named by E(MONGODB_ATLAS_PRIVATE_API_KEY_FILE) (as the AWX credential injects it).
    type: str
  client_id:
    description:
      - Service account client ID (OAuth2 client credentials).
      - The module fetches one token per run from C(<base_url>/api/oauth/token), reuses it, and
        refreshes it once if a request answers 401.
      - If not set, E(MONGODB_ATLAS_CLIENT_ID) is used.
    type: str
  client_secret:
    description:
      - Service account client secret.
      - If not set, E(MONGODB_ATLAS_CLIENT_SECRET) is used, then the contents of the file named by
        E(MONGODB_ATLAS_CLIENT_SECRET_FILE).
    type: str
  api_version:
    description:
      - Which form of the API to use.
      - V(v2) is the current Atlas Admin API (C(/api/atlas/v2/.../accessList), versioned media type).
      - V(v1_access_list) is the deprecated v1.0 C(.../accessList); V(v1_whitelist) is the legacy
        v1.0 C(.../whitelist) form, still the shape of older Ops Manager and Cloud Manager APIs.
      - Atlas cloud switched the C(/whitelist) API off in 2021; V(v1_whitelist) against C(cloud.mongodb.com) warns
        (it answers 404 there). Keep it for Ops Manager (with O(api_path_prefix=/api/public/v1.0)).
      - Service-account lists exist only in v2 (media type C(application/vnd.atlas.2024-08-05+json)); the
        service-account modules ignore this option.
    type: str
    choices: [v2, v1_access_list, v1_whitelist]
    default: v2
  api_path_prefix:
    description:
      - Path prefix of the API, when it differs from the default of O(api_version)
        (C(/api/atlas/v2) or C(/api/atlas/v1.0)).
      - Ops Manager and Cloud Manager serve the v1.0 API under V(/api/public/v1.0).
    type: str
notes:
  - The credentials need the Organization Owner role (or a custom role that can manage API keys) to
    change access lists, and Organization Member to read them.
  - If the organization requires an API access list, the controller's egress IP must already be on the
    calling key's list; Atlas refuses to remove the caller's own IP from the caller's own key.
'''
