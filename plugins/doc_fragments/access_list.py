# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment(object):

    # The options every Atlas access-list module shares (atlas.access_list_argument_spec).
    DOCUMENTATION = r'''
options:
  entries:
    description:
      - IP addresses and CIDR blocks, IPv4 or IPv6, in any common notation (V(1.2.3.4), V(1.2.3.4/32),
        V(10.0.0.0/24), V(10.0.0.0/255.255.255.0), V(2001:DB8::/32)).
      - Invalid values fail the task before any request is sent, naming each bad value. CIDR blocks
        with host bits set are refused (the message gives the network form).
      - Private, loopback and link-local entries sent to Atlas cloud get a warning naming them (Atlas cloud never
        sees a call from them); they are not refused, since an on-premises Ops Manager does see private addresses.
    type: list
    elements: str
    default: []
  state:
    description:
      - V(present) adds O(entries) that are missing.
      - V(absent) removes O(entries) that are there.
    type: str
    choices: [present, absent]
    default: present
  purge:
    description:
      - With O(state=present), also remove every entry that is not in O(entries) and not covered by O(keep).
    type: bool
    default: false
  keep:
    description:
      - Entries that this task never removes, for example the address of a bastion host or the
        controller itself. An existing entry is kept if it equals or lies inside one of these networks.
      - Listing an entry in both O(keep) and O(entries) with O(state=absent) is an error.
    type: list
    elements: str
    default: []
  allow_empty:
    description:
      - Allow the task to remove the last entry of the list.
      - An empty API access list means the credential is usable from anywhere, or from nowhere if the organization
        requires an access list, so this is refused unless set.
    type: bool
    default: false
  allow_any:
    description:
      - Allow entries that cover a large part of the internet, such as V(0.0.0.0/0) and V(::/0)
        (IPv4 networks shorter than /8, IPv6 shorter than /16). Refused unless set.
    type: bool
    default: false
  current_ip:
    description:
      - Also add this controller's own address, as Atlas sees it (what the Atlas CLI offers as C(--currentIp)).
      - It is learned from C(GET /api/private/ipinfo), a private and undocumented Atlas endpoint that the Atlas CLI
        uses (seen in recorded traffic). When it is unavailable the task fails before any write, saying so.
      - Goes with O(state=present).
    type: bool
    default: false
  remove_unused_after:
    description:
      - Also remove entries unused for this long, a number and a unit (V(s), V(m), V(h), V(d), V(w)), for example
        V(90d). An entry never used counts from its creation.
      - Never removed are entries in O(entries), entries covered by O(keep), and the address this run calls from
        when the list is the caller's own. O(allow_empty) and check mode apply as to any removal.
      - Atlas updates the last use of a service account entry with a delay of up to five minutes.
      - Goes with O(state=present). With O(purge=true) every unwanted entry goes anyway.
    type: str
notes:
  - B(The caller's own address.) Atlas refuses to remove the address a call comes from from the access list of the
    credential making the call. When this task would remove it (O(purge), O(state=absent), O(remove_unused_after)) from
    the list of the very key or account it runs with, it keeps that entry at plan time, says so in RV(kept_for_caller)
    and a warning, and succeeds with nothing half-done. Learning the address costs one C(GET /api/private/ipinfo), made
    only in that case.
'''

    # Requests in flight at once (atlas.concurrency_argument_spec): the API-key and service-account lists.
    CONCURRENCY = r'''
options:
  concurrency:
    description:
      - How many DELETE requests this task has in flight at once when it removes entries (O(purge),
        O(state=absent), O(remove_unused_after)). Each request still waits for its token of Atlas's rate-limit
        bucket, so a purge of thousands of entries runs at the bucket's speed instead of one round trip at a time.
      - The request count does not change, only how many overlap. V(1) removes one entry at a time.
    type: int
    default: 8
'''
