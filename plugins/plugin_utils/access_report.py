# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""access-report.html: the audit's report as one self-contained page, rendered on the controller from the
Jinja2 template beside this file (templates/access-report.html.j2). Everything the page shows is in the
report dict (module_utils.audit.build_report); the page loads nothing (its Content-Security-Policy says so)."""

from __future__ import annotations

import os
import re

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils.audit import KIND_LABELS, SEVERITIES

TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'templates')


def anchor(target):
    """The id of a target's section, from its kind and ID (or name)."""
    return 'target-' + re.sub(r'[^a-z0-9]+', '-', ('%s-%s' % (target['kind'], target.get('id') or target['name']))
                              .lower()).strip('-')


def render_html(report):
    environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                              trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    template = environment.get_template('access-report.html.j2')
    return template.render(report=report, severities=SEVERITIES, kind_labels=KIND_LABELS, anchor=anchor)
