#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: atlas_apikey_whitelist
short_description: Manage the IP access list (whitelist) of a MongoDB Atlas organization API key
version_added: 0.1.0
description:
  - Makes the access list of one Atlas organization API key contain the given IP addresses and CIDR
    blocks, and optionally nothing else.
  - Entries are compared as networks, so V(1.2.3.4) and V(1.2.3.4/32) are the same entry and
    IPv6 spelling does not matter.
  - Reads every page of the list, sends B(one) POST with all missing entries before any DELETE (so moving
    the controller from an old address to a new one in one run works), and one DELETE per removed entry.
  - A POST whose response is lost, or that conflicts with a concurrent writer, is followed by a re-read;
    only entries still missing are sent again, so nothing is duplicated.
author:
  - apiaccess.ipwhitelist maintainers (@apiaccess-maintainers)
extends_documentation_fragment:
  - apiaccess.ipwhitelist.atlas
  - apiaccess.ipwhitelist.access_list
  - apiaccess.ipwhitelist.access_list.CONCURRENCY
  - apiaccess.ipwhitelist.connection
  - apiaccess.ipwhitelist.attributes
  - apiaccess.ipwhitelist.attributes.ATLAS_GROUP
attributes:
  check_mode:
    support: full
    details:
      - No writes. The access list is read (GET), and so is the organization's key list when O(api_key) is a
        public key; a service account also makes its OAuth token request (C(POST /api/oauth/token)).
  diff_mode:
    support: full
    details:
      - The before and after access lists, as sorted canonical CIDRs.
options:
  api_key:
    description:
      - The API key whose access list is managed.
      - Either its ID (24 lowercase hexadecimal characters) or its 8-character public key. A public key
        is resolved to the ID through the paginated list of the organization's API keys.
    type: str
    required: true
notes:
  - Requests made. V(floor(total/500\) + 1) GETs of the access list. When O(api_key) is a public key, the pages of
    the organization's key list read to find its ID, V(floor(keys/500\) + 1) at most. At most one POST. One DELETE per
    removed entry. With a service account, one token request (C(POST /api/oauth/token)) per run.
  - After a C(409) conflict or a lost POST response, the list is read again (V(floor(total/500\) + 1) GETs) and only
    what is still missing is posted, in at most three rounds, so nothing is ever sent twice.
  - A failure after a write reports C(changed=true) together with RV(added) and RV(removed), what was already done.
seealso:
  - module: apiaccess.ipwhitelist.atlas_apikey_whitelist_info
  - name: Atlas Admin API, Programmatic API Keys
    description: Access list endpoints of organization API keys.
    link: https://www.mongodb.com/docs/atlas/reference/api-resources-spec/v2/#tag/Programmatic-API-Keys
'''

EXAMPLES = r'''
- name: Allow the CI runners and the office network to use the deploy key
  apiaccess.ipwhitelist.atlas_apikey_whitelist:
    org_id: 5f1a2b3c4d5e6f7a8b9c0d1e
    api_key: 6a1b2c3d4e5f6a7b8c9d0e1f
    entries:
      - 203.0.113.10
      - 198.51.100.0/24
    public_key: "{{ atlas_public_key }}"
    private_key: "{{ atlas_private_key }}"

- name: Make the list exactly this, keeping the bastion (credentials from MONGODB_ATLAS_* env)
  apiaccess.ipwhitelist.atlas_apikey_whitelist:
    org_id: 5f1a2b3c4d5e6f7a8b9c0d1e
    api_key: deployky          # the public key works too
    entries: "{{ groups['app'] | map('extract', hostvars, 'egress_ip') | list }}"
    purge: true
    keep:
      - 192.0.2.5

- name: Remove an old NAT gateway, with a service account
  apiaccess.ipwhitelist.atlas_apikey_whitelist:
    org_id: 5f1a2b3c4d5e6f7a8b9c0d1e
    api_key: 6a1b2c3d4e5f6a7b8c9d0e1f
    entries: [198.51.100.7]
    state: absent
    client_id: "{{ atlas_client_id }}"
    client_secret: "{{ atlas_client_secret }}"

- name: Ops Manager, legacy whitelist API
  apiaccess.ipwhitelist.atlas_apikey_whitelist:
    base_url: https://opsmanager.example.com:8443
    api_version: v1_whitelist
    api_path_prefix: /api/public/v1.0
    org_id: 5f1a2b3c4d5e6f7a8b9c0d1e
    api_key: 6a1b2c3d4e5f6a7b8c9d0e1f
    entries: [10.20.0.0/16]
'''

RETURN = r'''
api_key_id:
  description: The 24-hex ID of the key (resolved when O(api_key) was a public key).
  returned: success
  type: str
  sample: 6a1b2c3d4e5f6a7b8c9d0e1f
entries:
  description: The access list after the task (predicted in check mode), sorted canonical CIDRs.
  returned: success
  type: list
  elements: str
  sample: ["198.51.100.0/24", "203.0.113.10/32"]
added:
  description: Entries added (to be added in check mode).
  returned: always
  type: list
  elements: str
  sample: ["203.0.113.10/32"]
removed:
  description: Entries removed (to be removed in check mode). On failure, what was already removed.
  returned: always
  type: list
  elements: str
  sample: ["192.0.2.99/32"]
kept_for_caller:
  description: Entries the plan would remove but that were kept, because they hold the address this run calls from.
  returned: success
  type: list
  elements: str
  sample: ["198.51.100.7/32"]
current_ip:
  description: This controller's address as Atlas sees it, added to the list (O(current_ip=true)).
  returned: when O(current_ip=true)
  type: str
  sample: 198.51.100.7/32
diff:
  description: Before and after access lists.
  returned: success
  type: dict
  contains:
    before:
      description: The list before the task.
      type: dict
      returned: success
    after:
      description: The list after the task.
      type: dict
      returned: success
requests:
  description: Number of HTTP requests the task made (retries included, digest challenges not).
  returned: always
  type: int
  sample: 2
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.atlas import (
    access_list_argument_spec, atlas_argument_spec, classify_api_key, concurrency_argument_spec, run_list_module,
)
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.common import check_libraries, run_module


def main():
    argument_spec = atlas_argument_spec()
    argument_spec.update(access_list_argument_spec())
    argument_spec.update(concurrency_argument_spec())
    argument_spec.update(api_key=dict(type='str', required=True, no_log=False))
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    check_libraries(module)
    params = module.params

    def work():
        # Everything that can be checked without the network is checked first: bad input sends nothing.
        classify_api_key(params['api_key'])
        key_id, result = run_list_module(module, 'api_key', params['org_id'],
                                         lambda api: api.resolve_key(params['org_id'], params['api_key']))
        result['api_key_id'] = key_id
        return result

    run_module(module, work)


if __name__ == '__main__':
    main()
