# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fleet's addresses as a real ansible-playbook run resolves them, from every place a host's variable can
come from: inventory vars (host, group, all), group_vars/ and host_vars/ files beside the inventory and beside the
playbook, a vars plugin, set_fact, extra vars and templated values. The action reads them without hostvars'
full resolution (plugin_utils/host_variables.py); each address must be what hostvars says."""

from __future__ import annotations

import json
import subprocess

from ansible_collections.apiaccess.ipwhitelist.tests.e2e.conftest import BIN, ROOT, _env

INVENTORY = '''\
all:
  vars:
    ansible_connection: local
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  children:
    fleet:
      vars:
        addr: 192.0.2.1
      hosts:
        by_group: {}
        by_host: {addr: 203.0.113.1}
        by_group_file: {}
        by_host_file: {addr: 192.0.2.99}
        by_play_host_file: {addr: 192.0.2.98}
        by_plugin: {}
        by_set_fact: {}
        by_template: {addr: "{{ prefix }}.6"}
        by_ansible_host: {addr: "", ansible_host: 203.0.113.7}
        by_name_only: {addr: "", ansible_host: db.example.com}
      children:
        files: {hosts: {by_group_file: {}}}
'''

PLAY = '''\
- name: A runtime layer first
  hosts: fleet
  gather_facts: false
  tasks:
    - name: set_fact on one host
      ansible.builtin.set_fact:
        addr: 203.0.113.8
      when: inventory_hostname == 'by_set_fact'

- name: The fleet as the action reads it, beside what hostvars says
  hosts: fleet
  gather_facts: false
  tasks:
    - name: No keys, only the fleet
      apiaccess.ipwhitelist.fleet_converge:
        address_var: addr
        hosts: "{{ ansible_play_hosts_all | difference(['by_name_only']) }}"
      run_once: true
      delegate_to: localhost
      register: converged

    - name: Both, as JSON
      ansible.builtin.copy:
        content: "{{ {'entries': converged.entries, 'msg': converged.msg,
                      'hostvars': dict(ansible_play_hosts_all | zip(ansible_play_hosts_all | map('extract', hostvars)
                                       | map(attribute='addr'))),
                      'ansible_host': hostvars['by_ansible_host'].ansible_host} | to_json }}"
        dest: "{{ result_file }}"
        mode: '0600'
      run_once: true
      delegate_to: localhost
'''

VARS_PLUGIN = '''\
from ansible.plugins.vars import BaseVarsPlugin


class VarsModule(BaseVarsPlugin):
    REQUIRES_ENABLED = True

    def get_vars(self, loader, path, entities, cache=True):
        super(VarsModule, self).get_vars(loader, path, entities)
        return {'addr': '203.0.113.5'} if any(getattr(e, 'name', None) == 'by_plugin' for e in entities) else {}
'''


def run(tmp_path, *extra):
    inventory = tmp_path / 'inventory'
    (inventory / 'group_vars').mkdir(parents=True, exist_ok=True)
    (inventory / 'host_vars').mkdir(exist_ok=True)
    (inventory / 'hosts.yml').write_text(INVENTORY)
    (inventory / 'group_vars' / 'files.yml').write_text('addr: 203.0.113.2\n')
    (inventory / 'host_vars' / 'by_host_file.yml').write_text('addr: 203.0.113.3\n')
    (inventory / 'host_vars' / 'by_play_host_file.yml').write_text('addr: 192.0.2.97\n')
    play = tmp_path / 'play'
    (play / 'host_vars').mkdir(parents=True, exist_ok=True)
    (play / 'host_vars' / 'by_play_host_file.yml').write_text('addr: 203.0.113.4\n')
    (play / 'fleet.yml').write_text(PLAY)
    plugins = tmp_path / 'vars_plugins'
    plugins.mkdir(exist_ok=True)
    (plugins / 'fleet_test_vars.py').write_text(VARS_PLUGIN)
    env = _env(tmp_path, {'ANSIBLE_VARS_PLUGINS': str(plugins),
                          'ANSIBLE_VARS_ENABLED': 'ansible.builtin.host_group_vars,fleet_test_vars'})
    proc = subprocess.run([str(BIN / 'ansible-playbook'), '-i', str(inventory / 'hosts.yml'), str(play / 'fleet.yml'),
                           '-e', 'prefix=203.0.113', '-e', 'result_file=%s' % (tmp_path / 'result.json')] + list(extra),
                          env=env, capture_output=True, text=True, cwd=str(ROOT), timeout=300, check=False)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    return json.loads((tmp_path / 'result.json').read_text())


def test_every_source_of_a_host_variable_gives_the_address_hostvars_gives(tmp_path):
    result = run(tmp_path)
    expected = {'by_group': '192.0.2.1', 'by_host': '203.0.113.1', 'by_group_file': '203.0.113.2',
                'by_host_file': '203.0.113.3', 'by_play_host_file': '203.0.113.4', 'by_plugin': '203.0.113.5',
                'by_template': '203.0.113.6', 'by_set_fact': '203.0.113.8', 'by_ansible_host': '',
                'by_name_only': ''}
    assert result['hostvars'] == expected  # Ansible's own resolution, as designed here
    assert result['ansible_host'] == '203.0.113.7'
    fleet = set(a for a in expected.values() if a) - {'192.0.2.1'} | {'192.0.2.1', '203.0.113.7'}
    assert sorted(result['entries']) == sorted('%s/32' % a for a in fleet), result


def test_extra_vars_win_for_every_host(tmp_path):
    result = run(tmp_path, '-e', 'addr=198.51.100.77')
    assert set(result['hostvars'].values()) == {'198.51.100.77'}
    assert result['entries'] == ['198.51.100.77/32']
