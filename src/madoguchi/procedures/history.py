"""An application's history and queue rows as staff read them: who acted, whose application."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.translation import gettext as _

from madoguchi.accounts.models import User
from madoguchi.procedures.models import Application, StateChange
from madoguchi.procedures.selectors import definition_of

__all__ = ["applicant_name", "state_change_actors"]

# Labels recorded for actors without a staff account (see AuditActor.label).
_RESIDENT_LABELS = frozenset({"resident"})
_API_LABELS = frozenset({"api"})


def state_change_actors(changes: Sequence[StateChange]) -> list[str]:
    """Who made each change, as a person would say it: 住民, a staff member's name, システム.

    Staff are named by their display name (their user name when they have none), looked up
    in one query; an actor whose account is gone keeps the name recorded at the time.
    """
    ids = {c.actor_id for c in changes if c.actor_id is not None}
    usernames = {c.actor_label for c in changes if c.actor_id is None and c.actor_label}
    users = list(User.objects.filter(pk__in=ids)) if ids else []
    if usernames - _RESIDENT_LABELS - _API_LABELS:
        users += list(User.objects.filter(username__in=usernames))
    by_id = {u.pk: str(u) for u in users}
    by_username = {u.username: str(u) for u in users}
    labels = []
    for change in changes:
        label = change.actor_label
        if change.actor_id is not None and change.actor_id in by_id:
            labels.append(by_id[change.actor_id])
        elif label in _RESIDENT_LABELS:
            labels.append(_("住民"))
        elif label in _API_LABELS:
            labels.append(_("外部システム（API）"))
        elif label in by_username:
            labels.append(by_username[label])
        elif not label or label == "demo" or label.startswith("cli"):
            labels.append(_("システム"))
        else:
            labels.append(label)
    return labels


def applicant_name(application: Application) -> str:
    """The applicant's name from the answers (decrypted), or "" when the procedure has none.

    Reading it is a look at personal data: the caller records the access.
    """
    key = definition_of(application.version).identity.name
    name = (application.answers or {}).get(key) if key else None
    return name.strip() if isinstance(name, str) else ""
