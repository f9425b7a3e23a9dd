#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: woodcore_ipwhitelist
short_description: Manage the whitelisted IP of a Woodcore gateway API key, with OTP approval
version_added: 0.1.0
description:
  - A Woodcore API key has exactly one whitelisted IP. A new IP is requested with a POST that emails a
    one-time password (OTP) to the key's owner, and takes effect only once approved with that OTP.
  - So a change takes two runs. The first run (without O(otp)) requests the IP and returns
    RV(pending_approval=true). The second run, with O(otp) set to the emailed code, approves it and
    verifies that the key now has the IP.
  - When the key already has the IP, nothing is sent and no email goes out. A request that is already
    pending is not sent again within O(resend_after) seconds.
  - B(Lockout warning.) In production, every request for a key must come from its whitelisted IP.
    Approving an IP that is not this controller's egress address locks this automation out of the key.
    The module warns whenever it changes the IP of a live (C(wc_live_)) key.
author:
  - apiaccess.ipwhitelist maintainers (@apiaccess-maintainers)
extends_documentation_fragment:
  - apiaccess.ipwhitelist.woodcore
  - apiaccess.ipwhitelist.connection
  - apiaccess.ipwhitelist.attributes
  - apiaccess.ipwhitelist.attributes.WOODCORE_GROUP
attributes:
  check_mode:
    support: full
    details:
      - Only the key profile is read (one GET). No OTP is requested.
  diff_mode:
    support: full
    details:
      - The whitelisted IP before and after (the pending IP, when a request is made).
requirements:
  - requests
  - netaddr
options:
  ip:
    description:
      - The one IPv4 address the key should whitelist (V(present)) or stop whitelisting (V(absent)).
      - A CIDR range, a hostname, several addresses or an empty value fail before any request is sent.
    type: str
    required: true
  state:
    description:
      - V(present) makes O(ip) the key's whitelisted IP (replacing the old one once approved).
      - V(absent) removes O(ip) if it is the key's current IP; any other IP is left alone.
    type: str
    choices: [present, absent]
    default: present
  otp:
    description:
      - The one-time password emailed to the key's owner after a request, to approve it.
      - Letters and digits only (the gateway's examples are 11 lowercase letters and digits).
      - It never appears in results, errors or logs.
    type: str
  request_otp:
    description:
      - Whether the module may ask the gateway to email an OTP when a change is needed.
      - With V(false), a needed change fails instead of sending an email, for runs that must only approve.
    type: bool
    default: true
  resend_after:
    description:
      - Seconds during which a request made by this collection for the same key and IP counts as pending,
        so re-running the play does not email another OTP (which may void the first one).
      - Used when the key profile does not show pending IPs. Requests are recorded in O(pending_state_path).
    type: int
    default: 900
  pending_state_path:
    description:
      - File on the host running the module where pending requests are recorded, keyed by a hash of the
        API key (the key itself is never written). Set to an empty string to disable the record.
    type: str
    default: ~/.cache/apiaccess.ipwhitelist/woodcore-pending.json
  allow_ipv6:
    description:
      - Send an IPv6 O(ip). The gateway documents IPv4 only; leave this off unless your gateway accepts IPv6.
    type: bool
    default: false
notes:
  - Every successful whitelist request emails the key owner. The module never retries it after an
    ambiguous failure (a lost response or gateway error); it records the request as pending and warns.
seealso:
  - module: apiaccess.ipwhitelist.woodcore_ipwhitelist_info
  - name: Two-phase OTP flow (playbook, AWX, ad hoc)
    description: The collection guide to the Woodcore OTP flow.
    link: https://github.com/example/apiaccess.ipwhitelist/blob/main/docs/woodcore-otp-flow.md
'''

EXAMPLES = r'''
# Phase 1: request the IP. The key owner receives an OTP by email.
- name: Request whitelisting of the egress IP
  apiaccess.ipwhitelist.woodcore_ipwhitelist:
    api_key: "{{ woodcore_api_key }}"
    ip: 203.0.113.7
  register: wl

# Phase 2: approve with the OTP (interactive run).
- name: Ask for the OTP
  ansible.builtin.pause:
    prompt: "OTP emailed to the owner of the key"
    echo: false
  register: otp_prompt
  when: wl.pending_approval

- name: Approve and verify
  apiaccess.ipwhitelist.woodcore_ipwhitelist:
    api_key: "{{ woodcore_api_key }}"
    ip: 203.0.113.7
    otp: "{{ otp_prompt.user_input }}"
  when: wl.pending_approval

# AWX: a survey variable (password type) carries the OTP into the second job.
- name: Approve with the OTP from an AWX survey
  apiaccess.ipwhitelist.woodcore_ipwhitelist:
    ip: 203.0.113.7           # api_key comes from the WOODCORE_API_KEY credential
    otp: "{{ woodcore_otp | default(omit) }}"

- name: Stop whitelisting an old address (only if it is the current one)
  apiaccess.ipwhitelist.woodcore_ipwhitelist:
    ip: 198.51.100.20
    state: absent
'''

RETURN = r'''
ip:
  description: The key's whitelisted IP after the task (unchanged while approval is pending).
  returned: success
  type: str
  sample: 203.0.113.7
pending_ip:
  description: The IP waiting for OTP approval, or V(null).
  returned: success
  type: str
  sample: 203.0.113.8
pending_approval:
  description: Whether a request waits for OTP approval; re-run with O(otp) to finish.
  returned: success
  type: bool
otp_sent:
  description: Whether this task made the gateway email an OTP.
  returned: success
  type: bool
msg:
  description: What happened, and what to do next.
  returned: always
  type: str
profile_ip_field:
  description: The key profile field read as the whitelisted IP (detected unless O(profile_ip_field) is set).
  returned: success
  type: str
  sample: whitelistedIp
diff:
  description: The IP before and after.
  returned: success
  type: dict
requests:
  description: Number of HTTP requests made.
  returned: always
  type: int
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import addresses
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.common import (
    PlanError, check_libraries, run_module,
)
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.woodcore import (
    DEFAULT_LEDGER, OTP_RE, Converger, PendingLedger, build_api, validate_connection, woodcore_argument_spec,
)


def main():
    argument_spec = woodcore_argument_spec()
    argument_spec.update(
        ip=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        otp=dict(type='str', no_log=True),
        request_otp=dict(type='bool', default=True),
        resend_after=dict(type='int', default=900),
        pending_state_path=dict(type='str', default=DEFAULT_LEDGER),
        allow_ipv6=dict(type='bool', default=False),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    check_libraries(module)
    params = module.params

    def work():
        validate_connection(params)
        params['ip'] = str(addresses.parse_single_address(params['ip'], allow_ipv6=params['allow_ipv6']))
        if params['otp'] is not None and not OTP_RE.match(params['otp']):
            raise PlanError('otp must be 4 to 64 letters or digits; the value given has other characters '
                            '(it is not shown)')
        if params['resend_after'] < 0:
            raise PlanError('resend_after must be 0 or more, got %r' % params['resend_after'])
        api = build_api(params)
        module.apiaccess_client = api.client
        converger = Converger(api, params, check_mode=module.check_mode,
                              ledger=PendingLedger(params['pending_state_path']))
        result = converger.run()
        for warning in result.pop('warnings'):
            module.warn(warning)
        return result

    run_module(module, work)


if __name__ == '__main__':
    main()
