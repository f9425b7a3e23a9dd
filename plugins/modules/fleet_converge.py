#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: fleet_converge
short_description: Converge many Atlas and Woodcore keys onto a fleet's addresses in one task
version_added: 0.1.0
description:
  - The engine of the P(apiaccess.ipwhitelist.fleet_whitelist#role) role. Makes the access list of every
    listed Atlas key contain the fleet's addresses (plus extras), and every listed Woodcore key whitelist
    its one IP, with the same per-key logic, request counts and safety checks as
    M(apiaccess.ipwhitelist.atlas_apikey_whitelist) and M(apiaccess.ipwhitelist.woodcore_ipwhitelist).
  - Runs on the controller as an action plugin, so many keys cost one task instead of one module process
    each, and works on up to O(concurrency) keys at a time.
  - Every address is validated before the first request; a bad or missing address fails the task naming
    the host. A failure on one key does not stop the others; the task then fails listing each failed key
    and what was already changed.
author:
  - apiaccess.ipwhitelist maintainers (@apiaccess-maintainers)
extends_documentation_fragment:
  - apiaccess.ipwhitelist.fleet_atlas
  - apiaccess.ipwhitelist.fleet_targets
  - apiaccess.ipwhitelist.connection
  - apiaccess.ipwhitelist.attributes
attributes:
  check_mode:
    support: full
    details:
      - No writes and no OTP email. Reads (GET), plus one OAuth token request (C(POST /api/oauth/token)) when a
        service account authenticates. The summary says what would be done (C(would add), C(would request an OTP)).
  diff_mode:
    support: full
    details:
      - One before/after diff per changed key.
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the controller.
    support: full
options:
  fleet:
    description:
      - Map of host name to its allow-list address (IP or CIDR).
      - When omitted, it is built from O(hosts) and each host's O(address_var) variable, or its
        C(ansible_host) when that is an IP address.
    type: dict
  hosts:
    description:
      - The hosts of the fleet, when O(fleet) is omitted. Defaults to C(ansible_play_hosts_all), all hosts
        of the play (not only the current C(serial) batch).
      - With that default, a run under C(--limit) that purges any Atlas key fails before any request, as the limit
        would shrink the fleet and purge the addresses of every host outside it. Give O(hosts) to run under a limit.
    type: list
    elements: str
  address_var:
    description:
      - Host variable holding each host's allow-list address, when O(fleet) is omitted.
    type: str
    default: fleet_whitelist_address
  extra_entries:
    description:
      - Entries added to every Atlas key besides the fleet's addresses.
    type: list
    elements: str
    default: []
  merge:
    description:
      - Merge the fleet's addresses into the fewest CIDR blocks (C(netaddr.cidr_merge)), to stay far from
        any entry limit. The merged blocks cover exactly the same addresses.
    type: bool
    default: false
  allow_any:
    description:
      - Allow entries that cover a large part of the internet (IPv4 shorter than /8, IPv6 shorter than /16).
    type: bool
    default: false
  woodcore_keys:
    description:
      - The Woodcore API keys to converge. Each takes one IP; it defaults to the fleet's address when the
        fleet has exactly one (a single egress address), and must be given otherwise.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Label of the key, also the key of O(woodcore_otps).
        type: str
        required: true
      api_key:
        description:
          - The key itself. When not set, O(woodcore_api_key) is used; a key with neither fails before any
            request, naming the key.
        type: str
      ip:
        description: The IP this key whitelists.
        type: str
      base_url:
        description: Gateway URL; by default chosen from the key prefix.
        type: str
      profile_ip_field:
        description: As in M(apiaccess.ipwhitelist.woodcore_ipwhitelist).
        type: str
      profile_pending_field:
        description: As in M(apiaccess.ipwhitelist.woodcore_ipwhitelist).
        type: str
  woodcore_base_url:
    description:
      - Gateway URL for every Woodcore key without its own C(base_url). If not set, E(WOODCORE_BASE_URL) is
        used; otherwise each key's URL follows its prefix, as in M(apiaccess.ipwhitelist.woodcore_ipwhitelist).
    type: str
  woodcore_api_key:
    description:
      - The Woodcore API key used for every entry of O(woodcore_keys) without its own C(api_key), for
        example the one key an AWX Woodcore credential injects.
      - If not set, E(WOODCORE_API_KEY) is used, then the file named by E(WOODCORE_API_KEY_FILE).
    type: str
  woodcore_otps:
    description:
      - OTPs emailed to the owners of pending Woodcore keys, by key name, to approve their requests.
    type: dict
    default: {}
  woodcore_pending_requests:
    description:
      - Pending Woodcore requests by key name, as an earlier run returned them (RV(woodcore_pending_requests)), for
        runs that do not share O(woodcore_pending_state_path), such as the jobs of an AWX workflow.
      - Each value is a O(apiaccess.ipwhitelist.woodcore_ipwhitelist#module:pending_request). It decides which IP an
        OTP may approve, and keeps a repeated request from emailing a second OTP.
    type: dict
    default: {}
  woodcore_allow_lockout:
    description: As O(apiaccess.ipwhitelist.woodcore_ipwhitelist#module:allow_lockout), for every Woodcore key.
    type: bool
    default: false
  woodcore_allow_private:
    description: As O(apiaccess.ipwhitelist.woodcore_ipwhitelist#module:allow_private), for every Woodcore key.
    type: bool
    default: false
  woodcore_request_otp:
    description: Whether Woodcore keys that need a change may request an OTP email.
    type: bool
    default: true
  woodcore_resend_after:
    description: As O(apiaccess.ipwhitelist.woodcore_ipwhitelist#module:resend_after).
    type: int
    default: 900
  woodcore_pending_state_path:
    description: As O(apiaccess.ipwhitelist.woodcore_ipwhitelist#module:pending_state_path).
    type: str
    default: ~/.cache/apiaccess.ipwhitelist/woodcore-pending.json
  concurrency:
    description:
      - How many requests are in flight at once, each paced to Atlas's rate-limit buckets. Keys are worked on this
        many at a time, and the DELETEs of a key with many removals share the same bound.
      - The default comes from the WAN benchmark (the collection's C(docs/performance.md)), where 32 ran a 50-key
        rollout in two waves of round trips and stayed well inside the 500-token burst of the API-key bucket.
    type: int
    default: 32
'''

EXAMPLES = r'''
- name: Put every app server's egress IP on two Atlas keys
  apiaccess.ipwhitelist.fleet_converge:
    address_var: egress_ip
    atlas_keys:
      - {org_id: 5f1a2b3c4d5e6f7a8b9c0d1e, api_key: 6a1b2c3d4e5f6a7b8c9d0e1f, purge: true}
      - {org_id: 5f1a2b3c4d5e6f7a8b9c0d1e, api_key: deployky}
  run_once: true
  delegate_to: localhost

- name: Ad hoc, with an explicit fleet
  apiaccess.ipwhitelist.fleet_converge:
    fleet: {web1: 203.0.113.10, web2: 203.0.113.11}
    atlas_keys: [{org_id: 5f1a2b3c4d5e6f7a8b9c0d1e, api_key: 6a1b2c3d4e5f6a7b8c9d0e1f}]
'''

RETURN = r'''
entries:
  description: The fleet's addresses (after O(merge)), sorted canonical CIDRs.
  returned: always
  type: list
  elements: str
atlas:
  description:
    - One result per Atlas list (API keys, service accounts, then projects), shaped as the result of
      M(apiaccess.ipwhitelist.atlas_apikey_whitelist), plus C(name), C(kind) (V(api_key), V(org_service_account),
      V(project_service_account), V(project)), C(org_id), C(api_key_id) or C(client_id) and C(project_id), and
      C(failed). Project results also carry C(updated), C(drift) and, with C(wait), C(status).
    - Instead of the whole list, C(entry_count) gives its size after the task; C(diff) is there in diff mode only.
  returned: always
  type: list
  elements: dict
woodcore:
  description: One result per Woodcore key, shaped as the result of M(apiaccess.ipwhitelist.woodcore_ipwhitelist), plus C(name) and C(failed).
  returned: always
  type: list
  elements: dict
converged:
  description: Whether every key was converged (V(false) when any key failed or the input was refused).
  returned: always
  type: bool
pending:
  description: Names of Woodcore keys waiting for OTP approval.
  returned: always
  type: list
  elements: str
woodcore_pending_requests:
  description:
    - Pending Woodcore requests by key name after this run (this run's keys as they now stand, and the
      O(woodcore_pending_requests) of keys it did not touch). Hand them to the next run; the role publishes them
      with C(set_stats). Never a key or an OTP.
  returned: always
  type: dict
  sample: {payments: {key_fingerprint: 3f1c0e9a7b2d4c55, action: whitelist, ip: 198.51.100.254,
                      requested_at: '2026-12-02T10:00:00Z'}}
summary:
  description: One readable line per key (in check mode, what would be done).
  returned: always
  type: list
  elements: str
  sample: ["atlas    deploy                   added 203.0.113.10/32; removed nothing"]
requests:
  description: HTTP requests made for all keys.
  returned: always
  type: int
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import fleet
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.common import check_libraries, run_module


def main():
    module = AnsibleModule(argument_spec=fleet.argument_spec(), supports_check_mode=True)
    check_libraries(module)

    def work():
        result = fleet.run(module.params, check_mode=module.check_mode, diff=module._diff)
        for warning in result.pop('warnings'):
            module.warn(warning)
        if result.pop('failed'):
            module.fail_json(**result)
        return result

    run_module(module, work)


if __name__ == '__main__':
    main()
