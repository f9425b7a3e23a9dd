"""Write a Sphinx inventory (objects.inv, version 2) for the ansible-core doc labels that
antsibull-docs' generated pages reference, so the docs site builds offline with -W.

Each label points at its real page on docs.ansible.com. Usage: python ansible_core_inventory.py OUT
"""
import sys
import zlib

# label -> (page, title), as published in docs.ansible.com/projects/ansible/devel/objects.inv
LABELS = {
    'common_return_values': ('reference_appendices/common_return_values.html#common-return-values',
                             'Return Values'),
    'action_plugins': ('plugins/action.html#action-plugins', 'Action plugins'),
    'ansible_configuration_settings': ('reference_appendices/config.html#ansible-configuration-settings',
                                       'Ansible Configuration Settings'),
}


def main(out):
    header = (b'# Sphinx inventory version 2\n# Project: Ansible\n# Version: devel\n'
              b'# The remainder of this file is compressed using zlib.\n')
    body = ''.join('%s std:label -1 %s %s\n' % (name, page, title) for name, (page, title) in sorted(LABELS.items()))
    with open(out, 'wb') as handle:
        handle.write(header + zlib.compress(body.encode('utf-8')))


if __name__ == '__main__':
    main(sys.argv[1])
