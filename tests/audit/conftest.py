"""The audit tests check chains, hashes, checkpoints and pages on sealed entries.

A test that runs inside one transaction (the default) never commits, so on PostgreSQL, where
entries are sealed after commit, its entries would never be sealed. These tests therefore seal
inside the writer's transaction (SQLite's default anyway); the sealing code is the same, only
its moment differs. ``test_sealing.py`` covers the after-commit path on both engines, with
real commits.
"""

from __future__ import annotations

import pytest
from pytest_django import Settings


@pytest.fixture(autouse=True)
def _seal_in_the_writers_transaction(settings: Settings) -> None:
    settings.AUDIT_SEAL = "in-transaction"
