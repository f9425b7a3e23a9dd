# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Runs access_audit in the controller process, as fleet_converge runs: no module process, the fleet from the
play's hostvars (plugin_utils.play, the role's own logic), and the HTML report from its Jinja2 template."""

from __future__ import annotations

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import addresses, audit
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.common import PlanError
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.http_client import HAS_REQUESTS, ApiError
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.redaction import redact_everywhere
from ansible_collections.apiaccess.ipwhitelist.plugins.plugin_utils import play
from ansible_collections.apiaccess.ipwhitelist.plugins.plugin_utils.access_report import render_html

display = Display()


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        task_vars = task_vars or {}

        def body():
            args = dict(self._task.args)
            hazard = None
            if not args.get('fleet') and (args.get('hosts') or args.get('fleet_from_play')):
                # the fleet exactly as the role builds it: the named hosts, or the play's (then --limit matters)
                hazard = play.limit_hazard(self._task, task_vars, args)
                args['fleet'] = play.fleet_from_hostvars(task_vars, play.fleet_hosts(task_vars, args),
                                                         args.get('address_var') or 'fleet_whitelist_address')
            with play.environ(play.task_environment(self._task, self._templar)):
                return self._audit(args, hazard)

        # once per play, inside the action's boundary (play.run_action, as fleet_converge)
        outcome, no_log_values = play.run_action(self._task, task_vars, 'access_audit', body)
        for warning in outcome.pop('warnings', []):
            display.warning(remove_values(warning, no_log_values))
        for field in ('msg', 'summary_lines'):
            if field in outcome:
                outcome[field] = remove_values(outcome[field], no_log_values)
        result.update(outcome)
        return result

    def _audit(self, args, hazard):
        validation = ArgumentSpecValidator(audit.argument_spec()).validate(args)
        no_log_values = validation._no_log_values  # pylint: disable=protected-access
        if validation.error_messages:
            return dict(failed=True, changed=False, requests=0,
                        msg=remove_values('; '.join(validation.error_messages), no_log_values)), no_log_values
        params = validation.validated_parameters
        if not HAS_REQUESTS:
            return dict(failed=True, changed=False, msg='the Python library requests is required on the controller'), \
                no_log_values
        try:
            outcome = audit.run(params, render_html, limit_hazard=hazard)
        except (PlanError, ApiError, addresses.AddressError) as exc:
            outcome = dict(failed=True, changed=False, requests=0, msg='%s; nothing was read' % exc)
        except (IOError, OSError) as exc:
            outcome = dict(failed=True, changed=False, msg='cannot write the report into %s: %s'
                           % (params['report_dir'], exc))
        except Exception as exc:  # pylint: disable=broad-except  # every target has its boundary; this is the run's
            outcome = dict(failed=True, changed=False, requests=0, msg='unexpected error (%s): %s'
                           % (type(exc).__name__, redact_everywhere(str(exc))))
        return outcome, no_log_values
