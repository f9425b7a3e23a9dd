#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: atlas_service_account_whitelist
short_description: Manage the IP access list of a MongoDB Atlas service account
version_added: 0.1.0
description:
  - Makes the API access list of one Atlas service account contain the given IP addresses and CIDR blocks, and
    optionally nothing else. Calls made with the account's OAuth tokens must come from an address on this list.
  - Service accounts are what Atlas recommends instead of organization API keys; this module has the same options
    and semantics as M(apiaccess.ipwhitelist.atlas_apikey_whitelist), and the same engine.
  - The organization-level list (O(org_id)) or, for a service account used in a project, the project-level list
    (O(project_id)).
  - Entries are compared as networks. The list is read once, every missing entry goes in B(one) POST before any
    DELETE (Atlas takes at most 200 entries per POST and per account), and each removed entry costs one DELETE.
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
      - No writes. The list is read (GET), and so is the organization's service-account list when
        O(service_account) is a name; a service account also makes its OAuth token request (C(POST /api/oauth/token)).
  diff_mode:
    support: full
    details:
      - The before and after access lists, as sorted canonical CIDRs.
options:
  service_account:
    description:
      - The service account whose access list is managed, by client ID (C(mdb_sa_id_) and 24 hexadecimal
        characters) or by name.
      - A name is resolved through the paginated list of the organization's service accounts, so it needs O(org_id).
        With O(project_id) give the client ID.
    type: str
    required: true
  org_id:
    description:
      - The organization ID, for the account's organization-level list. Give this or O(project_id).
    type: str
    required: false
  project_id:
    description:
      - The project ID (24 lowercase hexadecimal characters), for the account's project-level list, used for a
        service account that works in a project. Give this or O(org_id).
    type: str
notes:
  - Requests made. V(floor(total/500\) + 1) GETs of the list (one, since an account holds at most 200 entries).
    When O(service_account) is a name, the pages of the organization's service-account list. POSTs of at most 200
    entries, so one. One DELETE per removed entry. With a service account as the caller, one token request per run.
  - Atlas has no GET of a single entry on these lists; the module always reads the whole list.
  - Service-account entries carry C(createdAt), C(lastUsedAt) and C(requestCount) (the API-key lists say C(created),
    C(lastUsed), C(count)); Atlas updates the last use with a delay of up to five minutes.
seealso:
  - module: apiaccess.ipwhitelist.atlas_service_account_whitelist_info
  - module: apiaccess.ipwhitelist.atlas_apikey_whitelist
  - name: Atlas Admin API, Service Accounts
    description: Access list endpoints of organization and project service accounts.
    link: https://www.mongodb.com/docs/atlas/reference/api-resources-spec/v2/#tag/Service-Accounts
'''

EXAMPLES = r'''
- name: Let the CI runners use the deploy service account (credentials from MONGODB_ATLAS_* env)
  apiaccess.ipwhitelist.atlas_service_account_whitelist:
    org_id: 5f1a2b3c4d5e6f7a8b9c0d1e
    service_account: ci-deploy          # the name, or the client ID
    entries:
      - 203.0.113.10
      - 198.51.100.0/24

- name: Exactly these, and this controller's own address, dropping entries unused for 90 days
  apiaccess.ipwhitelist.atlas_service_account_whitelist:
    org_id: 5f1a2b3c4d5e6f7a8b9c0d1e
    service_account: mdb_sa_id_0a1b2c3d4e5f6a7b8c9d0e1f
    entries: "{{ groups['app'] | map('extract', hostvars, 'egress_ip') | list }}"
    current_ip: true
    remove_unused_after: 90d

- name: The project-level list of a project service account
  apiaccess.ipwhitelist.atlas_service_account_whitelist:
    project_id: 64a1b2c3d4e5f6a7b8c9d0e1
    service_account: mdb_sa_id_0a1b2c3d4e5f6a7b8c9d0e1f
    entries: [203.0.113.10]
'''

RETURN = r'''
client_id:
  description: The client ID of the service account (resolved when O(service_account) was a name).
  returned: success
  type: str
  sample: mdb_sa_id_0a1b2c3d4e5f6a7b8c9d0e1f
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
removed:
  description: Entries removed (to be removed in check mode). On failure, what was already removed.
  returned: always
  type: list
  elements: str
kept_for_caller:
  description: Entries the plan would remove but that were kept, because they hold the address this run calls from.
  returned: success
  type: list
  elements: str
current_ip:
  description: This controller's address as Atlas sees it, added to the list (O(current_ip=true)).
  returned: when O(current_ip=true)
  type: str
diff:
  description: Before and after access lists.
  returned: success
  type: dict
requests:
  description: Number of HTTP requests the task made (retries included).
  returned: always
  type: int
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.atlas import (
    access_list_argument_spec, atlas_argument_spec, concurrency_argument_spec, run_list_module,
)
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.common import check_libraries, run_module


def main():
    argument_spec = atlas_argument_spec(org_required=False)
    argument_spec.update(access_list_argument_spec())
    argument_spec.update(concurrency_argument_spec())
    argument_spec.update(service_account=dict(type='str', required=True), project_id=dict(type='str'))
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           required_one_of=[('org_id', 'project_id')], mutually_exclusive=[('org_id', 'project_id')])
    check_libraries(module)
    params = module.params
    kind, parent = ('project_service_account', params['project_id']) if params['project_id'] \
        else ('org_service_account', params['org_id'])

    def work():
        client_id, result = run_list_module(
            module, kind, parent, lambda api: api.resolve_service_account(params['org_id'], params['service_account']))
        result['client_id'] = client_id
        return result

    run_module(module, work)


if __name__ == '__main__':
    main()
