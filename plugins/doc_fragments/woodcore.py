# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment(object):

    # Woodcore connection and credentials (woodcore.woodcore_argument_spec).
    DOCUMENTATION = r'''
options:
  api_key:
    description:
      - "The Woodcore API key, sent as C(Authorization: Bearer). Sandbox keys start with C(wc_test_),
        live keys with C(wc_live_)."
      - If not set, the environment variable E(WOODCORE_API_KEY) is used, then the contents of the file named by
        E(WOODCORE_API_KEY_FILE) (as the AWX credential injects it).
    type: str
    required: true
  base_url:
    description:
      - Gateway base URL including C(/api/v2).
      - If not set, E(WOODCORE_BASE_URL) is used; otherwise it follows the key prefix,
        V(https://spark.test.woodcore.co/api/v2) for C(wc_test_) keys and
        V(https://api.woodcoreapp.com/api/v2) for C(wc_live_) keys, as in Woodcore's original documentation.
      - Newer Woodcore documentation names V(https://api.woodcore.co/api/v2) for production and says
        C(woodcoreapp.com) is being retired; set this option to move.
    type: str
  profile_ip_field:
    description:
      - Dotted path, inside the C(data) object of C(GET /gateway/keyprofile), of the field that holds the
        whitelisted IP, for example V(whitelistedIp) or V(security.ipWhitelist).
      - Woodcore does not document the profile's fields. By default the module looks for one field whose
        name mentions a whitelist or IP (and not pending) and fails, listing the candidates, when there is
        none or more than one.
    type: str
  profile_pending_field:
    description:
      - Dotted path of the key profile field that shows an IP waiting for approval, if the gateway shows one.
      - By default a field whose name mentions pending and an IP or whitelist is used, if there is one.
    type: str
'''

    # The pending request handed in from an earlier run (woodcore.pending_request_spec).
    PENDING = r'''
options:
  pending_state_path:
    description:
      - File on the host running the module where pending requests are recorded, keyed by a hash of the
        API key (the key itself is never written). Set to an empty string to disable the record.
    type: str
    default: ~/.cache/apiaccess.ipwhitelist/woodcore-pending.json
  pending_request:
    description:
      - The RV(apiaccess.ipwhitelist.woodcore_ipwhitelist#module:pending_request) an earlier run returned, handed back,
        for runs that do not share O(pending_state_path) (every AWX job starts in a fresh execution environment).
      - It holds the key's fingerprint (a hash, never the key), the action, the IP and the request time; never
        the OTP. A record for another key is ignored with a warning.
    type: dict
    suboptions:
      key_fingerprint:
        description: Fingerprint of the API key the request was made for.
        type: str
        required: true
      action:
        description: V(whitelist) or V(remove).
        type: str
        required: true
        choices: [whitelist, remove]
      ip:
        description: The IP the request is for.
        type: str
        required: true
      requested_at:
        description: When it was requested, UTC, like V(2026-12-02T10:00:00Z).
        type: str
        required: true
'''
