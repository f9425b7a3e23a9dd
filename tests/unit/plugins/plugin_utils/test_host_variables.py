# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""host_variables.read gives what hostvars[host] gives, layer by layer: inventory vars of all, of groups (depth,
priority) and of the host, group_vars/host_vars files beside the inventory and beside the playbook, include_vars,
set_fact, extra vars, templated values; and leaves to hostvars what only it can tell."""

from __future__ import annotations

import copy
import json

import pytest

from ansible import constants as C
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from ansible.vars.hostvars import HostVars
from ansible.vars.manager import VariableManager

from ansible_collections.apiaccess.ipwhitelist.plugins.plugin_utils import host_variables, play

NAMES = ('addr', 'ansible_host')

INVENTORY = {'all': {
    'vars': {'addr': '192.0.2.1', 'ansible_connection': 'local'},
    'children': {
        'web': {
            'vars': {'addr': '192.0.2.2'},
            'hosts': {
                'all_only': {'addr': None},  # None in the host layer still wins over the groups'
                'group_only': {},
                'host_inv': {'addr': '203.0.113.1'},
                'host_file': {'addr': '203.0.113.99'},        # host_vars/host_file.yml wins
                'play_host_file': {'addr': '203.0.113.98'},   # ../playbooks/host_vars wins over both
                'templated': {'addr': '{{ base }}.5', 'base': '203.0.113'},
                'templated_host': {'ansible_host': '{{ addr_for_ssh }}', 'addr_for_ssh': '198.51.100.44'},
                # Ansible's override header: a template with other delimiters, no '{{' anywhere
                'jinja2_header': {'addr': "#jinja2:variable_start_string:'[[', variable_end_string:']]'\n"
                                          "[[ base ]].9", 'base': '203.0.113'},
                'set_fact': {'addr': '203.0.113.97'},
                'include_vars': {'addr': '203.0.113.96'},
                'facts': {'addr': '203.0.113.7'},
                'not_a_string': {'addr': 12345},
                'a_mapping': {'addr': {'ip': '203.0.113.8'}},
                'ip_host': {'ansible_host': '198.51.100.10'},
                'name_host': {'ansible_host': 'db.example.com'},
            },
        },
        'eu': {'vars': {'addr': '192.0.2.3'}, 'hosts': {'child_group': {}},
               'children': {}},
        'files': {'hosts': {'group_file': {}, 'play_group_file': {}}},
        'low': {'vars': {'addr': '192.0.2.4', 'ansible_group_priority': 1}, 'hosts': {'prio': {}}},
        'high': {'vars': {'addr': '192.0.2.5', 'ansible_group_priority': 10}, 'hosts': {'prio': {}}},
    },
}}


@pytest.fixture
def hostvars(tmp_path):
    inventory_dir = tmp_path / 'inventory'
    (inventory_dir / 'group_vars').mkdir(parents=True)
    (inventory_dir / 'host_vars').mkdir()
    playbook_dir = tmp_path / 'playbooks'
    (playbook_dir / 'group_vars').mkdir(parents=True)
    (playbook_dir / 'host_vars').mkdir()
    inventory = copy.deepcopy(INVENTORY)
    # web is a child of eu too: child_group's own group is deeper than web
    inventory['all']['children']['eu']['children'] = {'web2': {'hosts': {'child_group': {}}, 'vars': {
        'addr': '192.0.2.6'}}}
    (inventory_dir / 'hosts.json').write_text(json.dumps(inventory))
    (inventory_dir / 'group_vars' / 'files.yml').write_text('addr: 203.0.113.20\n')
    (inventory_dir / 'host_vars' / 'host_file.yml').write_text('addr: 203.0.113.21\n')
    (inventory_dir / 'host_vars' / 'play_host_file.yml').write_text('addr: 203.0.113.22\n')
    (playbook_dir / 'host_vars' / 'play_host_file.yml').write_text('addr: 203.0.113.23\n')
    (playbook_dir / 'group_vars' / 'files.yml').write_text('unrelated: 1\n')
    (inventory_dir / 'host_vars' / 'play_group_file.yml').write_text('other: 1\n')
    (playbook_dir / 'host_vars' / 'play_group_file.yml').write_text('addr: 203.0.113.24\n')
    loader = DataLoader()
    loader.set_basedir(str(playbook_dir))
    inventory = InventoryManager(loader=loader, sources=[str(inventory_dir / 'hosts.json')])
    manager = VariableManager(loader=loader, inventory=inventory)
    manager.set_nonpersistent_facts('set_fact', {'addr': '203.0.113.30'})
    manager.set_host_variable('include_vars', 'addr', '203.0.113.31')
    manager.set_host_facts('facts', {'addr': '203.0.113.32'})
    return HostVars(inventory, manager, loader)


class Counting(object):
    """hostvars, counting the hosts resolved through it."""

    def __init__(self, hostvars):
        self._hostvars = hostvars
        self.resolved = []

    def __getattr__(self, name):
        return getattr(self._hostvars, name)

    def __getitem__(self, host):
        self.resolved.append(host)
        return self._hostvars[host]


def group_names(hostvars, host):
    return [g.name for g in hostvars._inventory.get_host(host).get_groups()]


def hosts_of(hostvars):
    return sorted(h.name for h in hostvars._inventory.get_hosts('all'))


def reference(hostvars, hosts):
    return dict((h, dict((n, hostvars[h].get(n)) for n in NAMES)) for h in hosts)


def answers(found, hosts):
    return dict((h, dict((n, found[h].get(n)) for n in NAMES)) for h in hosts)


def test_every_layer_gives_what_hostvars_gives(hostvars):
    hosts = hosts_of(hostvars)
    counting = Counting(hostvars)
    found = host_variables.read(counting, hosts, NAMES)
    assert answers(found, hosts) == reference(hostvars, hosts)
    expected = {'all_only': None, 'group_only': '192.0.2.2', 'host_inv': '203.0.113.1', 'host_file': '203.0.113.21',
                'play_host_file': '203.0.113.23', 'templated': '203.0.113.5', 'set_fact': '203.0.113.30',
                'include_vars': '203.0.113.31', 'facts': '203.0.113.32', 'child_group': '192.0.2.6',
                'group_file': '203.0.113.20', 'play_group_file': '203.0.113.24', 'prio': '192.0.2.5',
                'jinja2_header': '203.0.113.9'}
    assert dict((h, found[h].get('addr')) for h in expected) == expected
    assert found['templated_host'].get('ansible_host') == '198.51.100.44'
    # only what the layers cannot tell went through hostvars, and the first host read of each set of groups
    # (web; eu and web2; files; low and high), once, as the check
    left = ['a_mapping', 'facts', 'jinja2_header', 'not_a_string', 'templated', 'templated_host']  # all_only: read
    group_sets = {}
    for host in hosts:
        if host not in left:
            group_sets.setdefault(frozenset(group_names(hostvars, host)), host)
    assert len(group_sets) == 4
    assert sorted(counting.resolved) == sorted(left + list(group_sets.values()))


def test_the_fleet_from_the_play_is_the_same(hostvars):
    hosts = [h for h in hosts_of(hostvars) if h not in ('not_a_string', 'a_mapping')]
    task_vars = {'hostvars': hostvars}
    fleet = play.fleet_from_hostvars(task_vars, hosts, 'addr')
    for host in hosts:
        values = hostvars[host]
        value = values.get('addr')
        if value in (None, ''):
            candidate = values.get('ansible_host')
            value = candidate if candidate and play.is_ip(candidate) else None
        assert fleet[host] == value, host
    assert fleet['ip_host'] == '192.0.2.2'  # the group's addr is set: ansible_host is only the fallback
    assert fleet['all_only'] is None


def test_extra_vars_win_over_every_layer(hostvars):
    hostvars._variable_manager._extra_vars = {'addr': '198.51.100.200'}
    hosts = hosts_of(hostvars)
    counting = Counting(hostvars)
    found = host_variables.read(counting, hosts, NAMES)
    assert answers(found, hosts) == reference(hostvars, hosts)
    assert set(found[h].get('addr') for h in hosts) == {'198.51.100.200'}
    assert 'host_inv' not in counting.resolved[1:]


def test_another_precedence_order_is_followed(hostvars, monkeypatch):
    order = ['all_plugins_play', 'groups_plugins_play', 'all_inventory', 'groups_inventory', 'all_plugins_inventory',
             'groups_plugins_inventory']
    monkeypatch.setattr(C, 'VARIABLE_PRECEDENCE', order)
    with open(hostvars._loader.get_basedir() + '/group_vars/web.yml', 'w') as f:
        f.write('addr: 192.0.2.77\n')
    hosts = hosts_of(hostvars)
    found = host_variables.read(hostvars, hosts, NAMES)
    assert answers(found, hosts) == reference(hostvars, hosts)
    assert found['group_only'].get('addr') == '192.0.2.2'  # the inventory's groups now come after the files


@pytest.mark.parametrize('order', [['all_inventory', 'groups_inventory'], ['all_inventory', 'plugins_by_groups']])
def test_an_unknown_precedence_leaves_every_host_to_hostvars(hostvars, monkeypatch, order):
    monkeypatch.setattr(C, 'VARIABLE_PRECEDENCE', order)
    counting = Counting(hostvars)
    found = host_variables.read(counting, ['host_inv', 'group_only'], NAMES)
    assert counting.resolved == ['host_inv', 'group_only']
    assert found['host_inv'].get('addr') == hostvars['host_inv'].get('addr')


@pytest.mark.parametrize('name', ['inventory_hostname', 'group_names', 'playbook_dir', 'ansible_check_mode'])
def test_a_magic_variable_is_left_to_hostvars(hostvars, name):
    counting = Counting(hostvars)
    found = host_variables.read(counting, ['host_inv'], (name, 'ansible_host'))
    assert counting.resolved == ['host_inv'] and found['host_inv'].get(name) == hostvars['host_inv'].get(name)


def test_a_host_not_in_the_inventory_is_left_to_hostvars(hostvars):
    counting = Counting(hostvars)
    try:
        host_variables.read(counting, ['host_inv', 'nowhere'], NAMES)
    except ReferenceError:  # hostvars' undefined marker, outside a template (the action has one)
        pass
    assert counting.resolved[-1] == 'nowhere'


def test_when_the_first_host_disagrees_every_host_takes_hostvars(hostvars, monkeypatch):
    monkeypatch.setattr(host_variables._Reader, 'values', lambda self, host_name: {'addr': '198.51.100.1'})
    counting = Counting(hostvars)
    hosts = ['host_inv', 'group_only', 'host_file']
    found = host_variables.read(counting, hosts, NAMES)
    assert answers(found, hosts) == reference(hostvars, hosts)
    assert counting.resolved[-3:] == hosts


def test_plain_mappings_are_read_as_they_are():
    """Not Ansible's hostvars (a test's dict, another caller): each host's mapping as given."""
    plain = {'a': {'addr': '203.0.113.1'}, 'b': {'ansible_host': '203.0.113.2'}}
    assert host_variables.read(plain, ['a', 'b'], NAMES) == plain


def test_a_host_of_another_set_of_groups_that_disagrees_sends_every_host_to_hostvars(hostvars, monkeypatch):
    """A layer the short cut does not know, used only by the groups of a later host (prio: low and high), is
    caught by the check on that set of groups, although the first host (web) agrees."""
    values = host_variables._Reader.values

    def unknown_layer_in_low(self, host_name):
        found = values(self, host_name)
        return dict(found, addr='198.51.100.1') if 'low' in group_names(hostvars, host_name) else found
    monkeypatch.setattr(host_variables._Reader, 'values', unknown_layer_in_low)
    counting = Counting(hostvars)
    hosts = ['host_inv', 'group_only', 'host_file', 'prio']
    found = host_variables.read(counting, hosts, NAMES)
    assert answers(found, hosts) == reference(hostvars, hosts)
    assert found['prio'].get('addr') == '192.0.2.5'
    assert counting.resolved[-4:] == hosts  # the fallback: every host through hostvars


def test_hosts_of_one_set_of_groups_are_checked_once(hostvars):
    counting = Counting(hostvars)
    hosts = ['host_inv', 'group_only', 'host_file', 'set_fact']  # all in web only
    found = host_variables.read(counting, hosts, NAMES)
    assert answers(found, hosts) == reference(hostvars, hosts)
    assert counting.resolved == ['host_inv']


@pytest.mark.parametrize('version', ['2.18.12', '2.22.0', '2.22.0.dev0', '3.0.0', '2.9.27', 'unknown', ''])
def test_an_untested_ansible_core_sends_every_host_to_hostvars(hostvars, monkeypatch, version):
    """The layer order is ansible-core's, copied: only the versions it is tested on take the short cut."""
    monkeypatch.setattr(host_variables, 'ANSIBLE_CORE_VERSION', version)
    counting = Counting(hostvars)
    hosts = ['host_inv', 'group_only', 'host_file']
    found = host_variables.read(counting, hosts, NAMES)
    assert counting.resolved == hosts
    assert answers(found, hosts) == reference(hostvars, hosts)
    assert not host_variables.tested_core()


@pytest.mark.parametrize('version', ['2.19.0', '2.19.14', '2.20.10', '2.21.5', '2.21.0rc1'])
def test_a_tested_ansible_core_takes_the_short_cut(hostvars, monkeypatch, version):
    monkeypatch.setattr(host_variables, 'ANSIBLE_CORE_VERSION', version)
    assert host_variables.tested_core()
    counting = Counting(hostvars)
    hosts = ['host_inv', 'group_only', 'host_file']
    found = host_variables.read(counting, hosts, NAMES)
    assert counting.resolved == ['host_inv']  # the check, on the one set of groups
    assert answers(found, hosts) == reference(hostvars, hosts)


def test_the_running_ansible_core_is_a_tested_one():
    """The CI's versions (2.19 on Python 3.11, 2.21 on 3.12+) are inside TESTED_CORE: the short cut is
    what these tests measure, not the fallback."""
    assert host_variables.tested_core()
