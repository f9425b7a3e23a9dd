#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: woodcore_ipwhitelist_info
short_description: Read the key profile and whitelisted IP of a Woodcore gateway API key
version_added: 0.1.0
description:
  - Reads C(GET /gateway/keyprofile) and returns the profile with every secret value masked, plus the
    whitelisted IP and any pending IP the gateway shows.
  - Also returns the request known to wait for OTP approval (RV(pending_request)). It comes from the key profile when
    the gateway shows one, else from O(pending_request) or the local record in O(pending_state_path), the
    same sources M(apiaccess.ipwhitelist.woodcore_ipwhitelist) uses. Never the OTP.
author:
  - apiaccess.ipwhitelist maintainers (@apiaccess-maintainers)
extends_documentation_fragment:
  - apiaccess.ipwhitelist.woodcore
  - apiaccess.ipwhitelist.woodcore.PENDING
  - apiaccess.ipwhitelist.connection
  - apiaccess.ipwhitelist.attributes
  - apiaccess.ipwhitelist.attributes.INFO_MODULE
  - apiaccess.ipwhitelist.attributes.WOODCORE_GROUP
seealso:
  - module: apiaccess.ipwhitelist.woodcore_ipwhitelist
'''

EXAMPLES = r'''
- name: Which IP does the payments key whitelist?
  apiaccess.ipwhitelist.woodcore_ipwhitelist_info:
    api_key: "{{ woodcore_api_key }}"
  register: key_info

- name: Show it
  ansible.builtin.debug:
    msg: "{{ key_info.ip | default('no IP', true) }}"
'''

RETURN = r'''
ip:
  description: The whitelisted IP, or V(null) when the key has none.
  returned: success
  type: str
  sample: 203.0.113.7
pending_ip:
  description: The IP waiting for approval, when the gateway shows one; otherwise V(null).
  returned: success
  type: str
pending_request:
  description:
    - The request known to wait for approval, or V(null). Never the OTP.
    - O(pending_request) and the local record name the request this collection made; the key profile shows what
      the gateway holds.
  returned: success
  type: dict
  contains:
    ip:
      description: The IP the request is for.
      type: str
    action:
      description: V(whitelist) or V(remove).
      type: str
    requested_at:
      description: When it was requested (UTC), or first seen in the key profile.
      type: str
    age_seconds:
      description: Seconds since RV(pending_request.requested_at).
      type: int
    source:
      description: Where it was learned (the key profile, the pending_request handed in, or the local record).
      type: str
  sample: {ip: 203.0.113.8, action: whitelist, requested_at: '2026-12-02T10:00:00Z', age_seconds: 95,
           source: the local record /root/.cache/apiaccess.ipwhitelist/woodcore-pending.json}
profile:
  description:
    - The C(data) object of the key profile, with API keys, tokens and other secret values masked.
    - Its fields are defined by Woodcore and not documented.
  returned: success
  type: dict
profile_ip_field:
  description: The profile field read as the whitelisted IP.
  returned: success
  type: str
  sample: whitelistedIp
requests:
  description: Number of HTTP requests made.
  returned: always
  type: int
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.common import check_libraries, run_module
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.woodcore import (
    DEFAULT_LEDGER, Converger, PendingLedger, build_api, pending_request_spec, record_time, validate_connection,
    woodcore_argument_spec,
)


def main():
    argument_spec = woodcore_argument_spec()
    argument_spec.update(
        pending_state_path=dict(type='str', default=DEFAULT_LEDGER),
        pending_request=dict(type='dict', options=pending_request_spec()),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    check_libraries(module)
    params = module.params

    def work():
        validate_connection(params)
        api = build_api(params)
        module.apiaccess_client = api.client
        known_from = Converger(api, dict(params, resend_after=0), ledger=PendingLedger(params['pending_state_path']))
        profile = api.profile()
        known, source = known_from.known_pending(profile)
        pending = None
        if known:
            age = max(0, int(known_from.clock() - record_time(known)))
            pending = dict(ip=known['ip'], action=known['action'], requested_at=known['requested_at'],
                           age_seconds=age, source=source)
        for warning in known_from.warnings:
            module.warn(warning)
        return dict(changed=False, ip=profile.ip, pending_ip=profile.pending_ip, pending_request=pending,
                    profile=profile.masked(params['api_key']), profile_ip_field=profile.ip_field)

    run_module(module, work)


if __name__ == '__main__':
    main()
