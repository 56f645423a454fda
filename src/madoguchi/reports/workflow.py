"""The report workflow as one transition table (a transition locks its row, see services)."""

from __future__ import annotations

from madoguchi.reports.models import ReportStatus

TRANSITIONS: dict[str, frozenset[str]] = {
    ReportStatus.RECEIVED: frozenset(
        {ReportStatus.IN_PROGRESS, ReportStatus.RESOLVED, ReportStatus.REJECTED}
    ),
    ReportStatus.IN_PROGRESS: frozenset({ReportStatus.RESOLVED, ReportStatus.REJECTED}),
    ReportStatus.RESOLVED: frozenset({ReportStatus.IN_PROGRESS}),  # reopened
    ReportStatus.REJECTED: frozenset({ReportStatus.IN_PROGRESS}),
    ReportStatus.DUPLICATE: frozenset(),  # only through a merge
}


def transition_allowed(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())
