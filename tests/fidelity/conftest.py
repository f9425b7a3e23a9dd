# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures for the fidelity tests: the simulators, and a recorder of every HTTP exchange."""

from __future__ import annotations

import pytest
import requests

# the simulator fixtures are defined once, in the unit tests' conftest
from ansible_collections.apiaccess.ipwhitelist.tests.unit.conftest import (  # noqa: F401 pylint: disable=unused-import
    atlas, woodcore,
)


@pytest.fixture
def exchanges(monkeypatch):
    """Every (PreparedRequest, Response) that requests sends in this test, in order."""
    seen = []
    original = requests.Session.send

    def send(self, request, **kwargs):
        response = original(self, request, **kwargs)
        seen.append((request, response))
        return response

    monkeypatch.setattr(requests.Session, 'send', send)
    return seen
