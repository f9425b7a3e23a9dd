#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: access_audit
short_description: Audit who can call the Atlas and Woodcore APIs, and from where, into one report
version_added: 0.1.0
description:
  - Reads the access lists of the targets the P(apiaccess.ipwhitelist.fleet_whitelist#role) role manages (the same
    variables, unchanged), or of every API key, service account and project of some organizations (O(audit_all)),
    the organizations' API access-list requirement, and each Woodcore key's whitelisted IP and pending request.
  - Reports what is wrong, each finding with a severity, a code, the target, the entry, a one-line message and
    the option or module that fixes it. The codes, most severe first, are C(open-to-internet) (critical),
    C(org-policy-off), C(missing-entry), C(wide-entry) (high), C(unknown-entry), C(stale-entry),
    C(woodcore-pending) (medium), C(unused-credential), C(private-entry) (low) and C(expiring-entry) (info).
    The collection's C(docs/audit.md) says when each is raised.
  - A target that cannot be read (a failed listing too) is an C(unreadable-target) finding (high), so it reaches
    O(fail_on) like any other; an audit that could read nothing at all fails whatever O(fail_on) says.
  - The targets are the role's (O(atlas_keys), O(atlas_service_accounts), O(atlas_projects), O(woodcore_keys)), with
    the role's options and checks, unchanged; the audit compares each with what the role converges it to (its
    entries, the fleet's, C(current_ip) and C(keep)) and ignores what only a converge does (C(purge), C(wait)).
  - Reading the organization's settings needs Organization Member; reading other keys' and service accounts'
    lists, Organization Read Only; project lists, Project Read Only.
  - Writes three files into O(report_dir), C(access-report.json), C(access-report.md) and C(access-report.html)
    (one self-contained page, printable), each written atomically and readable by its owner only (mode 0600),
    then fails when findings reach O(fail_on).
  - Reads only. Every client of the run refuses any request other than a GET or HEAD before sending it (a service
    account's OAuth token request excepted, which changes nothing). A target that the credentials cannot read is
    reported as unreadable, and the others are read.
  - Runs on the controller as an action plugin, many requests at once (O(concurrency)), each paced to Atlas's
    rate-limit buckets, with one client (one digest challenge or OAuth token) for the whole run.
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
      - The audit never changes anything on the services, in check mode or not. It writes its report files in
        check mode too, since they are its result.
  diff_mode:
    support: none
  action:
    description:
      - Indicates this has a corresponding action plugin so some parts of the options can be executed on the
        controller.
    support: full
requirements:
  - jinja2 (on the controller, for the HTML report; ansible-core brings it)
options:
  woodcore_keys:
    description:
      - Woodcore gateway keys to audit, as the role's C(fleet_whitelist_woodcore_keys). Each key's profile is read
        with the key itself (one C(GET /gateway/keyprofile)).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Label of the key, also the key of O(woodcore_pending_requests).
        type: str
        required: true
      api_key:
        description: The key itself; when not set, O(woodcore_api_key) is used.
        type: str
      ip:
        description: The IP the role whitelists for this key (C(missing-entry) when the key has another).
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
  audit_all:
    description:
      - Also audit every API key, organization-level service-account list and project of the organizations in
        O(org_ids) (default, the organizations of the listed targets), managed or not.
      - Unmanaged targets get every finding but C(missing-entry) and C(unknown-entry), which compare a list with what
        the role puts there.
      - Project-level service-account lists are audited only when listed in O(atlas_service_accounts) (Atlas offers no
        listing of them here).
    type: bool
    default: false
  org_ids:
    description:
      - Organizations whose access-list requirement is read (besides those of the listed targets) and, with
        O(audit_all), whose keys, service accounts and projects are audited.
    type: list
    elements: str
    default: []
  max_prefix:
    description:
      - An entry broader than this (a shorter prefix) is a C(wide-entry). C(0.0.0.0/0) and C(::/0) are
        C(open-to-internet) instead.
    type: dict
    suboptions:
      ipv4:
        description: Shortest IPv4 prefix that is not a finding.
        type: int
        default: 16
      ipv6:
        description: Shortest IPv6 prefix that is not a finding.
        type: int
        default: 48
  stale_days:
    description:
      - An API key or service-account entry unused for more than this many days, or never used and older than that,
        is a C(stale-entry); a credential all of whose entries are, a C(unused-credential).
    type: int
    default: 90
  atlas_cloud:
    description:
      - Whether the Atlas server is Atlas cloud, which sees callers only by their public addresses, so a private,
        loopback or link-local entry on an API access list allows nobody (C(private-entry)).
      - If not set, decided by the host of O(atlas_base_url) (C(cloud.mongodb.com), or C(cloud.mongodbgov.com) for
        Atlas for Government). Set V(false) for an Ops Manager that sees private addresses.
    type: bool
  report_dir:
    description:
      - Directory of the reports, relative to the current directory of the controller; created readable by its owner
        only (mode 0700) when missing. A directory that is a symbolic link, another user's, or writable by everyone
        (such as C(/tmp)) is refused; give a private one.
    type: path
    default: ./access-report
  fail_on:
    description:
      - Fail, after writing the reports, when a finding has this severity or a higher one. V(never) only reports.
    type: str
    choices: [critical, high, medium, low, never]
    default: never
  fleet:
    description:
      - Map of host name to its allow-list address. With a fleet, a managed target that lacks one of the role's
        entries is a C(missing-entry) and an entry that the role would not put or keep there an C(unknown-entry).
      - When omitted and O(hosts) or O(fleet_from_play) is given, built from the hosts' O(address_var) variable, or
        their C(ansible_host) when that is an IP address, as the role builds it.
    type: dict
  hosts:
    description:
      - The hosts of the fleet, when O(fleet) is omitted.
    type: list
    elements: str
  fleet_from_play:
    description:
      - Take the fleet from all hosts of the play (C(ansible_play_hosts_all)), as the role does by default.
      - Under a C(--limit) that narrows the play, C(unknown-entry) is not assessed (the addresses of the hosts outside
        the limit would look unknown), with a warning; give O(hosts) to name the whole fleet.
    type: bool
    default: false
  address_var:
    description: Host variable holding each host's allow-list address.
    type: str
    default: fleet_whitelist_address
  extra_entries:
    description:
      - Entries the role adds to every Atlas list besides the fleet's addresses (the role's
        C(fleet_whitelist_extra_entries)).
    type: list
    elements: str
    default: []
  merge:
    description:
      - Whether the role merges the fleet's addresses into CIDR blocks (the role's C(fleet_whitelist_merge_cidrs)).
    type: bool
    default: false
  allow_any:
    description: As the role's C(fleet_whitelist_allow_any), for the fleet's own addresses.
    type: bool
    default: false
  woodcore_pending_requests:
    description:
      - Pending Woodcore requests by key name, as the role publishes them (C(set_stats) artifacts of an AWX job,
        C(fleet_whitelist_woodcore_pending_requests)). A request waiting for its OTP for more than a day is a
        C(woodcore-pending).
    type: dict
    default: {}
  woodcore_pending_state_path:
    description: The role's local record of pending Woodcore requests, read when it exists.
    type: str
    default: ~/.cache/apiaccess.ipwhitelist/woodcore-pending.json
  concurrency:
    description:
      - How many requests are in flight at once, each paced to Atlas's rate-limit buckets.
    type: int
    default: 32
  woodcore_base_url:
    description:
      - Gateway URL for every Woodcore key without its own C(base_url). If not set, E(WOODCORE_BASE_URL) is used.
    type: str
  woodcore_api_key:
    description:
      - The Woodcore API key for every entry of O(woodcore_keys) without its own C(api_key). If not set,
        E(WOODCORE_API_KEY) is used, then the file named by E(WOODCORE_API_KEY_FILE).
    type: str
notes:
  - The module is in no C(module_defaults) action group. Like M(apiaccess.ipwhitelist.fleet_converge), it reads both
    providers and names their credentials with prefixes (O(atlas_public_key), O(woodcore_api_key)), so neither
    group's defaults (C(public_key), C(org_id), C(api_key)) fit its options.
seealso:
  - module: apiaccess.ipwhitelist.fleet_converge
'''

EXAMPLES = r'''
- name: Audit the role's targets against the fleet, fail on high findings (after writing the report)
  apiaccess.ipwhitelist.access_audit:
    atlas_keys: "{{ fleet_whitelist_atlas_keys }}"
    atlas_projects: "{{ fleet_whitelist_atlas_projects }}"
    fleet_from_play: true
    fail_on: high
  run_once: true
  register: audit

- name: Every key, service account and project of an organization, managed or not
  apiaccess.ipwhitelist.access_audit:
    audit_all: true
    org_ids: [5f1a2b3c4d5e6f7a8b9c0d1e]
    report_dir: ~/audits/access-report
  run_once: true

- name: Show the counts by severity
  ansible.builtin.debug:
    msg: "{{ audit.summary }} - {{ audit.report.html }}"
'''

RETURN = r'''
summary:
  description: How many findings of each severity.
  returned: when the audit ran (its input was valid)
  type: dict
  sample: {critical: 1, high: 2, medium: 0, low: 1, info: 0}
findings:
  description:
    - Every finding, most severe first, as in C(access-report.json).
  returned: when the audit ran (its input was valid)
  type: list
  elements: dict
  contains:
    severity:
      description: V(critical), V(high), V(medium), V(low) or V(info).
      type: str
      returned: always
    code:
      description: What is wrong, for example V(open-to-internet).
      type: str
      returned: always
    target:
      description: C(kind), C(name) and C(id) of the target (and C(org_id), C(project_id) when known).
      type: dict
      returned: always
    entry:
      description: The entry (canonical CIDR, or the Woodcore IP), or V(null) for a finding about the whole target.
      type: str
      returned: always
    message:
      description: One line saying what is wrong.
      type: str
      returned: always
    fix:
      description: The option or module that fixes it.
      type: str
      returned: always
findings_at_fail_on:
  description: How many findings have the severity O(fail_on) or a higher one (V(0) with V(never)).
  returned: when the audit ran (its input was valid)
  type: int
nothing_read:
  description: Whether no target at all could be read (then the task fails, whatever O(fail_on) says).
  returned: when the audit ran (its input was valid)
  type: bool
unreadable:
  description: The targets that could not be read, each with C(kind), C(name), C(id) and C(error).
  returned: when the audit ran (its input was valid)
  type: list
  elements: dict
report:
  description: Paths of the report files written.
  returned: when the audit ran (its input was valid)
  type: dict
  sample: {json: /work/access-report/access-report.json, markdown: /work/access-report/access-report.md,
           html: /work/access-report/access-report.html}
summary_lines:
  description: The counts in one line, then the path of the HTML report.
  returned: when the audit ran (its input was valid)
  type: list
  elements: str
  sample:
    - "1 critical, 2 high, 0 medium, 1 low, 0 info; 12 targets read"
    - "report: /work/access-report/access-report.html"
requests:
  description: HTTP requests made (all of them reads; V(0) when it failed before the first).
  returned: when the audit ran, or failed before its first request
  type: int
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import audit


def main():
    module = AnsibleModule(argument_spec=audit.argument_spec(), supports_check_mode=True)
    # The audit runs on the controller through its action plugin (it renders the HTML report from a template
    # there); this module only holds the documentation and the argument spec.
    module.fail_json(msg='access_audit runs on the controller through its action plugin; call it from a playbook '
                         'or with the ansible command, not as a module of its own')


if __name__ == '__main__':
    main()
