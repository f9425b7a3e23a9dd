# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A few variables of many hosts, as ``hostvars[host]`` gives them, without resolving every variable of every
host.

``hostvars[host]`` runs Ansible's whole variable resolution for the host (``VariableManager.get_vars(host=host)``:
every layer merged, facts cleaned, then the value templated on access): 0.2-0.3 s of CPU for 1,000 hosts, when
the fleet needs two variables of each. :func:`read` takes those names from the same layers, in the same order
as ``get_vars`` merges them:

1. the group layers, in ``VARIABLE_PRECEDENCE`` order: the inventory vars of ``all`` and of the host's groups,
   and the vars plugins (``group_vars/`` files and any other) for them, beside the inventory and the playbook;
2. the host's inventory vars, then the vars plugins for the host (``host_vars/`` files and any other);
3. ``include_vars`` results, then ``set_fact`` and registered values, then extra vars (``-e``).

A host is left to Ansible's own resolution (its ``hostvars[host]``) whenever the short cut could differ from it:
a value that is a template (it renders with all of the host's variables), a value that is neither a string nor
None (mappings and lists merge across layers under ``hash_behaviour = merge``), a host with facts (``get_vars``
cleans and injects them), a host not in the inventory, a name that is one of Ansible's magic variables, or a
``VARIABLE_PRECEDENCE`` this module does not know. And every call checks itself against ``hostvars`` on the
first host it read: when they disagree (an ansible-core that resolves otherwise), every host takes ``hostvars``.
"""

from __future__ import annotations

try:
    from ansible import constants as C
    from ansible.inventory.helpers import get_group_vars, sort_groups
    from ansible.vars.plugins import get_vars_from_inventory_sources, get_vars_from_path
except ImportError:  # pragma: no cover - a controller has these; without them hostvars does it all
    C = None

TEMPLATE_MARKERS = ('{{', '{%', '{#')
GROUP_LAYERS = ('all_inventory', 'groups_inventory', 'all_plugins_inventory', 'all_plugins_play',
                'groups_plugins_inventory', 'groups_plugins_play')
# set over a host's own variables by Host.get_vars(), or over every layer by get_vars()
HOST_MAGIC = frozenset(['inventory_hostname', 'inventory_hostname_short', 'group_names', 'hostvars', 'vars',
                        'environment'])
MISSING = object()


def read(hostvars, hosts, names):
    """host -> the host's variables named in ``names``: a dict of those it defines (read from the layers), or
    its ``hostvars[host]`` itself (Ansible's resolution, templated on access). Either answers ``get(name)``
    as ``hostvars[host].get(name)`` would."""
    names = tuple(names)
    reader = _Reader.for_hostvars(hostvars, names)
    if reader is None:
        return dict((host, hostvars[host]) for host in hosts)
    result, checked = {}, False
    for host in hosts:
        found = reader.values(host)
        if found is MISSING:
            result[host] = hostvars[host]
            continue
        if not checked:  # the short cut, checked against Ansible's resolution on the first host it read
            full = hostvars[host]
            if any(found.get(name) != full.get(name) for name in names):
                return dict((h, hostvars[h]) for h in hosts)
            checked = True
        result[host] = found
    return result


class _Reader(object):
    """Reads some variables of each host from the layers of ``VariableManager.get_vars``, or says it cannot."""

    def __init__(self, inventory, variable_manager, loader, names):
        self.inventory = inventory
        self.vm = variable_manager
        self.loader = loader
        self.names = names
        self.basedirs = [loader.get_basedir()] if variable_manager.safe_basedir else []
        self.all_group = inventory.groups.get('all')
        self._groups = {}  # the host's groups (names) -> their layers: most hosts share their groups

    @classmethod
    def for_hostvars(cls, hostvars, names):
        """A reader for these hostvars, or None when only ``hostvars`` can tell."""
        try:
            # pylint: disable-next=protected-access
            inventory, vm, loader = hostvars._inventory, hostvars._variable_manager, hostvars._loader
            if C is None or sorted(C.VARIABLE_PRECEDENCE) != sorted(GROUP_LAYERS):
                return None
            # playbook_dir, groups, omit, ansible_check_mode, ...: set over every layer
            magic = vm._get_magic_variables(None, None, None, False)  # pylint: disable=protected-access
            magic = set(magic) | HOST_MAGIC
            if magic.intersection(names):
                return None
            for attribute in ('_fact_cache', '_vars_cache', '_nonpersistent_fact_cache', '_extra_vars'):
                getattr(vm, attribute)
            return cls(inventory, vm, loader, names)
        except Exception:  # pylint: disable=broad-except  # another ansible-core's internals: hostvars will do
            return None

    def values(self, name):
        """The host's values of ``names`` (those it defines), or MISSING when hostvars must say."""
        try:
            layers = self._layers(name)
            if layers is None:
                return MISSING
            values = {}
            for var in self.names:
                value = MISSING
                for layer in layers:
                    value = layer.get(var, value)
                if value is MISSING:
                    continue
                if value is None:
                    pass  # replaces whatever lower layers hold, like a string
                elif not isinstance(value, str) or any(marker in value for marker in TEMPLATE_MARKERS):
                    return MISSING  # merged across layers, or rendered with all of the host's variables
                values[var] = value
            return values
        except Exception:  # pylint: disable=broad-except  # whatever it is, hostvars resolves this host
            return MISSING

    def _layers(self, name):
        """The variable layers of a host, lowest precedence first (as get_vars merges them), or None."""
        vm = self.vm
        host = self.inventory.get_host(name)
        if host is None or getattr(host, 'implicit', False):
            return None
        try:
            facts = vm._fact_cache.get(name)  # pylint: disable=protected-access
        except KeyError:
            facts = None
        if facts:
            return None  # facts are cleaned, namespaced and injected by get_vars: hostvars does that
        layers = list(self._group_layers(host))
        layers.append(host.vars)  # Host.get_vars(): these, and the host's magic variables (never read here)
        layers.append(self._plugins_inventory([host]))
        layers.append(self._plugins_play([host]))
        layers.append(vm._vars_cache.get(name) or {})  # pylint: disable=protected-access
        layers.append(vm._nonpersistent_fact_cache.get(name) or {})  # pylint: disable=protected-access
        layers.append(vm._extra_vars or {})  # pylint: disable=protected-access
        return layers

    def _group_layers(self, host):
        host_groups = sort_groups([g for g in host.get_groups() if g.name != 'all'])
        key = tuple(g.name for g in host_groups)
        if key not in self._groups:
            functions = {
                'all_inventory': self.all_group.get_vars,
                'all_plugins_inventory': lambda: self._plugins_inventory([self.all_group]),
                'all_plugins_play': lambda: self._plugins_play([self.all_group]),
                'groups_inventory': lambda: get_group_vars(host_groups),
                'groups_plugins_inventory': lambda: self._plugins_inventory(host_groups),
                'groups_plugins_play': lambda: self._plugins_play(host_groups),
            }
            self._groups[key] = [functions[entry]() for entry in C.VARIABLE_PRECEDENCE]
        return self._groups[key]

    def _plugins_inventory(self, entities):
        sources = self.inventory._sources  # pylint: disable=protected-access
        return get_vars_from_inventory_sources(self.loader, sources, entities, 'task')

    def _plugins_play(self, entities):
        data = {}
        for path in self.basedirs:
            data.update(get_vars_from_path(self.loader, path, entities, 'task'))
        return data
