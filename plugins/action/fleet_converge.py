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
from ansible_collections.apiaccess.ipwhitelist.plugins.plugin_utils import play

display = Display()


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        task_vars = task_vars or {}

        def body():
            args = dict(self._task.args)
            hazard = play.limit_hazard(self._task, task_vars, args)
            if not args.get('fleet'):
                args['fleet'] = play.fleet_from_hostvars(task_vars, play.fleet_hosts(task_vars, args),
                                                         args.get('address_var') or 'fleet_whitelist_address')
            with play.environ(play.task_environment(self._task, self._templar)):
                return self._converge(args, hazard, task_vars)

        # once per play, inside the action's boundary (play.run_action, as access_audit)
        outcome, no_log_values = play.run_action(self._task, task_vars, 'fleet_converge', body)
        if outcome.get('failed'):
            outcome.setdefault('converged', False)
        for warning in outcome.pop('warnings', []):
            display.warning(remove_values(warning, no_log_values))
        result.update(_scrub(outcome, no_log_values))
        return result

    def _converge(self, args, hazard, task_vars):
        validation = ArgumentSpecValidator(fleet.argument_spec()).validate(args)
        no_log_values = validation._no_log_values  # pylint: disable=protected-access
        if validation.error_messages:
            return dict(failed=True, converged=False, changed=False, requests=0,
                        msg=remove_values('; '.join(validation.error_messages), no_log_values)), no_log_values
        if not HAS_REQUESTS:
            return dict(failed=True, msg='the Python library requests is required on the controller'), no_log_values
        # which targets a narrowing limit endangers is the plan's to say (fleet.Plan), for every kind alike
        limit = dict(pattern=task_vars.get('ansible_limit'), hosts=len(args['fleet']), why=hazard) if hazard else None
        try:
            outcome = fleet.run(validation.validated_parameters, check_mode=bool(self._task.check_mode),
                                diff=bool(self._task.diff), limit=limit)
        except (PlanError, ApiError, addresses.AddressError) as exc:
            outcome = dict(failed=True, converged=False, changed=False, msg=str(exc), requests=0)
        except Exception as exc:  # pylint: disable=broad-except  # each target has its boundary; this is the run's
            outcome = dict(failed=True, converged=False, changed=False, requests=0,
                           msg='unexpected error (%s) before or after the targets ran: %s' % (type(exc).__name__, exc))
        return outcome, no_log_values


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
