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
