"""What the assistant says, independent of the channel that shows it.

A reply's ``text`` is what a channel sends as it is (LINE) and what is stored as the message's
text, in the language of the request. Replies that repeat a municipality's data (its name, a
department's name, an FAQ answer) also carry ``parts``: our own wording by its msgid, and the
typed data apart. The web chat shows the parts: the wording translated into the reader's
language when shown, the data as typed and marked ``lang="ja"`` on a page in another language.
Messages stored before parts existed (or without any) are shown by their text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from madoguchi.consultation.models import Message, Outcome

__all__ = [
    "Action",
    "Fixed",
    "Link",
    "Part",
    "Reply",
    "Typed",
    "parts_from_extras",
    "parts_text",
    "reply_from_message",
]


@dataclass(frozen=True, slots=True)
class Typed:
    """Text a municipality typed (an FAQ answer, a name): shown as it is, never translated."""

    text: str


@dataclass(frozen=True, slots=True)
class Fixed:
    """Our own wording: ``msgid`` (the Japanese catalogue key, from ``gettext_noop``) is
    translated when shown; ``values`` fill its ``%(name)s`` placeholders, each either typed
    data or wording of our own (a msgid without placeholders)."""

    msgid: str
    values: tuple[tuple[str, Typed | Fixed], ...] = ()


Part = Typed | Fixed


def _fixed_text(part: Fixed) -> str:
    values = {
        name: value.text if isinstance(value, Typed) else _(value.msgid)
        for name, value in part.values
    }
    return _(part.msgid) % values if values else _(part.msgid)


def parts_text(parts: tuple[Part, ...]) -> str:
    """The parts as plain text in the active language (sentences of English need a space
    between them; Japanese ones none)."""
    separator = "" if (get_language() or "ja").startswith("ja") else " "
    return separator.join(p.text if isinstance(p, Typed) else _fixed_text(p) for p in parts)


def _part_extras(part: Part) -> list[str]:
    if isinstance(part, Typed):
        return ["typed", part.text]
    row = ["fixed", part.msgid]
    for name, value in part.values:
        if isinstance(value, Typed):
            row += [name, "typed", value.text]
        else:
            row += [name, "fixed", value.msgid]
    return row


def _part_of_extras(row: list[str]) -> Part | None:
    if len(row) == 2 and row[0] == "typed":
        return Typed(str(row[1]))
    if len(row) < 2 or row[0] != "fixed" or (len(row) - 2) % 3:
        return None
    values: list[tuple[str, Typed | Fixed]] = []
    for index in range(2, len(row), 3):
        name, kind, value = (str(v) for v in row[index : index + 3])
        if kind not in {"typed", "fixed"}:
            return None
        values.append((name, Typed(value) if kind == "typed" else Fixed(value)))
    return Fixed(str(row[1]), tuple(values))


def parts_from_extras(extras: Mapping[str, Any] | None) -> tuple[Part, ...]:
    """The parts stored with a message (empty when it has none or they cannot be read)."""
    rows = (extras or {}).get("parts", [])
    parts = tuple(_part_of_extras(row) for row in rows if isinstance(row, list))
    if not parts or any(p is None for p in parts):
        return ()
    return tuple(p for p in parts if p is not None)


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
    parts: tuple[Part, ...] = ()
    # The entry's one-line direct answer when it has one; ``text`` holds it too, before the
    # detail, so that channels showing plain text (LINE) give it first.
    lead: str = ""
    # Set when the question's language chose the reply's (see assistant._in_language_of): the
    # web chat then shows our wording in it rather than in the page's language.
    language: str = ""

    @classmethod
    def of_parts(
        cls,
        parts: tuple[Part, ...],
        outcome: Outcome,
        actions: tuple[Action, ...] = (),
        *,
        stored: bool = True,
    ) -> Reply:
        """A reply whose text is ``parts`` in the active language."""
        return cls(parts_text(parts), outcome, actions, stored=stored, parts=parts)

    def extras(self) -> dict[str, Any]:
        extras: dict[str, Any] = {
            "actions": [[a.label, a.payload] for a in self.actions],
            "links": [[link.label, link.url] for link in self.links],
        }
        if self.parts:
            extras["parts"] = [_part_extras(p) for p in self.parts]
        if self.lead:
            extras["lead"] = self.lead
        if self.language:
            extras["language"] = self.language
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
        parts=parts_from_extras(extras),
        lead=str(extras.get("lead", "") or ""),
        language=str(extras.get("language", "") or ""),
    )
