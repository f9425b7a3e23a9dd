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
author:
  - apiaccess.ipwhitelist maintainers (@apiaccess-maintainers)
extends_documentation_fragment:
  - apiaccess.ipwhitelist.woodcore
  - apiaccess.ipwhitelist.connection
  - apiaccess.ipwhitelist.attributes
  - apiaccess.ipwhitelist.attributes.INFO_MODULE
  - apiaccess.ipwhitelist.attributes.WOODCORE_GROUP
requirements:
  - requests
  - netaddr
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
    build_api, validate_connection, woodcore_argument_spec,
)


def main():
    module = AnsibleModule(argument_spec=woodcore_argument_spec(), supports_check_mode=True)
    check_libraries(module)
    params = module.params

    def work():
        validate_connection(params)
        api = build_api(params)
        module.apiaccess_client = api.client
        profile = api.profile()
        return dict(changed=False, ip=profile.ip, pending_ip=profile.pending_ip,
                    profile=profile.masked(params['api_key']), profile_ip_field=profile.ip_field)

    run_module(module, work)


if __name__ == '__main__':
    main()
