# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Hypothesis profiles of the invariant tests (docs/invariants.md).

``ci`` (the default): bounded examples, derandomized (CI sees the same examples every run), no example
database, no deadline (a module run's time depends on the machine, never on what is tested).
``long`` (``HYPOTHESIS_PROFILE=long``): many more and random examples, with a database under .cache/ that
replays a failure first on the next run. Every test here draws without the constants hypothesis would mix in
from the modules loaded before it (``tests/hypothesis_support.py``), so which tests ran first in a process (or
in which pytest-xdist worker) changes nothing. Each has a ``-playbooks`` twin for the ansible-playbook tests, whose
examples cost seconds each. The profiles are only read by these tests: nothing is loaded globally, so other
suites' hypothesis settings are untouched.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

from ansible_collections.apiaccess.ipwhitelist.tests import hypothesis_support
# the real ansible-playbook CLI, for the playbook tests
from ansible_collections.apiaccess.ipwhitelist.tests.e2e.conftest import (  # noqa: F401 pylint: disable=unused-import
    ansible_playbook,
)

ROOT = Path(__file__).resolve().parents[2]
PROFILE = os.environ.get('HYPOTHESIS_PROFILE', 'ci')
QUIET = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                   HealthCheck.function_scoped_fixture])
CI = dict(QUIET, derandomize=True, database=None, print_blob=False)
LONG = dict(QUIET, derandomize=False, print_blob=True,
            database=DirectoryBasedExampleDatabase(str(ROOT / '.cache' / 'hypothesis-invariants')))

settings.register_profile('ci', max_examples=50, stateful_step_count=15, **CI)
settings.register_profile('ci-playbooks', max_examples=6, **CI)
settings.register_profile('long', max_examples=300, stateful_step_count=25, **LONG)
settings.register_profile('long-playbooks', max_examples=40, **LONG)


@pytest.fixture(autouse=True)
def reproducible_generation(monkeypatch):
    with hypothesis_support.reproducible_generation(monkeypatch):
        yield


@pytest.fixture
def machine_settings():
    """The settings of the in-process state machines under the selected profile."""
    return _profile('')


@pytest.fixture
def playbook_settings():
    """The settings of the ansible-playbook tests under the selected profile."""
    return _profile('-playbooks')


def _profile(suffix):
    try:
        return settings.get_profile(PROFILE + suffix)
    except Exception:  # hypothesis raises InvalidArgument; say which profiles there are
        pytest.fail('HYPOTHESIS_PROFILE=%s: the invariant tests know the profiles ci and long' % PROFILE)
