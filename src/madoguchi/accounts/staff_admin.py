"""A municipality admin's changes to staff accounts: deactivate, reset 2FA, unlock.

An admin manages only accounts that belong to their municipality alone: a platform operator or
someone who also works for another body is refused, so that no body can lock another's staff
out.
"""

from __future__ import annotations

from enum import StrEnum

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from madoguchi.accounts.models import Invitation, User
from madoguchi.accounts.services import staff_signin_throttle_clear
from madoguchi.audit.services import AuditActor, audit_event
from madoguchi.tenants.models import Membership, Municipality
from madoguchi.tenants.staffing import admin_is_last, last_admin_error

__all__ = [
    "StaffAdminError",
    "StaffAdminErrorCode",
    "not_manageable_error",
    "staff_deactivate",
    "staff_manageable",
    "staff_reactivate",
    "staff_second_factor_reset",
    "staff_unlock",
]


class StaffAdminErrorCode(StrEnum):
    NOT_MANAGEABLE = "not_manageable"
    SELF = "self"
    LAST_ADMIN = "last_admin"
    NOT_ACCEPTED = "not_accepted"


class StaffAdminError(Exception):
    def __init__(self, code: StaffAdminErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def staff_manageable(*, municipality: Municipality, user: User) -> bool:
    """Whether the municipality's admin may change this account (see the module docstring)."""
    if user.is_superuser:
        return False
    bodies = set(Membership.objects.filter(user=user).values_list("municipality_id", flat=True))
    return bodies == {municipality.pk}


def not_manageable_error() -> StaffAdminError:
    return StaffAdminError(
        StaffAdminErrorCode.NOT_MANAGEABLE,
        _(
            "この職員はほかの自治体にも所属しているか、運用者のアカウントのため、"
            "ここでは変更できません。運用者に依頼してください。"
        ),
    )


def _check(*, municipality: Municipality, user: User, actor: AuditActor) -> User:
    locked = User.objects.select_for_update().get(pk=user.pk)
    if not staff_manageable(municipality=municipality, user=locked):
        raise not_manageable_error()
    return locked


def _end_sessions(user: User) -> None:
    User.objects.filter(pk=user.pk).update(session_generation=F("session_generation") + 1)


@transaction.atomic
def staff_deactivate(*, municipality: Municipality, user: User, actor: AuditActor) -> User:
    """Stop the account: it cannot sign in and its open sessions end at once."""
    user = _check(municipality=municipality, user=user, actor=actor)
    if actor.user is not None and actor.user.pk == user.pk:
        raise StaffAdminError(
            StaffAdminErrorCode.SELF, _("自分自身のアカウントは無効にできません。")
        )
    if user.is_active and admin_is_last(municipality=municipality, user=user):
        raise StaffAdminError(StaffAdminErrorCode.LAST_ADMIN, last_admin_error().message)
    if user.is_active:
        user.is_active = False
        user.save(update_fields=["is_active"])
    _end_sessions(user)
    Invitation.objects.filter(user=user, accepted_at__isnull=True, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    audit_event(
        municipality=municipality,
        action="staff.deactivate",
        actor=actor,
        obj=user,
        data={"username": user.get_username()},
    )
    return user


@transaction.atomic
def staff_reactivate(*, municipality: Municipality, user: User, actor: AuditActor) -> User:
    """Let a deactivated account sign in again (with its password and second factor)."""
    user = _check(municipality=municipality, user=user, actor=actor)
    if not user.has_usable_password():
        raise StaffAdminError(
            StaffAdminErrorCode.NOT_ACCEPTED,
            _("この職員はまだ招待を受け入れていません。招待を送り直してください。"),
        )
    if not user.is_active:
        user.is_active = True
        user.save(update_fields=["is_active"])
        audit_event(
            municipality=municipality,
            action="staff.reactivate",
            actor=actor,
            obj=user,
            data={"username": user.get_username()},
        )
    return user


@transaction.atomic
def staff_second_factor_reset(*, municipality: Municipality, user: User, actor: AuditActor) -> User:
    """Remove the authenticator and end the sessions; the next sign-in enrols a new one."""
    user = _check(municipality=municipality, user=user, actor=actor)
    removed, _by_model = TOTPDevice.objects.filter(user=user).delete()
    _end_sessions(user)
    audit_event(
        municipality=municipality,
        action="staff.second_factor_reset",
        actor=actor,
        obj=user,
        data={"username": user.get_username(), "devices_removed": removed},
    )
    return user


@transaction.atomic
def staff_unlock(*, municipality: Municipality, user: User, actor: AuditActor) -> User:
    """Forget the member's failed sign-ins from every client, so that none has to wait."""
    user = _check(municipality=municipality, user=user, actor=actor)
    was_locked = staff_signin_throttle_clear(username=user.get_username())
    audit_event(
        municipality=municipality,
        action="staff.unlock",
        actor=actor,
        obj=user,
        data={"username": user.get_username(), "was_locked": was_locked},
    )
    return user
