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
a value that may be a template (Ansible's own ``Templar.is_possibly_template``: template markers, or a
``#jinja2:`` override header; it renders with all of the host's variables), a value that is neither a string nor
None (mappings and lists merge across layers under ``hash_behaviour = merge``), a host with facts (``get_vars``
cleans and injects them), a host not in the inventory, a name that is one of Ansible's magic variables, or a
``VARIABLE_PRECEDENCE`` this module does not know.

The layer order above is copied from ``get_vars``, so the short cut is taken only on the ansible-core versions it
is tested on (``TESTED_CORE``: 2.19 up to, not including, 2.22; the CI runs 2.19 and 2.21, and 2.20's ``get_vars``
merges the same layers in the same order). On any other version, older or newer, every host takes ``hostvars``:
a layer a new ansible-core adds or moves would otherwise give some hosts a wrong value without a word. On the
tested versions every call also checks itself against ``hostvars`` on one host of each distinct set of groups
it read (the first host read with that set): when any of them disagrees, every host takes ``hostvars``.
"""

from __future__ import annotations

try:
    from ansible import constants as C
    from ansible.inventory.helpers import get_group_vars, sort_groups
    from ansible.release import __version__ as ANSIBLE_CORE_VERSION
    from ansible.template import Templar
    from ansible.vars.plugins import get_vars_from_inventory_sources, get_vars_from_path
except ImportError:  # pragma: no cover - a controller has these; without them hostvars does it all
    C = None
    ANSIBLE_CORE_VERSION = None

# the ansible-core versions whose get_vars the layers below are tested against: (first, first not tested)
TESTED_CORE = ((2, 19), (2, 22))
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
    result, checked = {}, set()
    for host in hosts:
        found = reader.values(host)
        if found is MISSING:
            result[host] = hostvars[host]
            continue
        groups = reader.group_set(host)
        if groups not in checked:  # checked against Ansible's resolution on one host of each set of groups
            full = hostvars[host]
            if any(found.get(name) != full.get(name) for name in names):
                return dict((h, hostvars[h]) for h in hosts)
            checked.add(groups)
        result[host] = found
    return result


def tested_core(version=None):
    """Whether this ansible-core (``version``, else the running one) is one the short cut is tested on."""
    try:
        major_minor = tuple(int(part) for part in (version or ANSIBLE_CORE_VERSION).split('.')[:2])
    except (AttributeError, ValueError):
        return False
    return len(major_minor) == 2 and TESTED_CORE[0] <= major_minor < TESTED_CORE[1]


class _Reader(object):
    """Reads some variables of each host from the layers of ``VariableManager.get_vars``, or says it cannot."""

    def __init__(self, inventory, variable_manager, loader, names):
        self.inventory = inventory
        self.vm = variable_manager
        self.loader = loader
        self.names = names
        self.basedirs = [loader.get_basedir()] if variable_manager.safe_basedir else []
        self.all_group = inventory.groups.get('all')
        self.templar = Templar(loader=loader)
        self._groups = {}  # the host's set of groups (group_set) -> their layers: most hosts share them

    @classmethod
    def for_hostvars(cls, hostvars, names):
        """A reader for these hostvars, or None when only ``hostvars`` can tell."""
        try:
            # pylint: disable-next=protected-access
            inventory, vm, loader = hostvars._inventory, hostvars._variable_manager, hostvars._loader
            if C is None or not tested_core() or sorted(C.VARIABLE_PRECEDENCE) != sorted(GROUP_LAYERS):
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

    def group_set(self, host_name):
        """The names of the host's groups: hosts with the same set of groups read the same group layers (the key
        of those layers, and of the check against hostvars)."""
        return self._group_set(self.inventory.get_host(host_name))

    @staticmethod
    def _group_set(host):
        return frozenset(group.name for group in host.get_groups())

    def values(self, host_name):
        """The host's values of ``names`` (those it defines), or MISSING when hostvars must say."""
        try:
            layers = self._layers(host_name)
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
                elif not isinstance(value, str) or self.templar.is_possibly_template(value):
                    return MISSING  # merged across layers, or rendered with all of the host's variables
                values[var] = value
            return values
        except Exception:  # pylint: disable=broad-except  # whatever it is, hostvars resolves this host
            return MISSING

    def _layers(self, host_name):
        """The variable layers of a host, lowest precedence first (as get_vars merges them), or None."""
        vm = self.vm
        host = self.inventory.get_host(host_name)
        if host is None or getattr(host, 'implicit', False):
            return None
        try:
            facts = vm._fact_cache.get(host_name)  # pylint: disable=protected-access
        except KeyError:
            facts = None
        if facts:
            return None  # facts are cleaned, namespaced and injected by get_vars: hostvars does that
        layers = list(self._group_layers(host))
        layers.append(host.vars)  # Host.get_vars(): these, and the host's magic variables (never read here)
        layers.append(self._plugins_inventory([host]))
        layers.append(self._plugins_play([host]))
        layers.append(vm._vars_cache.get(host_name) or {})  # pylint: disable=protected-access
        layers.append(vm._nonpersistent_fact_cache.get(host_name) or {})  # pylint: disable=protected-access
        layers.append(vm._extra_vars or {})  # pylint: disable=protected-access
        return layers

    def _group_layers(self, host):
        key = self._group_set(host)
        if key not in self._groups:
            host_groups = sort_groups([g for g in host.get_groups() if g.name != 'all'])
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
