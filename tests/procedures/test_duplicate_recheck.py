"""The duplicate check run after a submission commits survives the database going away."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.db import OperationalError, connection

from madoguchi.procedures.services import _duplicates_recheck


def _database_gone(*_args: Any) -> None:
    raise OperationalError("server closed the connection unexpectedly")


@pytest.mark.django_db
def test_a_recheck_during_an_outage_logs_a_warning_without_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The submission is already stored: the request must not fail, and an expected outage
    must not fill the log with tracebacks (the PostgreSQL outage test reads the log)."""
    with (
        caplog.at_level(logging.WARNING, logger="madoguchi.procedures.services"),
        connection.execute_wrapper(_database_gone),
    ):
        _duplicates_recheck(1)
    [record] = [r for r in caplog.records if "re-check failed" in r.getMessage()]
    assert record.levelno == logging.WARNING
    assert record.exc_info is None
    assert "server closed the connection unexpectedly" in record.getMessage()
