#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: atlas_org_access_policy
short_description: Require (or stop requiring) API access lists in a MongoDB Atlas organization, without lockouts
version_added: 0.1.0
description:
  - Sets the organization setting C(apiAccessListRequired) (C(GET|PATCH /api/atlas/v2/orgs/{orgId}/settings)).
  - While an organization does not require API access lists, an API key with B(no) access-list entry can call the
    Atlas Administration API from B(any address) on the internet. Once it requires them, such a key can make no
    request at all until it has an entry. A key with entries is always held to them.
  - Whether the requirement also binds service accounts is not documented by MongoDB. This module assumes it does.
  - B(Turning the requirement on) reads every API key and service account of the organization, and its access list,
    before anything is written. It refuses, naming each credential, when one has an empty list, or when the
    credential this run calls with has an empty list or a list that does not cover the address Atlas sees this
    controller call from (C(GET /api/private/ipinfo)). O(allow_lockout=true) turns the refusal into a warning.
  - B(Turning it off) warns, naming them, that every credential with an empty list becomes callable from anywhere.
  - Idempotent. When the setting already has the wanted value, the module reads the settings and nothing else.
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
      - No write. The settings are read, and, when the value would change, every credential of the organization and
        its list too. The guards refuse in check mode as they would in a real run.
  diff_mode:
    support: full
    details:
      - The value of C(apiAccessListRequired) before and after.
options:
  org_id:
    description:
      - The organization whose setting is managed, 24 lowercase hexadecimal characters.
    type: str
    required: true
  require_api_access_list:
    description:
      - Whether the organization requires API access lists (C(apiAccessListRequired)).
    type: bool
    required: true
  allow_lockout:
    description:
      - Turn the requirement on although a credential of the organization has an empty access list, or the
        credential this run calls with would be locked out. The module then warns, naming each of them.
      - A credential with an empty list can make no request once the requirement is on. If that is the credential
        this run calls with, only the Atlas UI (or another credential) can turn the requirement off again.
    type: bool
    default: false
  concurrency:
    description:
      - How many access lists are read at once when the value changes (one GET per API key and service account).
        Each read still waits for its token of Atlas's rate-limit bucket.
    type: int
    default: 8
notes:
  - Needs the Organization Owner role to change the setting (Organization Member to read it), and the right to read
    the organization's API keys, service accounts and their access lists.
  - Requests made when the value already is the wanted one. One GET of the settings (and, with a service account,
    its token request).
  - Requests made when it changes. The settings, the pages of the API-key list and of the service-account list, one GET
    per credential's list, C(GET /api/private/ipinfo) when turning the requirement on, then one PATCH.
  - The settings endpoint belongs to no endpoint set of Atlas's documented rate-limit table, so its requests are not
    paced. The list reads are paced to their buckets like every other module's.
  - O(api_version) and O(api_path_prefix) apply to the reads of the API-key lists. The setting itself exists only in
    the v2 API.
  - The C(apiaccess.ipwhitelist.fleet_whitelist) role applies this module (its C(fleet_whitelist_atlas_org_policy))
    B(after) it has converged the lists, so that a first rollout gives every key its entries before the requirement
    is switched on.
seealso:
  - module: apiaccess.ipwhitelist.atlas_apikey_whitelist
  - module: apiaccess.ipwhitelist.atlas_service_account_whitelist
  - name: Atlas Admin API, Organizations (organization settings)
    description: C(getOrgSettings) and C(updateOrgSettings).
    link: https://www.mongodb.com/docs/atlas/reference/api-resources-spec/v2/#tag/Organizations
  - name: Require an IP access list for the Atlas Administration API
    description: What an empty API access list means, with and without the requirement.
    link: https://www.mongodb.com/docs/atlas/configure-api-access/
'''

EXAMPLES = r'''
- name: Require API access lists (refuses, naming them, while any key or service account has an empty list)
  apiaccess.ipwhitelist.atlas_org_access_policy:
    org_id: 5f1a2b3c4d5e6f7a8b9c0d1e
    require_api_access_list: true

- name: Require them anyway; the keys without entries are locked out (and named in a warning)
  apiaccess.ipwhitelist.atlas_org_access_policy:
    org_id: 5f1a2b3c4d5e6f7a8b9c0d1e
    require_api_access_list: true
    allow_lockout: true

- name: Converge the lists first, then require them (what the fleet_whitelist role does)
  ansible.builtin.include_role:
    name: apiaccess.ipwhitelist.fleet_whitelist
  vars:
    fleet_whitelist_atlas_keys:
      - {name: ci-deploy, org_id: 5f1a2b3c4d5e6f7a8b9c0d1e, api_key: deployky}
    fleet_whitelist_atlas_org_policy:
      - {org_id: 5f1a2b3c4d5e6f7a8b9c0d1e, require_api_access_list: true}
'''

RETURN = r'''
org_id:
  description: The organization.
  returned: success
  type: str
require_api_access_list:
  description: The value after the task (the wanted one).
  returned: success
  type: bool
previous:
  description: The value before the task.
  returned: success
  type: bool
settings:
  description: The organization's settings after the task, as Atlas answered them (predicted in check mode).
  returned: success
  type: dict
  sample: {"apiAccessListRequired": true, "multiFactorAuthRequired": false, "restrictEmployeeAccess": false}
empty_lists:
  description:
    - The API keys and service accounts of the organization whose access list is empty, read when the value changes
      (empty when it does not). C(kind) is C(api_key) or C(service_account); C(caller) marks this run's own credential.
  returned: success
  type: list
  elements: dict
  sample: [{"kind": "api_key", "id": "6a0000000000000000000003", "name": "abcdefgh", "caller": false, "entries": []}]
diff:
  description: C(apiAccessListRequired) before and after.
  returned: success
  type: dict
requests:
  description: Number of HTTP requests the task made (retries included).
  returned: always
  type: int
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.atlas import (
    atlas_argument_spec, build_api, connection_warnings, validate_connection,
)
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.common import (
    check_concurrency, check_libraries, run_module,
)
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.org_policy import converge_policy


def main():
    argument_spec = atlas_argument_spec()
    argument_spec.update(
        require_api_access_list=dict(type='bool', required=True),
        allow_lockout=dict(type='bool', default=False),
        concurrency=dict(type='int', default=8),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    check_libraries(module)
    params = module.params

    def work():
        validate_connection(params)
        check_concurrency(params['concurrency'])
        for warning in connection_warnings(params):
            module.warn(warning)
        api = build_api(params)
        module.apiaccess_client = api.client
        result = converge_policy(api, params['org_id'], params['require_api_access_list'],
                                 allow_lockout=params['allow_lockout'], check_mode=module.check_mode,
                                 concurrency=params['concurrency'], warn=module.warn)
        for note in api.notes:
            module.warn(note)
        return result

    run_module(module, work)


if __name__ == '__main__':
    main()
