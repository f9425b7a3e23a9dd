#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: atlas_apikey_whitelist_info
short_description: Read the IP access lists (whitelists) of MongoDB Atlas organization API keys
version_added: 0.1.0
description:
  - Returns every access list entry of one organization API key, with its usage data.
  - Without O(api_key), returns every API key of the organization with its list, the audit view.
author:
  - apiaccess.ipwhitelist maintainers (@apiaccess-maintainers)
extends_documentation_fragment:
  - apiaccess.ipwhitelist.atlas
  - apiaccess.ipwhitelist.connection
  - apiaccess.ipwhitelist.attributes
  - apiaccess.ipwhitelist.attributes.INFO_MODULE
  - apiaccess.ipwhitelist.attributes.ATLAS_GROUP
options:
  api_key:
    description:
      - The API key to read, by ID (24 lowercase hexadecimal characters) or 8-character public key.
      - Omit it to read every key of the organization.
    type: str
seealso:
  - module: apiaccess.ipwhitelist.atlas_apikey_whitelist
'''

EXAMPLES = r'''
- name: Read one key's access list
  apiaccess.ipwhitelist.atlas_apikey_whitelist_info:
    org_id: 5f1a2b3c4d5e6f7a8b9c0d1e
    api_key: 6a1b2c3d4e5f6a7b8c9d0e1f
  register: deploy_key

- name: Audit every key of the organization
  apiaccess.ipwhitelist.atlas_apikey_whitelist_info:
    org_id: 5f1a2b3c4d5e6f7a8b9c0d1e
  register: audit

- name: Keys that can be used from anywhere
  ansible.builtin.debug:
    msg: "{{ audit.api_keys | selectattr('entries', 'equalto', []) | map(attribute='public_key') | list }}"
'''

RETURN = r'''
api_key_id:
  description: The ID of the key read, when O(api_key) was given.
  returned: when O(api_key) is given
  type: str
  sample: 6a1b2c3d4e5f6a7b8c9d0e1f
entries:
  description: The entries of the key, when O(api_key) was given, sorted (IPv4 before IPv6, by address).
  returned: when O(api_key) is given
  type: list
  elements: dict
  contains:
    entry:
      description: Canonical CIDR of the entry.
      type: str
      returned: always
      sample: 203.0.113.10/32
    ip_address:
      description: The C(ipAddress) field as Atlas returns it (single addresses only).
      type: str
      returned: always
    cidr_block:
      description: The C(cidrBlock) field as Atlas returns it.
      type: str
      returned: always
    created:
      description: When the entry was added (ISO 8601, UTC).
      type: str
      returned: always
    last_used:
      description: Last request from this entry, or V(null) if never used.
      type: str
      returned: always
    last_used_address:
      description: Address of the last request from this entry, or V(null).
      type: str
      returned: always
    count:
      description: Number of requests from this entry.
      type: int
      returned: always
    days_unused:
      description:
        - Whole days since the last request from this entry or, when it was never used, since it was created; the
          figure that O(apiaccess.ipwhitelist.atlas_apikey_whitelist#module:remove_unused_after) compares.
      type: int
      returned: always
      sample: 97
api_keys:
  description: Every API key of the organization with its entries, when O(api_key) was omitted.
  returned: when O(api_key) is omitted
  type: list
  elements: dict
  contains:
    id:
      description: Key ID.
      type: str
      returned: always
    public_key:
      description: Public key.
      type: str
      returned: always
    desc:
      description: Description of the key.
      type: str
      returned: always
    roles:
      description: Role names of the key.
      type: list
      elements: str
      returned: always
    entries:
      description: The key's entries, shaped as RV(entries).
      type: list
      elements: dict
      returned: always
requests:
  description: Number of HTTP requests made.
  returned: always
  type: int
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.atlas import (
    atlas_argument_spec, build_api, classify_api_key, list_infos, validate_connection,
)
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.common import check_libraries, run_module


def main():
    argument_spec = atlas_argument_spec()
    argument_spec.update(api_key=dict(type='str', no_log=False))
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    check_libraries(module)
    params = module.params

    def work():
        validate_connection(params)
        if params['api_key'] is not None:
            classify_api_key(params['api_key'])
        api = build_api(params)
        module.apiaccess_client = api.client
        org_id = params['org_id']
        if params['api_key'] is not None:
            key_id = api.resolve_key(org_id, params['api_key'])
            return dict(changed=False, api_key_id=key_id, entries=list_infos(api.access_list('api_key', org_id, key_id)))
        keys = []
        for key in api.list_keys(org_id):
            keys.append(dict(id=key['id'], public_key=key.get('publicKey'), desc=key.get('desc'),
                             roles=[r.get('roleName') for r in key.get('roles') or []],
                             entries=list_infos(api.access_list('api_key', org_id, key['id']))))
        return dict(changed=False, api_keys=keys)

    run_module(module, work)


if __name__ == '__main__':
    main()
