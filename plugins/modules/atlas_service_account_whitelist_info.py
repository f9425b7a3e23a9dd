#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: atlas_service_account_whitelist_info
short_description: Read the IP access lists of MongoDB Atlas service accounts
version_added: 0.1.0
description:
  - Returns every access list entry of one service account, with its usage data and the days since it was last used.
  - Without O(service_account), returns every service account of the organization with its list, the audit view
    (shaped as the one of M(apiaccess.ipwhitelist.atlas_apikey_whitelist_info)).
author:
  - apiaccess.ipwhitelist maintainers (@apiaccess-maintainers)
extends_documentation_fragment:
  - apiaccess.ipwhitelist.atlas
  - apiaccess.ipwhitelist.connection
  - apiaccess.ipwhitelist.attributes
  - apiaccess.ipwhitelist.attributes.INFO_MODULE
  - apiaccess.ipwhitelist.attributes.ATLAS_GROUP
options:
  service_account:
    description:
      - The service account to read, by client ID or name (a name needs O(org_id)).
      - Omit it to read every service account of the organization.
    type: str
  org_id:
    description:
      - The organization ID, for organization-level lists and the audit view. Give this or O(project_id).
    type: str
    required: false
  project_id:
    description:
      - The project ID, to read the project-level list of O(service_account) (a client ID).
    type: str
seealso:
  - module: apiaccess.ipwhitelist.atlas_service_account_whitelist
  - module: apiaccess.ipwhitelist.atlas_apikey_whitelist_info
'''

EXAMPLES = r'''
- name: Read one service account's access list
  apiaccess.ipwhitelist.atlas_service_account_whitelist_info:
    org_id: 5f1a2b3c4d5e6f7a8b9c0d1e
    service_account: ci-deploy
  register: ci_account

- name: Audit every service account of the organization
  apiaccess.ipwhitelist.atlas_service_account_whitelist_info:
    org_id: 5f1a2b3c4d5e6f7a8b9c0d1e
  register: audit

- name: Entries nobody used for 90 days
  ansible.builtin.debug:
    msg: "{{ audit.service_accounts | map(attribute='entries') | flatten | selectattr('days_unused', 'ge', 90)
             | map(attribute='entry') | list }}"
'''

RETURN = r'''
client_id:
  description: The client ID of the account read, when O(service_account) was given.
  returned: when O(service_account) is given
  type: str
  sample: mdb_sa_id_0a1b2c3d4e5f6a7b8c9d0e1f
entries:
  description:
    - The entries of the account, when O(service_account) was given, sorted (IPv4 before IPv6, by address).
    - Shaped as in M(apiaccess.ipwhitelist.atlas_apikey_whitelist_info) (C(created), C(last_used), C(count) hold
      the account list's C(createdAt), C(lastUsedAt), C(requestCount)).
  returned: when O(service_account) is given
  type: list
  elements: dict
  contains:
    entry:
      description: Canonical CIDR of the entry.
      type: str
      returned: always
    ip_address:
      description: The C(ipAddress) field as Atlas returns it (single addresses only).
      type: str
      returned: always
    cidr_block:
      description: The C(cidrBlock) field as Atlas returns it.
      type: str
      returned: always
    created:
      description: When the entry was added (C(createdAt), ISO 8601, UTC).
      type: str
      returned: always
    last_used:
      description: Last request from this entry (C(lastUsedAt)), or V(null) if never used.
      type: str
      returned: always
    last_used_address:
      description: Address of the last request from this entry, or V(null).
      type: str
      returned: always
    count:
      description: Number of requests from this entry (C(requestCount)).
      type: int
      returned: always
    days_unused:
      description: Whole days since the last request or, never used, since the entry was created.
      type: int
      returned: always
service_accounts:
  description: Every service account of the organization with its entries, when O(service_account) was omitted.
  returned: when O(service_account) is omitted
  type: list
  elements: dict
  contains:
    client_id:
      description: Client ID.
      type: str
      returned: always
    name:
      description: Name of the account.
      type: str
      returned: always
    description:
      description: Description of the account.
      type: str
      returned: always
    roles:
      description: Organization roles of the account.
      type: list
      elements: str
      returned: always
    entries:
      description: The account's entries, shaped as RV(entries).
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
    atlas_argument_spec, build_api, list_infos, validate_connection,
)
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.common import PlanError, check_libraries, run_module


def main():
    argument_spec = atlas_argument_spec(org_required=False)
    argument_spec.update(service_account=dict(type='str'), project_id=dict(type='str'))
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           required_one_of=[('org_id', 'project_id')], mutually_exclusive=[('org_id', 'project_id')])
    check_libraries(module)
    params = module.params

    def work():
        validate_connection(params)
        if params['project_id'] and not params['service_account']:
            raise PlanError('project_id needs service_account: the audit of every account is per organization')
        api = build_api(params)
        module.apiaccess_client = api.client
        if params['service_account']:
            client_id = api.resolve_service_account(params['org_id'], params['service_account'])
            kind, parent = ('project_service_account', params['project_id']) if params['project_id'] \
                else ('org_service_account', params['org_id'])
            return dict(changed=False, client_id=client_id, entries=list_infos(api.access_list(kind, parent, client_id)))
        accounts = []
        for account in api.list_service_accounts(params['org_id']):
            accounts.append(dict(client_id=account['clientId'], name=account.get('name'),
                                 description=account.get('description'), roles=account.get('roles') or [],
                                 entries=list_infos(api.access_list('org_service_account', params['org_id'],
                                                                    account['clientId']))))
        return dict(changed=False, service_accounts=accounts)

    run_module(module, work)


if __name__ == '__main__':
    main()
