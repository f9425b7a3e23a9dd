# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment(object):

    # The fleet's Atlas targets, as the fleet_whitelist role lists them (fleet.argument_spec): fleet_converge
    # converges them, access_audit compares them with what the role converges them to.
    DOCUMENTATION = r'''
options:
  atlas_keys:
    description:
      - The Atlas organization API keys whose access lists the fleet converges (the
        P(apiaccess.ipwhitelist.fleet_whitelist#role) role's C(fleet_whitelist_atlas_keys)).
    type: list
    elements: dict
    default: []
    suboptions:
      org_id:
        description: Organization ID of the key.
        type: str
        required: true
      api_key:
        description: Key ID (24 hex) or 8-character public key.
        type: str
        required: true
      name:
        description: Label in the summary; defaults to O(atlas_keys[].api_key).
        type: str
      purge:
        description: Remove entries that are neither fleet addresses, nor extra entries, nor covered by O(atlas_keys[].keep).
        type: bool
        default: false
      keep:
        description: Entries never removed from this key.
        type: list
        elements: str
        default: []
      entries:
        description: Extra entries for this key only.
        type: list
        elements: str
        default: []
      allow_empty:
        description: Allow leaving this key's list empty.
        type: bool
        default: false
      current_ip:
        description: Also add this controller's own address, as in O(apiaccess.ipwhitelist.atlas_apikey_whitelist#module:current_ip).
        type: bool
        default: false
      remove_unused_after:
        description: Also remove entries unused this long, as in O(apiaccess.ipwhitelist.atlas_apikey_whitelist#module:remove_unused_after).
        type: str
  atlas_service_accounts:
    description:
      - The Atlas service accounts whose access lists the fleet converges, like O(atlas_keys) (same engine, same
        semantics; the role's C(fleet_whitelist_atlas_service_accounts)).
      - One OAuth token serves the whole run when the credentials are a service account.
    type: list
    elements: dict
    default: []
    suboptions:
      org_id:
        description: Organization ID, for the account's organization-level list. Give this or O(atlas_service_accounts[].project_id).
        type: str
      project_id:
        description: Project ID, for the account's project-level list. Give this or O(atlas_service_accounts[].org_id).
        type: str
      service_account:
        description: Client ID, or the name (resolved in O(atlas_service_accounts[].org_id)).
        type: str
        required: true
      name:
        description: Label in the summary; defaults to O(atlas_service_accounts[].service_account).
        type: str
      purge:
        description: Remove entries that are neither fleet addresses, nor extra entries, nor kept.
        type: bool
        default: false
      keep:
        description: Entries never removed from this list.
        type: list
        elements: str
        default: []
      entries:
        description: Extra entries for this account only.
        type: list
        elements: str
        default: []
      allow_empty:
        description: Allow leaving this account's list empty.
        type: bool
        default: false
      current_ip:
        description: Also add this controller's own address.
        type: bool
        default: false
      remove_unused_after:
        description: Also remove entries unused this long (V(90d)).
        type: str
  atlas_projects:
    description:
      - Atlas project IP access lists that the fleet's addresses go on (the list that decides who may connect to the
        project's clusters), with the engine of M(apiaccess.ipwhitelist.atlas_project_whitelist) (the role's
        C(fleet_whitelist_atlas_projects)).
      - Each fleet entry's comment names its hosts, O(atlas_projects[].comment_prefix) then the inventory name, or
        C(N hosts (a, b, ...)) for a merged block (at most 80 characters); a changed comment is drift.
    type: list
    elements: dict
    default: []
    suboptions:
      project_id:
        description: Project ID. Give this or O(atlas_projects[].project).
        type: str
      project:
        description: Project name, resolved with C(GET /groups/byName/{name}).
        type: str
      name:
        description: Label in the summary; defaults to the project.
        type: str
      purge:
        description: Remove entries that are neither fleet addresses, nor extra entries, nor kept.
        type: bool
        default: false
      keep:
        description: Entries never removed (networks or security group IDs).
        type: list
        elements: str
        default: []
      entries:
        description: Extra entries for this project only (strings; their comment is the module default).
        type: list
        elements: str
        default: []
      allow_empty:
        description: Allow leaving this project's list empty.
        type: bool
        default: false
      current_ip:
        description: Also add this controller's own address.
        type: bool
        default: false
      remove_unused_after:
        description: Not available for project lists (no usage data); refused.
        type: str
      comment_prefix:
        description: Start of each fleet entry's comment.
        type: str
        default: 'fleet: '
      delete_after:
        description: Make the fleet's entries temporary (a duration such as V(8h), or an ISO 8601 time; at most a week).
        type: str
      comment_drift:
        description: As O(apiaccess.ipwhitelist.atlas_project_whitelist#module:comment_drift).
        type: str
        choices: [update, report]
        default: update
      wait:
        description: Wait until the entries written are ACTIVE, as O(apiaccess.ipwhitelist.atlas_project_whitelist#module:wait).
        type: bool
        default: false
      wait_timeout:
        description: Seconds to wait at most.
        type: int
        default: 300
'''
