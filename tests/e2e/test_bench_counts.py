# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The request-count benchmark's figures are exact: every Atlas state at the (safe) floor, and the
Woodcore flow at its known counts. Counts, never times."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent / 'bench'))

import request_counts  # noqa: E402  pylint: disable=wrong-import-position


def test_atlas_converges_at_the_floor_for_every_state():
    rows = request_counts.atlas_rows([1, 100, 1000, 1234])
    assert len(rows) == 16
    assert [r for r in rows if r['total'] != r['safe_floor']] == []
    assert [r['posts'] for r in rows if r['state'] == 'from empty'] == [1, 1, 1, 1]
    assert [r['deletes'] for r in rows if r['state'] == 'purge of half'] == [0, 50, 500, 617]


def test_woodcore_requests_and_emails_per_state():
    rows = request_counts.woodcore_rows()
    assert [(r['requests'], r['emails']) for r in rows] == [(1, 0), (2, 1), (1, 0), (3, 0), (1, 0)]
