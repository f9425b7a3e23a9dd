# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Hypothesis made reproducible for the suites that use it (tests/fidelity's schemathesis run, tests/invariants).

``derandomize`` fixes hypothesis' seed, but hypothesis (6.1xx) also mixes into its draws constants it finds in
every local module loaded so far, so the examples would change with the tests that ran before in the same
process (seen: a security-group body only after the rest of tests/fidelity), and under pytest-xdist with
which worker ran what. These suites use none of them. Hypothesis' files go to the git- and build-ignored .cache,
not to ./.hypothesis.

This patches hypothesis' private internals (``hypothesis.internal.conjecture.providers``: ``_get_local_constants``,
``CONSTANTS_CACHE``, ``Constants``, ``SortedSet``); it will break on a hypothesis upgrade that changes them. The
version is pinned in requirements-dev.txt: check this when changing the pin."""

from __future__ import annotations

import contextlib
from pathlib import Path

HYPOTHESIS_HOME = Path(__file__).resolve().parents[1] / '.cache' / 'hypothesis'


@contextlib.contextmanager
def reproducible_generation(monkeypatch):
    from hypothesis import configuration
    from hypothesis.internal.conjecture import providers
    configuration.set_hypothesis_home_dir(HYPOTHESIS_HOME)
    empty = providers.Constants(integers=providers.SortedSet(), floats=providers.SortedSet(key=providers.float_to_int),
                                bytes=providers.SortedSet(), strings=providers.SortedSet())
    monkeypatch.setattr(providers, '_get_local_constants', lambda: empty)
    monkeypatch.setattr(providers, 'CONSTANTS_CACHE', providers.LRUCache(1024))
    try:
        yield
    finally:
        configuration.set_hypothesis_home_dir(None)
