# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Runs fleet_converge in the controller process.

A module call costs ~0.35 s of process start and imports (AnsiballZ) on top of its HTTP work;
converging dozens of keys that way is slow. This action plugin validates the same argument spec
and runs the same module_utils code without a module process, and builds the host -> address map
from the play's hostvars.
"""

from __future__ import annotations

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import addresses, fleet
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.common import PlanError
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.http_client import (
    HAS_REQUESTS, ApiError,
)

display = Display()


def _is_ip(value):
    try:
        addresses.parse_single_address(str(value), allow_ipv6=True)
    except (addresses.AddressError, ValueError):
        return False
    return True


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def _fleet_from_hostvars(self, task_vars, hosts, address_var):
        """host -> address: the host's address variable, else its ansible_host when that is an IP."""
        hostvars = task_vars['hostvars']
        result = {}
        for host in hosts:
            values = hostvars[host]
            value = values.get(address_var)
            if value in (None, ''):
                candidate = values.get('ansible_host')
                value = candidate if candidate and _is_ip(candidate) else None
            result[host] = value
        return result

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        task_vars = task_vars or {}
        args = dict(self._task.args)
        # the fleet defaults to the play's hosts, which --limit narrows
        limit = None if args.get('fleet') or args.get('hosts') else task_vars.get('ansible_limit')
        if not args.get('fleet'):
            hosts = args.get('hosts') or task_vars.get('ansible_play_hosts_all') or []
            args['fleet'] = self._fleet_from_hostvars(task_vars, hosts, args.get('address_var') or
                                                      'fleet_whitelist_address')
        validation = ArgumentSpecValidator(fleet.argument_spec()).validate(args)
        no_log_values = validation._no_log_values  # pylint: disable=protected-access
        if validation.error_messages:
            result.update(failed=True, converged=False,
                          msg=remove_values('; '.join(validation.error_messages), no_log_values))
            return result
        purging = [k.get('name') or k['api_key'] for k in validation.validated_parameters['atlas_keys'] if k['purge']]
        if limit and purging:
            result.update(failed=True, converged=False, changed=False, requests=0, msg=(
                'refusing to purge under --limit: the limit %r narrows the play to %d host(s), and the fleet is the '
                "play's hosts, so Atlas key(s) %s would lose the address of every host outside the limit. Nothing was "
                'sent. Run without --limit, or name the fleet explicitly (role: fleet_whitelist_hosts, for example '
                "\"{{ groups['fleet'] }}\"; fleet_converge: hosts)" % (limit, len(args['fleet']), ', '.join(purging))))
            return result
        if not HAS_REQUESTS:
            result.update(failed=True, msg='the Python library requests is required on the controller')
            return result
        try:
            outcome = fleet.run(validation.validated_parameters, check_mode=bool(self._task.check_mode),
                                diff=bool(self._task.diff))
        except (PlanError, ApiError, addresses.AddressError) as exc:
            outcome = dict(failed=True, converged=False, changed=False, msg=str(exc), requests=0)
        for warning in outcome.pop('warnings', []):
            display.warning(remove_values(warning, no_log_values))
        result.update(_scrub(outcome, no_log_values))
        return result


def _scrub(outcome, no_log_values):
    """Mask no_log values in the free-text fields. Entries are canonical CIDRs this collection
    formats itself and cannot hold a secret; scrubbing tens of thousands of them costs seconds."""
    for field in ('msg', 'summary'):
        if field in outcome:
            outcome[field] = remove_values(outcome[field], no_log_values)
    for key_result in outcome.get('atlas', []) + outcome.get('woodcore', []):
        for field in ('msg', 'name'):
            if field in key_result:
                key_result[field] = remove_values(key_result[field], no_log_values)
    return outcome
