"""The application workflow: transitions from the procedure's definition, under a row lock.

Each transition names the roles that may take it and what it requires (a reason, or the list
of missing items for 追加書類のお願い). Roles count for the application's department; a
municipality-wide membership counts everywhere. A refused transition changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from madoguchi.accounts.models import User
from madoguchi.accounts.permissions import StaffContext
from madoguchi.audit.services import audit_event
from madoguchi.core.events import DomainEvent, event_publish
from madoguchi.procedures import tasks
from madoguchi.procedures.definitions import TransitionSpec
from madoguchi.procedures.models import Application, InfoRequest, Note, StateChange
from madoguchi.procedures.selectors import definition_of
from madoguchi.tenants.models import Membership, Role

__all__ = [
    "TransitionErrorCode",
    "TransitionRefused",
    "application_assign",
    "application_note_add",
    "application_transition",
    "applications_bulk_transition",
    "transition_allowed",
    "transitions_for",
]

_ASSIGNABLE_ROLES = {Role.ADMIN, Role.SUPERVISOR, Role.CLERK}
_BULK_ROLES = {Role.ADMIN, Role.SUPERVISOR}


class TransitionErrorCode(StrEnum):
    NOT_FOUND = "not_found"
    UNKNOWN_STATE = "unknown_state"
    NOT_ALLOWED = "transition_not_allowed"
    ROLE = "role_not_allowed"
    STALE = "stale"
    REASON_REQUIRED = "reason_required"
    ITEMS_REQUIRED = "missing_items_required"
    ASSIGNEE = "assignee_not_allowed"
    NOTE_EMPTY = "note_empty"


class TransitionRefused(Exception):  # noqa: N818 - an outcome the caller shows, not a bug
    def __init__(self, code: TransitionErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _state_label(application: Application, state: str) -> str:
    spec = definition_of(application.version).states.get(state)
    return spec.label_ja if spec else state


def transitions_for(*, application: Application, staff: StaffContext) -> list[TransitionSpec]:
    """The transitions this staff member may take from the application's current state."""
    roles = staff.roles(application.department)
    return [
        t
        for t in definition_of(application.version).allowed_targets(application.state)
        if roles & set(t.roles)
    ]


def transition_allowed(
    *, application: Application, target: str, staff: StaffContext
) -> TransitionRefused | None:
    """Why ``staff`` may not move the application to ``target`` now, or None if they may."""
    if application.municipality_id != staff.municipality.pk:
        return TransitionRefused(TransitionErrorCode.NOT_FOUND, _("申請が見つかりません。"))
    definition = definition_of(application.version)
    if target not in definition.states:
        return TransitionRefused(
            TransitionErrorCode.UNKNOWN_STATE,
            _("「%(state)s」という状態はこの手続きにありません。") % {"state": target},
        )
    candidates = [t for t in definition.allowed_targets(application.state) if t.target == target]
    if not candidates:
        return TransitionRefused(
            TransitionErrorCode.NOT_ALLOWED,
            _("「%(from)s」から「%(to)s」には変更できません。")
            % {
                "from": _state_label(application, application.state),
                "to": _state_label(application, target),
            },
        )
    roles = staff.roles(application.department)
    if not any(roles & set(t.roles) for t in candidates):
        return TransitionRefused(
            TransitionErrorCode.ROLE,
            _("あなたの役割（%(department)s）では「%(to)s」に変更できません。")
            % {"department": application.department.name, "to": _state_label(application, target)},
        )
    return None


def _requirement(application: Application, target: str) -> str:
    definition = definition_of(application.version)
    for spec in definition.allowed_targets(application.state):
        if spec.target == target and spec.requires:
            return spec.requires
    return ""


def _apply(
    *,
    application: Application,
    target: str,
    staff: StaffContext,
    reason: str,
    missing_items: str,
    public_message: str,
) -> StateChange:
    requirement = _requirement(application, target)
    if requirement == "reason" and not reason.strip():
        raise TransitionRefused(
            TransitionErrorCode.REASON_REQUIRED,
            _("「%(to)s」にするには理由を入力してください。")
            % {"to": _state_label(application, target)},
        )
    if requirement == "missing_items" and not missing_items.strip():
        raise TransitionRefused(
            TransitionErrorCode.ITEMS_REQUIRED,
            _("住民の方にお願いする書類や内容を入力してください。"),
        )
    now = timezone.now()
    previous = application.state
    message = missing_items.strip() if requirement == "missing_items" else public_message.strip()
    application.state = target
    application.state_changed_at = now
    application.public_message = message
    application.answered_at = None
    state_spec = definition_of(application.version).states.get(target)
    application.closed_at = now if state_spec is not None and state_spec.final else None
    application.save(
        update_fields=["state", "state_changed_at", "public_message", "answered_at", "closed_at"]
    )
    change = StateChange.objects.create(
        municipality=application.municipality,
        application=application,
        from_state=previous,
        to_state=target,
        changed_at=now,
        actor_id=staff.user.pk,
        actor_label=staff.user.get_username(),
        public_message=message,
        reason=reason.strip(),
    )
    # Whatever happens next, an unanswered request no longer applies once the state changes.
    InfoRequest.objects.filter(
        application=application, answered_at__isnull=True, closed_at__isnull=True
    ).update(closed_at=now)
    if requirement == "missing_items":
        InfoRequest.objects.create(
            municipality=application.municipality, application=application, items=message
        )
    event_publish(
        DomainEvent(
            municipality_id=application.municipality_id,
            type="application.state_changed",
            subject=f"applications/{application.receipt_number}",
            data={"receipt_number": application.receipt_number, "from": previous, "to": target},
        )
    )
    audit_event(
        municipality=application.municipality,
        action="application.transition",
        actor=staff.actor(application.department),
        obj=application,
        data={"from": previous, "to": target},
    )
    if application.email:
        change_id, application_id = change.pk, application.pk
        transaction.on_commit(
            lambda: tasks.notify_state_change.enqueue(
                application_id=application_id, state_change_id=change_id
            )
        )
    return change


def _locked(application_id: int, staff: StaffContext) -> Application:
    found = (
        Application.objects.select_for_update(of=("self",))
        .select_related("department", "version", "municipality")
        .filter(pk=application_id, municipality=staff.municipality)
        .first()
    )
    if found is None:
        raise TransitionRefused(TransitionErrorCode.NOT_FOUND, _("申請が見つかりません。"))
    return found


@transaction.atomic
def application_transition(
    *,
    application: Application,
    target: str,
    staff: StaffContext,
    reason: str = "",
    missing_items: str = "",
    public_message: str = "",
    expected_state: str | None = None,
) -> Application:
    """Move one application to ``target``, or raise TransitionRefused and change nothing.

    ``expected_state`` is the state the staff member saw: if someone else moved the
    application since, the page was stale and nothing happens.
    """
    locked = _locked(application.pk, staff)
    if expected_state is not None and locked.state != expected_state:
        raise TransitionRefused(
            TransitionErrorCode.STALE,
            _(
                "この申請は、画面を開いた後に「%(state)s」に変わりました。"
                "画面を更新して、内容を確かめてから操作してください。"
            )
            % {"state": _state_label(locked, locked.state)},
        )
    refused = transition_allowed(application=locked, target=target, staff=staff)
    if refused is not None:
        raise refused
    _apply(
        application=locked,
        target=target,
        staff=staff,
        reason=reason,
        missing_items=missing_items,
        public_message=public_message,
    )
    return locked


@transaction.atomic
def applications_bulk_transition(
    *,
    application_ids: Sequence[int],
    target: str,
    staff: StaffContext,
    reason: str = "",
    public_message: str = "",
) -> list[Application]:
    """Move many applications at once (supervisors): all of them, or none.

    Raises TransitionRefused naming the first receipt number that cannot move.
    """
    if not staff.has_role(_BULK_ROLES) and not any(
        staff.roles(d) & _BULK_ROLES for d in staff.departments
    ):
        raise TransitionRefused(
            TransitionErrorCode.ROLE, _("一括変更は監督者または管理者だけが行えます。")
        )
    locked = [_locked(pk, staff) for pk in sorted(set(application_ids))]
    for application in locked:
        if not staff.roles(application.department) & _BULK_ROLES:
            raise TransitionRefused(
                TransitionErrorCode.ROLE,
                _("受付番号 %(receipt)s：一括変更は監督者または管理者だけが行えます。")
                % {"receipt": application.receipt_number},
            )
        refused = transition_allowed(application=application, target=target, staff=staff)
        if refused is None and _requirement(application, target) == "missing_items":
            refused = TransitionRefused(
                TransitionErrorCode.ITEMS_REQUIRED,
                _("追加書類のお願いは、一件ずつ内容を書いて送ってください。"),
            )
        if refused is not None:
            raise TransitionRefused(
                refused.code,
                _("受付番号 %(receipt)s：%(message)s")
                % {"receipt": application.receipt_number, "message": refused.message},
            )
    for application in locked:
        _apply(
            application=application,
            target=target,
            staff=staff,
            reason=reason,
            missing_items="",
            public_message=public_message,
        )
    return locked


@transaction.atomic
def application_assign(
    *, application: Application, assignee: User | None, staff: StaffContext
) -> Application:
    """Assign the application to a member of its department (or to nobody).

    Supervisors and admins assign anyone; a clerk may take an unassigned application, or
    give back their own.
    """
    locked = _locked(application.pk, staff)
    roles = staff.roles(locked.department)
    is_lead = bool(roles & {Role.ADMIN, Role.SUPERVISOR})
    taking = assignee is not None and assignee.pk == staff.user.pk and locked.assigned_to_id is None
    giving_back = assignee is None and locked.assigned_to_id == staff.user.pk
    if not (is_lead or (Role.CLERK in roles and (taking or giving_back))):
        raise TransitionRefused(
            TransitionErrorCode.ROLE, _("この申請の担当者を変更する権限がありません。")
        )
    if assignee is not None:
        member = Membership.objects.filter(
            user=assignee,
            municipality=staff.municipality,
            role__in=[str(r) for r in _ASSIGNABLE_ROLES],
        ).filter(Q(department=locked.department_id) | Q(department__isnull=True))
        if not member.exists():
            raise TransitionRefused(
                TransitionErrorCode.ASSIGNEE,
                _("この部署で申請を担当できる職員を選んでください。"),
            )
    previous = locked.assigned_to.get_username() if locked.assigned_to else None
    locked.assigned_to = assignee
    locked.save(update_fields=["assigned_to"])
    audit_event(
        municipality=locked.municipality,
        action="application.assign",
        actor=staff.actor(locked.department),
        obj=locked,
        data={"from": previous, "to": assignee.get_username() if assignee else None},
    )
    return locked


_WRITING_ROLES = {Role.ADMIN, Role.SUPERVISOR, Role.CLERK}


@transaction.atomic
def application_note_add(*, application: Application, staff: StaffContext, text: str) -> Note:
    """An internal note on the application (never shown to the resident); viewers may not."""
    if not text.strip():
        raise TransitionRefused(TransitionErrorCode.NOTE_EMPTY, _("メモの内容を入力してください。"))
    if not staff.roles(application.department) & _WRITING_ROLES:
        raise TransitionRefused(TransitionErrorCode.ROLE, _("閲覧者はメモを書けません。"))
    note = Note.objects.create(
        municipality=application.municipality,
        application=application,
        department=application.department,
        author_label=staff.user.get_username(),
        text=text.strip(),
    )
    audit_event(
        municipality=application.municipality,
        action="application.note",
        actor=staff.actor(application.department),
        obj=application,
    )
    return note
