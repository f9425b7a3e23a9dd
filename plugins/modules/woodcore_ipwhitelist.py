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
  - B(An OTP approves only the request it was emailed for.) Before sending an OTP, the module looks up the
    request waiting for approval (the key profile's pending field when the gateway shows one, O(pending_request)
    handed in from an earlier job, or the local record in O(pending_state_path)). If it is for another IP, the
    module fails before sending anything. When no pending request is known, it approves and says in
    RV(approval_checked) and RV(msg) that the IP could not be checked beforehand.
  - B(Every refused OTP says how to go on.) A mistyped OTP keeps the request pending (re-run with the correct
    one). An expired OTP, too many attempts or "nothing pending" void the request; the record is cleared, and a
    re-run without O(otp) requests a new OTP at once.
  - B(An approval whose answer was lost is not a refusal.) After a read timeout, a lost connection or a gateway
    error (500, 502, 504) the approval may have been applied, so the module re-reads the key profile. If the key
    has the wanted state, the run succeeds (C(changed=true)); if it still has the old one, the run fails saying
    so; if the profile cannot be read either, the run fails with C(changed=true) and RV(outcome_unknown), and
    says to re-run with the same O(otp), never to request a new one.
  - B(Lockout guard.) A live (C(wc_live_)) key answers only calls from its whitelisted IP, so approving another
    IP locks this automation out of the key unless that IP is its own egress address. Changing or removing the
    IP of a live key fails before any write unless O(allow_lockout=true), which then warns. An approval after
    which the gateway refuses this controller (HTTP 403 on the verifying read) is reported as a success with
    RV(locked_out=true) and a warning.
author:
  - apiaccess.ipwhitelist maintainers (@apiaccess-maintainers)
extends_documentation_fragment:
  - apiaccess.ipwhitelist.woodcore
  - apiaccess.ipwhitelist.woodcore.PENDING
  - apiaccess.ipwhitelist.connection
  - apiaccess.ipwhitelist.attributes
  - apiaccess.ipwhitelist.attributes.WOODCORE_GROUP
attributes:
  check_mode:
    support: full
    details:
      - Only the key profile is read (one GET). No OTP is requested and none is sent.
      - The result predicts the real run from the same state, taking the same decisions. A request already
        pending is reported as pending (C(changed=false)), and every refusal the real run would make before a
        write (O(request_otp=false), an O(otp) for another IP, the lockout guard) is made in check mode too.
  diff_mode:
    support: full
    details:
      - The whitelisted IP before and after (the pending IP, when a request is made).
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
      - Letters and digits only (the gateway's examples are 11 lowercase letters and digits). Surrounding
        whitespace is dropped.
      - An all-digit OTP given as a number (unquoted in YAML or extra vars, a survey integer field) is taken as
        its digits. A number has no leading zeros (YAML even reads C(012345) as an octal number), so quote an OTP
        that starts with C(0).
      - It never appears in results, errors or logs.
      - B(Ad hoc runs:) give it through the E(WOODCORE_OTP) environment variable, not in C(-a). ansible-core 2.19
        and later print a failed ad hoc task's arguments unmasked.
      - If not set, the value of the E(WOODCORE_OTP) environment variable (or of the file named by
        E(WOODCORE_OTP_FILE)) is used.
    type: str
  request_otp:
    description:
      - Whether the module may ask the gateway to email an OTP when a change is needed.
      - With V(false), a needed change fails instead of sending an email, for runs that must only approve.
      - That includes a removal (O(state=absent)). Whether the gateway emails an OTP to approve one is not
        documented, so with V(false) no removal is requested either. Approving a removal already requested, with
        O(otp), still works.
    type: bool
    default: true
  resend_after:
    description:
      - Seconds during which a request made by this collection for the same key and IP counts as pending,
        so re-running the play does not email another OTP (which may void the first one).
      - Used when the key profile does not show pending IPs. Requests are recorded in O(pending_state_path).
    type: int
    default: 900
  allow_lockout:
    description:
      - Allow changing or removing the whitelisted IP of a live (C(wc_live_)) key.
      - After approval, only the new IP can call a live key; if that is not this automation's egress address,
        the automation is locked out of the key. The module warns when it does this.
    type: bool
    default: false
  allow_private:
    description:
      - Allow a private O(ip) (RFC 1918, carrier-grade NAT C(100.64.0.0/10), IPv6 unique local), for a gateway
        reached over a private link.
      - Unspecified, broadcast, loopback, link-local, multicast and reserved addresses are always refused, before
        any request. The documentation ranges (C(192.0.2.0/24), C(198.51.100.0/24), C(203.0.113.0/24)) are
        allowed, as sandbox keys and examples use them.
    type: bool
    default: false
  allow_ipv6:
    description:
      - Send an IPv6 O(ip). The gateway documents IPv4 only; leave this off unless your gateway accepts IPv6.
    type: bool
    default: false
notes:
  - Every successful whitelist request emails the key owner. The module never retries it after an
    ambiguous failure (a lost response, a read timeout or a gateway error 500, 502 or 504); it records the
    request as pending and warns.
  - C(changed) of a real run comes from the journal of the writes the run made, on success and on failure
    alike; a failure's message says what was already done.
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

# AWX: the first job's pending_request goes to the second job (set_stats, or a survey), and a
# survey variable (password type) carries the OTP.
- name: Request, and publish the pending request for the next workflow node
  apiaccess.ipwhitelist.woodcore_ipwhitelist:
    ip: 203.0.113.7
  register: wl

- name: Hand the pending request to the approval job (AWX artifacts)
  ansible.builtin.set_stats:
    data:
      woodcore_pending_request: "{{ wl.pending_request }}"
  when: wl.pending_approval

# The approval job (woodcore_pending_request arrives as an extra variable):
- name: Approve with the OTP from an AWX survey
  apiaccess.ipwhitelist.woodcore_ipwhitelist:
    ip: 203.0.113.7           # api_key comes from the WOODCORE_API_KEY credential
    otp: "{{ woodcore_otp | default(omit) }}"
    pending_request: "{{ woodcore_pending_request | default(omit) }}"

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
pending_request:
  description:
    - The request waiting for approval, as data to hand to a later run (O(pending_request)); V(null) when
      nothing is pending. Never the key or the OTP.
    - On failure it is returned too, as it then stands (V(null) when the failure voided the request).
  returned: always
  type: dict
  sample: {key_fingerprint: 3f1c0e9a7b2d4c55, action: whitelist, ip: 203.0.113.8, requested_at: '2026-12-02T10:00:00Z'}
approval_checked:
  description: Whether the IP of the approved request was known, and checked, before the OTP was sent.
  returned: when an OTP was accepted
  type: bool
locked_out:
  description:
    - Whether the gateway refused this controller after the approval (HTTP 403 on the verifying read).
    - Also after a removal requested without an OTP, when the read after it is refused (HTTP 403) although the
      read before it was answered. The removal took effect, and this controller is locked out of the key.
  returned: when an OTP was accepted, or a removal's verifying read was refused
  type: bool
outcome_unknown:
  description:
    - Writes that may or may not have been applied (their answer was lost, and no later read settled them), as
      C(<action> <ip>), for example V(approve 203.0.113.8). Re-run with the same O(otp) to see.
  returned: when there are any
  type: list
  elements: str
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

from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.common import (
    check_libraries, check_not_negative, run_module, secret_fallback,
)
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.woodcore import (
    DEFAULT_LEDGER, Converger, PendingLedger, build_api, pending_request_spec, validate_connection,
    validate_ip, validate_otp, woodcore_argument_spec,
)


def main():
    argument_spec = woodcore_argument_spec()
    argument_spec.update(
        ip=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        otp=dict(type='str', no_log=True, fallback=(secret_fallback, ['WOODCORE_OTP'])),
        request_otp=dict(type='bool', default=True),
        resend_after=dict(type='int', default=900),
        pending_state_path=dict(type='str', default=DEFAULT_LEDGER),
        pending_request=dict(type='dict', options=pending_request_spec()),
        allow_lockout=dict(type='bool', default=False),
        allow_private=dict(type='bool', default=False),
        allow_ipv6=dict(type='bool', default=False),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    check_libraries(module)
    params = module.params

    def work():
        validate_connection(params)
        params['ip'] = validate_ip(params['ip'], params['state'], params['allow_ipv6'], params['allow_private'])
        params['otp'] = validate_otp(params['otp'])
        check_not_negative(params, ('resend_after',))
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
