# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the controller-side action plugins (fleet_converge, access_audit) read from the play: the fleet's
addresses from the hosts' variables, the task's environment, and whether --limit narrows the fleet. One
implementation, so the audit sees the same fleet the role converges."""

from __future__ import annotations

import contextlib
import os

from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import addresses, fleet
from ansible_collections.apiaccess.ipwhitelist.plugins.plugin_utils import host_variables


def is_ip(value):
    try:
        addresses.parse_single_address(str(value), allow_ipv6=True)
    except (addresses.AddressError, ValueError):
        return False
    return True


def fleet_from_hostvars(task_vars, hosts, address_var):
    """host -> address: the host's address variable, else its ansible_host when that is an IP. Read as
    ``hostvars[host]`` gives them, without resolving every variable of every host (host_variables.read)."""
    found = host_variables.read(task_vars['hostvars'], hosts, (address_var, 'ansible_host'))
    result = {}
    for host in hosts:
        values = found[host]
        value = values.get(address_var)
        if value in (None, ''):
            candidate = values.get('ansible_host')
            value = candidate if candidate and is_ip(candidate) else None
        result[host] = value
    return result


def task_environment(task, templar):
    """The task's ``environment:`` (play, block and task levels merged), templated: what a module process
    would get on top of the controller's own environment."""
    merged = {}
    environments = task.environment or []
    for environment in environments if isinstance(environments, list) else [environments]:
        if environment:
            merged.update(templar.template(environment))
    return dict((str(k), str(v)) for k, v in merged.items())


def unlimited_play_hosts(task):
    """The hosts the play's pattern matches without --limit, or None when that cannot be told."""
    try:
        inventory = task.get_variable_manager()._inventory  # pylint: disable=protected-access
        play = task.get_play() if hasattr(task, 'get_play') else task._parent._play  # pylint: disable=protected-access
        return [h.name for h in inventory.get_hosts(play.hosts, ignore_limits=True, ignore_restrictions=True)]
    except Exception:  # pylint: disable=broad-except  # older or newer internals: assume the limit narrows
        return None


def limit_hazard(task, task_vars, args):
    """Why the fleet is not the whole fleet under --limit, or None (the rule is fleet.limit_narrows)."""
    if not task_vars.get('ansible_limit') or args.get('fleet'):
        return None
    return fleet.limit_narrows(task_vars.get('ansible_play_hosts_all') or [], unlimited_play_hosts(task),
                               args.get('hosts'), (task_vars.get('groups') or {}).values())


@contextlib.contextmanager
def environ(extra):
    """os.environ with ``extra`` over it, for the argspec fallbacks and requests (proxies, CA bundles),
    restored after. The action runs in its own worker process, so nothing else sees the change."""
    saved = dict(os.environ)
    os.environ.update(extra)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


class UnknownHosts(ValueError):
    """Hosts named as the fleet that the inventory does not have."""


def fleet_hosts(task_vars, args):
    """The fleet's hosts: those named (``hosts``), or the play's. A named host the inventory lacks is refused by
    name (UnknownHosts), not met later as an error from deep inside Ansible's variables."""
    named = args.get('hosts')
    if not named:
        return task_vars.get('ansible_play_hosts_all') or []
    known = set((task_vars.get('groups') or {}).get('all') or []) | set(task_vars.get('ansible_play_hosts_all') or [])
    unknown = [h for h in named if h not in known]
    if unknown:
        raise UnknownHosts('hosts: %s %s not in the inventory (the fleet is made of inventory hosts: check the names, '
                           'and the inventory given with -i)' % (', '.join(map(str, unknown)),
                                                                 'is' if len(unknown) == 1 else 'are'))
    return named


def run_action(task, task_vars, name, body):
    """The frame of the controller-side actions (fleet_converge, access_audit), one for both.

    * Once per play: without ``run_once``, on a play of several hosts, ``body`` runs on the first host only (it
      covers the whole play; per host it would only multiply the requests), with a warning; the others skip.
    * The action's boundary: whatever ``body`` raises (the fleet from the hosts' variables, the task's environment,
      a host named as the fleet that the inventory lacks) becomes a failed result, its message redacted
      (redaction.redact_everywhere), never a traceback.

    ``body()`` returns ``(outcome, no_log_values)``; so does this."""
    # pylint: disable-next=import-outside-toplevel
    from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import redaction
    play_hosts = task_vars.get('ansible_play_hosts') or []
    several = not task.run_once and len(play_hosts) > 1
    if several and task_vars.get('inventory_hostname') != play_hosts[0]:
        return dict(skipped=True, changed=False, msg='skipped: %s runs once for the whole play, on %s; set '
                                                     'run_once: true on the task' % (name, play_hosts[0])), set()
    try:
        outcome, no_log_values = body()
    except Exception as exc:  # pylint: disable=broad-except  # the action's boundary: a result, never a traceback
        why = str(exc) if isinstance(exc, UnknownHosts) else '%s: %s' % (type(exc).__name__, exc)
        outcome, no_log_values = dict(failed=True, changed=False, requests=0, msg='%s could not start, nothing was '
                                      'sent: %s' % (name, redaction.redact_everywhere(why))), set()
    if several:
        outcome.setdefault('warnings', []).append(
            '%s ran without run_once on a play of %d hosts: it ran once, here, and skipped the other hosts; set '
            'run_once: true on the task' % (name, len(play_hosts)))
    return outcome, no_log_values
