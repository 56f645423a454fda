"""What the assistant says, independent of the channel that shows it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from madoguchi.consultation.models import Message, Outcome

__all__ = ["Action", "Link", "Reply", "reply_from_message"]


@dataclass(frozen=True, slots=True)
class Action:
    """A button: ``payload`` is what the channel sends back when it is pressed.

    Payloads: ``faq:<id>``, ``scenario:<code>``, ``step:<code>:<key>``, ``handover``, ``menu``,
    ``feedback:<message id>:<1|0>``.
    """

    label: str
    payload: str


@dataclass(frozen=True, slots=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    outcome: Outcome
    actions: tuple[Action, ...] = ()
    links: tuple[Link, ...] = ()
    message_id: int | None = None
    stored: bool = field(default=True)
    # The entry's one-line direct answer when it has one; ``text`` holds it too, before the
    # detail, so that channels showing plain text (LINE) give it first.
    lead: str = ""

    def extras(self) -> dict[str, Any]:
        extras: dict[str, Any] = {
            "actions": [[a.label, a.payload] for a in self.actions],
            "links": [[link.label, link.url] for link in self.links],
        }
        if self.lead:
            extras["lead"] = self.lead
        return extras

    @property
    def lead_parts(self) -> tuple[str, str]:
        """(what comes before the direct answer, the detail after it), for showing it apart."""
        if not self.lead:
            return "", self.text
        before, found, after = self.text.partition(self.lead)
        if not found:
            return "", self.text
        return before.strip(), after.strip()


def reply_from_message(message: Message) -> Reply:
    """The reply as stored, for showing a conversation again."""
    extras = message.extras or {}
    return Reply(
        text=message.text,
        outcome=Outcome(message.outcome) if message.outcome else Outcome.ANSWERED,
        actions=tuple(Action(label, payload) for label, payload in extras.get("actions", [])),
        links=tuple(Link(label, url) for label, url in extras.get("links", [])),
        message_id=message.pk,
        lead=str(extras.get("lead", "") or ""),
    )
