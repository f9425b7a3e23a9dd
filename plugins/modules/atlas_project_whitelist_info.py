#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: atlas_project_whitelist_info
short_description: Read the IP access lists of MongoDB Atlas projects
version_added: 0.1.0
description:
  - Returns every entry of one project's IP access list, with its comment, expiry and, with O(status=true), whether
    it is active on every cloud provider serving the project's clusters.
  - Without O(project_id) and O(project), returns every project the credentials can see (paginated) with its list,
    the audit view, shaped as the one of M(apiaccess.ipwhitelist.atlas_apikey_whitelist_info).
author:
  - apiaccess.ipwhitelist maintainers (@apiaccess-maintainers)
extends_documentation_fragment:
  - apiaccess.ipwhitelist.atlas
  - apiaccess.ipwhitelist.connection
  - apiaccess.ipwhitelist.attributes
  - apiaccess.ipwhitelist.attributes.INFO_MODULE
  - apiaccess.ipwhitelist.attributes.ATLAS_GROUP
options:
  project_id:
    description: The project ID. Omit it and O(project) for every project.
    type: str
  project:
    description: The project's name, resolved with C(GET /groups/byName/{name}).
    type: str
  org_id:
    description:
      - Only for the audit view, to read the projects of this organization only.
    type: str
    required: false
  status:
    description:
      - Also read each entry's status (C(GET .../accessList/{entry}/status)), one request per entry.
    type: bool
    default: false
seealso:
  - module: apiaccess.ipwhitelist.atlas_project_whitelist
'''

EXAMPLES = r'''
- name: Who may connect to prod, and is it in force?
  apiaccess.ipwhitelist.atlas_project_whitelist_info:
    project: prod
    status: true
  register: prod_list

- name: Every project the credentials can see
  apiaccess.ipwhitelist.atlas_project_whitelist_info:
  register: audit

- name: Temporary entries across projects
  ansible.builtin.debug:
    msg: "{{ audit.projects | map(attribute='entries') | flatten | selectattr('delete_after') | list }}"
'''

RETURN = r'''
project_id:
  description: The project read, when O(project_id) or O(project) was given.
  returned: when a project is given
  type: str
entries:
  description: The project's entries, sorted (security groups, then IPv4, then IPv6).
  returned: when a project is given
  type: list
  elements: dict
  contains:
    entry:
      description: Canonical CIDR, or the security group ID.
      type: str
      returned: always
    ip_address:
      description: The C(ipAddress) field as Atlas returns it.
      type: str
      returned: always
    cidr_block:
      description: The C(cidrBlock) field as Atlas returns it.
      type: str
      returned: always
    aws_security_group:
      description: The C(awsSecurityGroup) field.
      type: str
      returned: always
    comment:
      description: The entry's comment.
      type: str
      returned: always
    delete_after:
      description: When Atlas deletes this temporary entry (C(deleteAfterDate)), or V(null).
      type: str
      returned: always
    status:
      description: V(ACTIVE), V(PENDING) or V(FAILED).
      type: str
      returned: with O(status=true)
projects:
  description: Every project the credentials can see, with its entries, when no project was given.
  returned: when no project is given
  type: list
  elements: dict
  contains:
    id:
      description: Project ID.
      type: str
      returned: always
    name:
      description: Project name.
      type: str
      returned: always
    org_id:
      description: The project's organization.
      type: str
      returned: always
    entries:
      description: The project's entries, shaped as RV(entries).
      type: list
      elements: dict
      returned: always
requests:
  description: Number of HTTP requests made.
  returned: always
  type: int
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import addresses
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.atlas import (
    atlas_argument_spec, build_api, validate_connection,
)
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.common import check_libraries, run_module


def main():
    argument_spec = atlas_argument_spec(org_required=False)
    argument_spec.update(project_id=dict(type='str'), project=dict(type='str'), status=dict(type='bool', default=False))
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           mutually_exclusive=[('project_id', 'project')])
    check_libraries(module)
    params = module.params

    def work():
        validate_connection(params)
        api = build_api(params)
        module.apiaccess_client = api.client

        def entries(project_id):
            target = api.access_list('project', project_id, project_id)
            found = sorted(target.list_entries(), key=lambda e: addresses.sort_key(e.net))
            infos = []
            for entry in found:
                info = entry.info()
                if params['status']:
                    info['status'] = target.status(entry)
                infos.append(info)
            return infos

        if params['project_id'] or params['project']:
            project_id = api.resolve_project(params['project'] or params['project_id'])
            return dict(changed=False, project_id=project_id, entries=entries(project_id))
        projects = [p for p in api.list_projects() if not params['org_id'] or p.get('orgId') == params['org_id']]
        return dict(changed=False, projects=[dict(id=p['id'], name=p.get('name'), org_id=p.get('orgId'),
                                                  entries=entries(p['id'])) for p in projects])

    run_module(module, work)


if __name__ == '__main__':
    main()
