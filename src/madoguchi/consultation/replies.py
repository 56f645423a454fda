"""What the assistant says, independent of the channel that shows it."""

from __future__ import annotations

from dataclasses import dataclass, field

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

    def extras(self) -> dict[str, list[list[str]]]:
        return {
            "actions": [[a.label, a.payload] for a in self.actions],
            "links": [[link.label, link.url] for link in self.links],
        }


def reply_from_message(message: Message) -> Reply:
    """The reply as stored, for showing a conversation again."""
    extras = message.extras or {}
    return Reply(
        text=message.text,
        outcome=Outcome(message.outcome) if message.outcome else Outcome.ANSWERED,
        actions=tuple(Action(label, payload) for label, payload in extras.get("actions", [])),
        links=tuple(Link(label, url) for label, url in extras.get("links", [])),
        message_id=message.pk,
    )
