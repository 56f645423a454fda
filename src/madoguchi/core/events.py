"""Domain events for integrations: a domain app announces, registered listeners act.

A domain app calls :func:`event_publish` explicitly (after its change commits); listeners are
registered once at start-up (the API app registers the webhooks). Payloads carry ids only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import transaction

__all__ = ["DomainEvent", "event_listen", "event_publish", "event_publish_many"]


@dataclass(frozen=True, slots=True)
class DomainEvent:
    municipality_id: int
    type: str  # e.g. "application.state_changed"
    subject: str  # e.g. "applications/1234567890"
    data: dict[str, str | int] = field(default_factory=dict)  # ids and codes, no personal data


Listener = Callable[[DomainEvent], object]
Interest = Callable[[DomainEvent], bool]
_listeners: list[tuple[Listener, Interest]] = []


def event_listen(listener: Listener, *, interested: Interest) -> None:
    """Call ``listener`` after commit for each event ``interested`` says it wants.

    ``interested`` may look at the event's municipality and type only (event_publish_many asks
    it once for all events of one municipality and type).
    """
    if all(known is not listener for known, _interest in _listeners):
        _listeners.append((listener, interested))


def event_publish(event: DomainEvent) -> None:
    """Hand the event to the interested listeners once the current transaction commits.

    Nothing is scheduled when no listener wants the event (no subscription, say).
    """
    wanted = [listener for listener, interested in _listeners if interested(event)]
    if not wanted:
        return

    def deliver() -> None:
        for listener in wanted:
            listener(event)

    transaction.on_commit(deliver)


def event_publish_many(events: Iterable[DomainEvent]) -> None:
    """:func:`event_publish` for many events, asking each listener once per municipality and
    event type (its interest depends on nothing else) rather than once per event."""
    wanted: dict[tuple[int, str], list[Listener]] = {}
    queued: list[tuple[DomainEvent, list[Listener]]] = []
    for event in events:
        key = (event.municipality_id, event.type)
        if key not in wanted:
            wanted[key] = [listener for listener, interested in _listeners if interested(event)]
        if wanted[key]:
            queued.append((event, wanted[key]))
    if not queued:
        return

    def deliver() -> None:
        for event, listeners in queued:
            for listener in listeners:
                listener(event)

    transaction.on_commit(deliver)
