"""Reading a municipality's staff accounts for its admin console."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from madoguchi.accounts.models import User
from madoguchi.accounts.services import staff_signin_throttled
from madoguchi.tenants.models import Membership, Municipality

__all__ = ["StaffRow", "staff_get", "staff_list"]


@dataclass(frozen=True, slots=True)
class StaffRow:
    user: User
    memberships: list[Membership]
    status: str  # active, invited, invitation_expired, inactive, locked (sign-in throttled)
    has_second_factor: bool
    invitation_expires_at: datetime.datetime | None

    @property
    def is_pending(self) -> bool:
        return self.status in {"invited", "invitation_expired"}


def _row(
    user: User,
    memberships: list[Membership],
    has_device: bool,
    throttled: bool,
    now: datetime.datetime,
) -> StaffRow:
    pending = [
        i
        for i in user.invitations.all()
        if i.accepted_at is None and i.revoked_at is None and i.municipality_id is not None
    ]
    expires = max((i.expires_at for i in pending), default=None)
    if user.is_active:
        status = "locked" if throttled else "active"
    elif not user.has_usable_password() or (user.last_login is None and pending):
        status = "invited" if expires and expires > now else "invitation_expired"
    else:
        status = "inactive"
    return StaffRow(user, memberships, status, has_device, expires)


def staff_list(*, municipality: Municipality) -> list[StaffRow]:
    """Everyone with a role in the municipality, with their roles there (and only there)."""
    memberships = (
        Membership.objects.filter(municipality=municipality)
        .select_related("department")
        .order_by("department__code", "role")
    )
    by_user: dict[int, list[Membership]] = {}
    for m in memberships:
        by_user.setdefault(m.user_id, []).append(m)
    users = User.objects.filter(pk__in=by_user).prefetch_related("invitations").order_by("username")
    enrolled = _enrolled(list(by_user))
    throttled = staff_signin_throttled(usernames=[u.get_username() for u in users])
    now = timezone.now()
    return [
        _row(u, by_user[u.pk], u.pk in enrolled, u.get_username() in throttled, now) for u in users
    ]


def _enrolled(user_ids: list[int]) -> set[int]:
    devices = TOTPDevice.objects.filter(user_id__in=user_ids, confirmed=True)
    return set(devices.values_list("user_id", flat=True))


def staff_get(*, municipality: Municipality, user_id: int) -> StaffRow | None:
    """One member of the municipality's staff, or None (also for another body's staff)."""
    memberships = list(
        Membership.objects.filter(municipality=municipality, user_id=user_id).select_related(
            "department"
        )
    )
    if not memberships:
        return None
    user = User.objects.filter(pk=user_id).prefetch_related("invitations").first()
    if user is None:
        return None
    throttled = bool(staff_signin_throttled(usernames=[user.get_username()]))
    return _row(user, memberships, user_id in _enrolled([user_id]), throttled, timezone.now())
