"""Resident pages: choose a time, book without an account, then look up, change or cancel
with the receipt number and code. Every page works without JavaScript."""

from __future__ import annotations

import datetime
from itertools import groupby
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from madoguchi.audit.services import AuditActor
from madoguchi.core.ratelimit import client_ip, client_key
from madoguchi.procedures.receipts import lookup_secret_display, receipt_number_display
from madoguchi.reservations import selectors, services
from madoguchi.reservations.errors import ErrorCode, ReservationError, error_message
from madoguchi.reservations.forms import BookingForm, LookupForm, WaitlistForm
from madoguchi.reservations.models import Booking, BookingStatus, Resource, Slot
from madoguchi.tenants.http import municipality_view
from madoguchi.tenants.models import Municipality

BOOKING_OK_KEY = "reservations.booking"
_BOOKING_OK_SECONDS = 15 * 60


def _language() -> str:
    return "en" if (get_language() or "ja").startswith("en") else "ja"


def _resident(request: HttpRequest) -> AuditActor:
    return AuditActor(ip=client_ip(request), label="resident")


def _by_day(slots: list[Slot]) -> list[tuple[datetime.date, list[Slot]]]:
    return [
        (day, list(group))
        for day, group in groupby(slots, key=lambda s: timezone.localtime(s.starts_at).date())
    ]


def _not_found(request: HttpRequest, municipality: Municipality, message: str) -> HttpResponse:
    return render(
        request,
        "reservations/not_found.html",
        {"municipality": municipality, "message": message},
        status=404,
    )


def _resource(municipality: Municipality, code: str) -> Resource | None:
    return selectors.resource_get(municipality=municipality, code=code)


@require_safe
@municipality_view
def resource_list(request: HttpRequest, municipality: Municipality) -> HttpResponse:
    return render(
        request,
        "reservations/resource_list.html",
        {
            "municipality": municipality,
            "resources": selectors.resource_list(municipality=municipality),
            "english": _language() == "en",
        },
    )


@require_safe
@municipality_view
def slot_list(request: HttpRequest, municipality: Municipality, code: str) -> HttpResponse:
    resource = _resource(municipality, code)
    if resource is None:
        return _not_found(request, municipality, _("この予約は見つかりません。"))
    try:
        start = datetime.date.fromisoformat(request.GET.get("from", ""))
    except ValueError:
        start = timezone.localdate()
    start = max(start, timezone.localdate())
    slots = selectors.slots_open(resource=resource, start=start)
    return render(
        request,
        "reservations/slot_list.html",
        {
            "municipality": municipality,
            "resource": resource,
            "days": _by_day(slots),
            "next_from": (start + datetime.timedelta(days=14)).isoformat(),
            "english": _language() == "en",
        },
    )


@never_cache
@require_http_methods(["GET", "POST"])
@municipality_view
def book(request: HttpRequest, municipality: Municipality, code: str, slot_id: int) -> HttpResponse:
    resource = _resource(municipality, code)
    slot = selectors.slot_get(municipality=municipality, slot_id=slot_id)
    if resource is None or slot is None or slot.resource_id != resource.pk:
        return _not_found(request, municipality, error_message(ErrorCode.SLOT_UNKNOWN))
    form = BookingForm(request.POST or None, resource=resource)
    error = ""
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            result = services.booking_create(
                municipality=municipality,
                slot_id=slot.pk,
                name=data["name"],
                email=data["email"],
                phone=data["phone"],
                birth_date=data.get("birth_date"),
                district=data.get("district", ""),
                language=_language(),
                actor=_resident(request),
            )
        except ReservationError as refused:
            _form_error(form, refused)
            error = refused.message
            status = 409 if refused.code == ErrorCode.FULL else 400
            slot = selectors.slot_get(municipality=municipality, slot_id=slot_id) or slot
        else:
            _remember(request, result.booking)
            return render(
                request,
                "reservations/booked.html",
                {
                    "municipality": municipality,
                    "booking": result.booking,
                    "receipt": receipt_number_display(result.booking.receipt_number),
                    "secret": lookup_secret_display(result.secret),
                    "english": _language() == "en",
                },
                status=201,
            )
    elif request.method == "POST":
        status = 400
    return render(
        request,
        "reservations/book.html",
        {
            "municipality": municipality,
            "resource": resource,
            "slot": slot,
            "form": form,
            "error": error,
            "english": _language() == "en",
        },
        status=status,
    )


def _form_error(form: BookingForm | LookupForm, refused: ReservationError) -> None:
    if refused.field and refused.field in form.fields:
        form.add_error(refused.field, refused.message)


@never_cache
@require_http_methods(["GET", "POST"])
@municipality_view
def wait(request: HttpRequest, municipality: Municipality, code: str, slot_id: int) -> HttpResponse:
    resource = _resource(municipality, code)
    slot = selectors.slot_get(municipality=municipality, slot_id=slot_id)
    if resource is None or slot is None or slot.resource_id != resource.pk:
        return _not_found(request, municipality, error_message(ErrorCode.SLOT_UNKNOWN))
    if not resource.waitlist_enabled:
        return _not_found(request, municipality, error_message(ErrorCode.WAITLIST_OFF))
    form = WaitlistForm(request.POST or None, resource=resource)
    error = ""
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.waitlist_join(
                municipality=municipality,
                slot_id=slot.pk,
                name=data["name"],
                email=data["email"],
                birth_date=data.get("birth_date"),
                district=data.get("district", ""),
                language=_language(),
                actor=_resident(request),
            )
        except ReservationError as refused:
            _form_error(form, refused)
            error = refused.message
            status = 400
        else:
            return render(
                request,
                "reservations/waiting.html",
                {"municipality": municipality, "resource": resource, "slot": slot},
                status=201,
            )
    elif request.method == "POST":
        status = 400
    return render(
        request,
        "reservations/wait.html",
        {
            "municipality": municipality,
            "resource": resource,
            "slot": slot,
            "form": form,
            "error": error,
            "english": _language() == "en",
        },
        status=status,
    )


def _remember(request: HttpRequest, booking: Booking) -> None:
    """This browser proved the booking's code: it may change or cancel it for a while."""
    request.session[BOOKING_OK_KEY] = {
        "id": booking.pk,
        "until": timezone.now().timestamp() + _BOOKING_OK_SECONDS,
    }


def _proven(request: HttpRequest, municipality: Municipality) -> Booking | None:
    granted = request.session.get(BOOKING_OK_KEY) or {}
    booking_id = granted.get("id") if isinstance(granted, dict) else None
    if isinstance(booking_id, int) and float(granted.get("until", 0)) > timezone.now().timestamp():
        return selectors.booking_get(municipality=municipality, booking_id=booking_id)
    return None


def _manage_url(municipality: Municipality) -> str:
    return reverse("reservations:manage", kwargs={"municipality_slug": municipality.slug})


@never_cache
@require_http_methods(["GET", "POST"])
@municipality_view
def lookup(request: HttpRequest, municipality: Municipality) -> HttpResponse:
    form = LookupForm(request.POST or None)
    error = ""
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            booking = services.booking_lookup(
                municipality=municipality,
                receipt_text=form.cleaned_data["receipt_number"],
                secret_text=form.cleaned_data["secret"],
                client=client_key(request, "reservations"),
            )
        except ReservationError as refused:
            error = refused.message
            status = 429 if refused.code == ErrorCode.RATE_LIMITED else 400
        else:
            _remember(request, booking)
            return HttpResponseRedirect(_manage_url(municipality))
    elif request.method == "POST":
        status = 400
    return render(
        request,
        "reservations/lookup.html",
        {"municipality": municipality, "form": form, "error": error},
        status=status,
    )


def _expired(request: HttpRequest, municipality: Municipality) -> HttpResponse:
    return render(
        request,
        "reservations/lookup.html",
        {
            "municipality": municipality,
            "form": LookupForm(),
            "error": "",
            "notice": _("時間が経ったため、もう一度受付番号と確認コードを入力してください。"),
        },
        status=403,
    )


@never_cache
@require_http_methods(["GET", "POST"])
@municipality_view
def manage(request: HttpRequest, municipality: Municipality) -> HttpResponse:
    booking = _proven(request, municipality)
    if booking is None:
        return _expired(request, municipality)
    error = ""
    status = 200
    notice = ""
    if request.method == "POST":
        if request.POST.get("action") == "cancel":
            try:
                booking = services.booking_cancel(
                    municipality=municipality, booking_id=booking.pk, actor=_resident(request)
                )
            except ReservationError as refused:
                error = refused.message
                status = 400
            else:
                notice = _("予約を取り消しました。")
        else:
            error = _("操作を選んでください。")
            status = 400
    return render(
        request,
        "reservations/manage.html",
        _manage_context(municipality, booking, error=error, notice=notice),
        status=status,
    )


def _manage_context(
    municipality: Municipality, booking: Booking, *, error: str = "", notice: str = ""
) -> dict[str, Any]:
    return {
        "municipality": municipality,
        "booking": booking,
        "receipt": receipt_number_display(booking.receipt_number),
        "live": booking.status == BookingStatus.BOOKED,
        "error": error,
        "notice": notice,
        "english": _language() == "en",
    }


@never_cache
@require_http_methods(["GET", "POST"])
@municipality_view
def change(request: HttpRequest, municipality: Municipality) -> HttpResponse:
    booking = _proven(request, municipality)
    if booking is None:
        return _expired(request, municipality)
    if booking.status != BookingStatus.BOOKED:
        return render(
            request,
            "reservations/manage.html",
            _manage_context(municipality, booking, error=error_message(ErrorCode.NOT_LIVE)),
            status=400,
        )
    error = ""
    status = 200
    if request.method == "POST":
        try:
            slot_id = int(request.POST.get("slot", ""))
        except ValueError:
            error = _("新しい時間を選んでください。")
            status = 400
        else:
            try:
                services.booking_change(
                    municipality=municipality,
                    booking_id=booking.pk,
                    slot_id=slot_id,
                    actor=_resident(request),
                )
            except ReservationError as refused:
                error = refused.message
                status = 409 if refused.code == ErrorCode.FULL else 400
            else:
                messages.success(request, _("予約の日時を変更しました。"))
                return HttpResponseRedirect(_manage_url(municipality))
    slots = selectors.slots_open(
        resource=booking.resource, start=timezone.localdate(), exclude=booking.slot_id
    )
    return render(
        request,
        "reservations/change.html",
        {
            "municipality": municipality,
            "booking": booking,
            "days": _by_day(slots),
            "error": error,
            "english": _language() == "en",
        },
        status=status,
    )
