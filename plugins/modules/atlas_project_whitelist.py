#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: atlas_project_whitelist
short_description: Manage the IP access list of a MongoDB Atlas project (who may connect to its clusters)
version_added: 0.1.0
description:
  - Makes the project IP access list of one Atlas project contain the given IP addresses, CIDR blocks and AWS
    security groups, with comments and optional expiry, and optionally nothing else. This list decides which
    addresses may connect to the project's clusters; it is not an API access list.
  - The same engine as M(apiaccess.ipwhitelist.atlas_apikey_whitelist). Entries are compared as networks
    (V(1.2.3.4) is V(1.2.3.4/32)); the list is read once; B(one) POST carries every missing entry before any DELETE;
    one DELETE per removed entry. Nothing is deleted and re-added to change it.
  - Writes to one project are serialised (Atlas does not support concurrent POSTs to the list); a conflicting
    POST or a transient C(500) is resolved by re-reading the list and posting only what is still missing.
  - B(Comments.) Entries without their own comment get O(comment), or V(managed by apiaccess.ipwhitelist) when that
    is not set either. An explicit comment that differs from the one on an existing entry is drift. With
    O(comment_drift=update) the entry is re-posted with the wanted comment, and the module reads back whether Atlas
    applied it; whether Atlas updates an existing entry through POST is not documented. Drift that was not
    applied is reported in RV(drift) and warned about, never fixed by deleting and re-adding the entry, which
    would drop access in between. O(comment_drift=report) only reports it.
author:
  - apiaccess.ipwhitelist maintainers (@apiaccess-maintainers)
extends_documentation_fragment:
  - apiaccess.ipwhitelist.atlas
  - apiaccess.ipwhitelist.access_list
  - apiaccess.ipwhitelist.connection
  - apiaccess.ipwhitelist.attributes
  - apiaccess.ipwhitelist.attributes.ATLAS_GROUP
attributes:
  check_mode:
    support: full
    details:
      - No writes. The list is read (GET), the project is looked up when given by name, and a service account makes
        its OAuth token request (C(POST /api/oauth/token)).
  diff_mode:
    support: full
    details:
      - The before and after access lists, as sorted canonical CIDRs and security group IDs.
options:
  project_id:
    description:
      - The project (group) ID, 24 lowercase hexadecimal characters. Give this or O(project).
    type: str
  project:
    description:
      - The project's name, resolved with C(GET /groups/byName/{name}). Give this or O(project_id).
    type: str
  org_id:
    description:
      - Not used by this module (a project knows its organization).
    type: str
    required: false
  entries:
    description:
      - What the list holds. Each item is an IP address or CIDR block (a string), or a dict with C(cidr) or
        C(aws_security_group) (C(sg-...), the project needs VPC peering), and optionally C(comment) (at most 80
        characters) and C(delete_after).
      - C(delete_after) makes a temporary entry, which Atlas deletes by itself at that time. An absolute ISO 8601
        time (V(2026-12-02T18:00:00Z)) or a duration from now (V(8h), V(2d)). Atlas allows at most one week ahead;
        anything later, or in the past, fails before any request. Security groups cannot be temporary.
      - An expiry later than an existing temporary entry's extends it (as comment drift does).
    type: list
    elements: raw
    default: []
  keep:
    description:
      - Entries that this task never removes (networks or security group IDs). An existing entry is kept if it
        equals or lies inside one of these networks.
    type: list
    elements: str
    default: []
  comment:
    description:
      - Comment for the entries without their own; counts as explicit for drift.
      - Without it, new entries get V(managed by apiaccess.ipwhitelist) and existing entries keep theirs.
    type: str
  delete_after:
    description:
      - Expiry for the entries without their own C(delete_after), as in O(entries).
    type: str
  comment_drift:
    description:
      - V(update) re-posts entries whose explicit comment differs (or whose expiry is earlier than wanted) and reports
        what Atlas did not apply. V(report) only reports the drift, sending nothing for it; use it where Atlas does not
        update entries through POST, so that a re-run writes nothing.
    type: str
    choices: [update, report]
    default: update
  wait:
    description:
      - After writing, poll the C(/status) of every entry added or updated until it is V(ACTIVE) on every cloud
        provider serving the project's clusters, with bounded backoff (1, 2, 4, 8, then 10 seconds).
      - Entries still V(PENDING) after O(wait_timeout), or V(FAILED), fail the task, naming them (with
        C(changed=true) and what was written).
    type: bool
    default: false
  wait_timeout:
    description: Seconds O(wait) waits at most.
    type: int
    default: 300
  remove_unused_after:
    description:
      - Not available here. The project list keeps no usage data; setting it fails before any request.
notes:
  - Requests made. V(floor(total/500\) + 1) GETs of the list (one, as a project holds at most 200 entries). One GET to
    resolve O(project). At most one POST for the entries added, one more when drift is updated. One DELETE per
    removed entry. With O(wait), one more GET of the list and one status GET per entry and round.
  - Private addresses are fine here (VPC peering and private endpoints); unlike the API access lists, no warning.
seealso:
  - module: apiaccess.ipwhitelist.atlas_project_whitelist_info
  - name: Atlas Admin API, Project IP Access List
    description: The project access list endpoints.
    link: https://www.mongodb.com/docs/atlas/reference/api-resources-spec/v2/#tag/Project-IP-Access-List
'''

EXAMPLES = r'''
- name: The app servers may connect to the prod clusters (credentials from MONGODB_ATLAS_* env)
  apiaccess.ipwhitelist.atlas_project_whitelist:
    project: prod
    entries:
      - 203.0.113.10
      - {cidr: 198.51.100.0/24, comment: office VPN}
      - {aws_security_group: sg-0123456789, comment: app tier (peered VPC)}
    wait: true

- name: A CI runner lets itself in for two hours
  apiaccess.ipwhitelist.atlas_project_whitelist:
    project_id: 64a1b2c3d4e5f6a7b8c9d0e1
    current_ip: true
    delete_after: 2h
    comment: "CI job {{ lookup('ansible.builtin.env', 'CI_JOB_ID') }}"

- name: Exactly these, keeping the bastion, and report comment drift only
  apiaccess.ipwhitelist.atlas_project_whitelist:
    project_id: 64a1b2c3d4e5f6a7b8c9d0e1
    entries: "{{ groups['app'] | map('extract', hostvars, 'egress_ip') | list }}"
    purge: true
    keep: [192.0.2.5]
    comment_drift: report
'''

RETURN = r'''
project_id:
  description: The project ID (resolved when O(project) was a name).
  returned: success
  type: str
  sample: 64a1b2c3d4e5f6a7b8c9d0e1
entries:
  description: The list after the task (predicted in check mode), sorted canonical CIDRs and security groups.
  returned: success
  type: list
  elements: str
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
  description: Always empty here; the project list is not an API access list, so no caller address needs keeping.
  returned: success
  type: list
  elements: str
updated:
  description: Entries whose comment or expiry Atlas updated (to be updated, in check mode).
  returned: success
  type: list
  elements: str
drift:
  description: Entries whose comment (or expiry) still differs from the wanted one, with both values.
  returned: success
  type: list
  elements: dict
  sample: [{entry: 203.0.113.10/32, field: comment, current: old label, wanted: app server}]
status:
  description: With O(wait), the status of every entry written (V(ACTIVE), V(PENDING), V(FAILED)).
  returned: when O(wait=true) and something was written
  type: dict
  sample: {203.0.113.10/32: ACTIVE}
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
    Desired, access_list_argument_spec, atlas_argument_spec, build_api, converge, parse_duration, parse_keep,
    parse_project_entries, validate_connection,
)
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import addresses
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.common import check_libraries, run_module


def main():
    argument_spec = atlas_argument_spec(org_required=False)
    argument_spec.update(access_list_argument_spec())
    argument_spec.update(
        project_id=dict(type='str'), project=dict(type='str'),
        entries=dict(type='list', elements='raw', default=[]),
        comment=dict(type='str'), delete_after=dict(type='str'),
        comment_drift=dict(type='str', default='update', choices=['update', 'report']),
        wait=dict(type='bool', default=False), wait_timeout=dict(type='int', default=300),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           required_one_of=[('project_id', 'project')], mutually_exclusive=[('project_id', 'project')])
    check_libraries(module)
    params = module.params

    def work():
        validate_connection(params)
        wanted, details = parse_project_entries(params['entries'], params['comment'], params['delete_after'],
                                                params['allow_any'])
        desired = Desired('project', wanted, keep=parse_keep(params['keep']), state=params['state'],
                          purge=params['purge'], allow_empty=params['allow_empty'], current_ip=params['current_ip'],
                          unused_after=parse_duration(params['remove_unused_after'])
                          if params['remove_unused_after'] else None,
                          details=details, comment_drift=params['comment_drift'],
                          wait=params['wait'], wait_timeout=params['wait_timeout'])
        api = build_api(params)
        module.apiaccess_client = api.client
        module.apiaccess_list_target = True
        project_id = api.resolve_project(params['project'] or params['project_id'])
        if params['current_ip'] and api.caller_ip() not in wanted:
            # this controller's address joins the entries, with the module's comment and expiry
            desired.entries, desired.details = parse_project_entries(
                params['entries'] + [str(api.caller_ip())], params['comment'], params['delete_after'],
                params['allow_any'])
        result = converge(api.access_list('project', project_id, project_id), desired, check_mode=module.check_mode)
        for item in result.get('drift', []):
            module.warn('%s: the %s on Atlas is %r, not %r%s' % (
                item['entry'], item['field'], item['current'], item['wanted'],
                '' if params['comment_drift'] == 'report' or module.check_mode else
                ' (Atlas did not apply the update; the entry was left as it is rather than deleted and re-added)'))
        result['project_id'] = project_id
        if params['current_ip']:
            result['current_ip'] = addresses.canonical(api.caller_ip())
        return result

    run_module(module, work)


if __name__ == '__main__':
    main()
