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
requirements:
  - requests
  - netaddr
options:
  api_key:
    description:
      - The API key whose access list is managed.
      - Either its ID (24 lowercase hexadecimal characters) or its 8-character public key. A public key
        is resolved to the ID through the paginated list of the organization's API keys.
    type: str
    required: true
  entries:
    description:
      - IP addresses and CIDR blocks, IPv4 or IPv6, in any common notation (V(1.2.3.4), V(1.2.3.4/32),
        V(10.0.0.0/24), V(10.0.0.0/255.255.255.0), V(2001:DB8::/32)).
      - Invalid values fail the task before any request is sent, naming each bad value. CIDR blocks
        with host bits set are refused (the message gives the network form).
    type: list
    elements: str
    default: []
  state:
    description:
      - V(present) adds O(entries) that are missing.
      - V(absent) removes O(entries) that are there.
    type: str
    choices: [present, absent]
    default: present
  purge:
    description:
      - With O(state=present), also remove every entry that is not in O(entries) and not covered by O(keep).
    type: bool
    default: false
  keep:
    description:
      - Entries that this task never removes, for example the address of a bastion host or the
        controller itself. An existing entry is kept if it equals or lies inside one of these networks.
      - Listing an entry in both O(keep) and O(entries) with O(state=absent) is an error.
    type: list
    elements: str
    default: []
  allow_empty:
    description:
      - Allow the task to remove the last entry of the list.
      - An empty access list means the key is usable from anywhere, or from nowhere if the organization
        requires an access list, so this is refused unless set.
    type: bool
    default: false
  allow_any:
    description:
      - Allow entries that cover a large part of the internet, such as V(0.0.0.0/0) and V(::/0)
        (IPv4 networks shorter than /8, IPv6 shorter than /16). Refused unless set.
    type: bool
    default: false
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

from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import addresses
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.atlas import (
    atlas_argument_spec, build_api, check_absent_vs_keep, classify_api_key, converge, unseen_entries_warning,
    validate_connection,
)
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.common import check_libraries, run_module


def main():
    argument_spec = atlas_argument_spec()
    argument_spec.update(
        api_key=dict(type='str', required=True, no_log=False),
        entries=dict(type='list', elements='str', default=[]),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        purge=dict(type='bool', default=False),
        keep=dict(type='list', elements='str', default=[], no_log=False),
        allow_empty=dict(type='bool', default=False),
        allow_any=dict(type='bool', default=False),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    check_libraries(module)
    params = module.params

    def work():
        # Everything that can be checked without the network is checked first: bad input sends nothing.
        validate_connection(params)
        classify_api_key(params['api_key'])
        wanted = addresses.parse_networks(params['entries'], allow_any=params['allow_any'])
        keep = addresses.parse_networks(params['keep'], allow_any=True)
        if params['state'] == 'absent':
            check_absent_vs_keep(wanted, keep)
        else:
            for warning in unseen_entries_warning(params['base_url'], wanted):
                module.warn(warning)
        api = build_api(params)
        module.apiaccess_client = api.client
        key_id = api.resolve_key(params['api_key'])
        result = converge(api, key_id, wanted, state=params['state'], purge=params['purge'], keep=keep,
                          allow_empty=params['allow_empty'], check_mode=module.check_mode)
        result['api_key_id'] = key_id
        return result

    run_module(module, work)


if __name__ == '__main__':
    main()
