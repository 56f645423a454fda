"""Staff pages: the day's list with attendance, the capacity and no-show report, slot import,
and the admin's setup of resources with their weekly slots."""

from __future__ import annotations

import datetime

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from madoguchi.accounts.permissions import StaffContext, staff_view
from madoguchi.audit.services import audit_access_many
from madoguchi.reservations import selectors, services
from madoguchi.reservations.errors import ReservationError
from madoguchi.reservations.forms import ClosedDayForm, ResourceForm, SlotsCsvForm
from madoguchi.reservations.models import BookingStatus, Resource
from madoguchi.tenants.models import Municipality, Role

READ_PURPOSE = "予約の当日受付"
EVERY_ROLE = (Role.ADMIN, Role.SUPERVISOR, Role.CLERK, Role.VIEWER)
WORKERS = (Role.ADMIN, Role.SUPERVISOR, Role.CLERK)
PLANNERS = (Role.ADMIN, Role.SUPERVISOR)


def resources_for(staff: StaffContext, roles: tuple[Role, ...]) -> list[Resource]:
    """The resources ``staff`` may work on with one of ``roles``.

    A resource of a department: members of that department and municipality-wide members. A
    resource without a department: every member holding one of the roles anywhere.
    """
    return [
        r
        for r in selectors.resource_list(municipality=staff.municipality)
        if staff.has_role(roles, r.department)
        or (r.department_id is None and any(m.role in roles for m in staff.memberships))
    ]


def _resource_for(staff: StaffContext, code: str, roles: tuple[Role, ...]) -> Resource | None:
    return next((r for r in resources_for(staff, roles) if r.code == code), None)


def _day(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        return timezone.localdate()


@require_safe
@staff_view()
def home(request: HttpRequest, municipality: Municipality, staff: StaffContext) -> HttpResponse:
    """The resources of the member's departments; refused when there are none (as the menu)."""
    resources = resources_for(staff, EVERY_ROLE)
    if not resources:
        raise PermissionDenied("no reservations in this member's departments")
    return render(
        request,
        "reservations/staff_home.html",
        {
            "municipality": municipality,
            "resources": resources,
            "planned": {r.pk for r in resources_for(staff, PLANNERS)},
            "today": timezone.localdate().isoformat(),
        },
    )


@require_http_methods(["GET", "POST"])
@staff_view()
def day_list(
    request: HttpRequest, municipality: Municipality, staff: StaffContext, code: str
) -> HttpResponse:
    resource = _resource_for(staff, code, EVERY_ROLE)
    if resource is None:
        return render(
            request,
            "reservations/not_found.html",
            {"municipality": municipality, "message": _("この予約は見つかりません。")},
            status=404,
        )
    day = _day(request.GET.get("day", "") or request.POST.get("day", ""))
    error = ""
    status = 200
    if request.method == "POST":
        can_mark = _resource_for(staff, code, WORKERS) is not None
        try:
            booking_id = int(request.POST.get("booking", ""))
        except ValueError:
            booking_id = 0
        mark = request.POST.get("status", "")
        if not can_mark:
            raise PermissionDenied("viewers do not mark attendance")
        booking = selectors.booking_get(municipality=municipality, booking_id=booking_id)
        if booking is None or booking.resource_id != resource.pk:
            error = _("この予約は見つかりません。")
            status = 400
        else:
            try:
                services.booking_mark(
                    municipality=municipality,
                    booking_id=booking.pk,
                    status=mark,
                    actor=staff.actor(resource.department),
                )
            except ReservationError as refused:
                error = refused.message
                status = 400
            else:
                url = reverse(
                    "reservations_staff:day",
                    kwargs={"municipality_slug": municipality.slug, "code": code},
                )
                return HttpResponseRedirect(f"{url}?day={day.isoformat()}#b{booking.pk}")
    bookings = list(
        selectors.bookings_of_day(municipality=municipality, resource=resource, day=day)
    )
    actor = staff.actor(resource.department)
    audit_access_many(
        municipality=municipality,
        purpose=READ_PURPOSE,
        accesses=[(actor, b) for b in bookings],
        action="list",
    )
    live = [b for b in bookings if b.status != BookingStatus.CANCELLED]
    return render(
        request,
        "reservations/staff_day.html",
        {
            "municipality": municipality,
            "resource": resource,
            "day": day,
            "previous": (day - datetime.timedelta(days=1)).isoformat(),
            "next": (day + datetime.timedelta(days=1)).isoformat(),
            "bookings": bookings,
            "counts": {
                "live": len(live),
                "attended": sum(b.status == BookingStatus.ATTENDED for b in live),
                "no_show": sum(b.status == BookingStatus.NO_SHOW for b in live),
            },
            "can_mark": _resource_for(staff, code, WORKERS) is not None,
            "closed": selectors.closed_day_of(resource=resource, day=day),
            "error": error,
        },
        status=status,
    )


@require_safe
@staff_view()
def usage(request: HttpRequest, municipality: Municipality, staff: StaffContext) -> HttpResponse:
    end = _day(request.GET.get("to", ""))
    try:
        start = datetime.date.fromisoformat(request.GET.get("from", ""))
    except ValueError:
        start = end - datetime.timedelta(days=30)
    if start > end:
        start, end = end, start
    allowed = {r.pk for r in resources_for(staff, EVERY_ROLE)}
    if not allowed:
        raise PermissionDenied("no reservations in this member's departments")
    rows = [
        row
        for row in selectors.usage_report(municipality=municipality, start=start, end=end)
        if row.resource.pk in allowed
    ]
    return render(
        request,
        "reservations/staff_report.html",
        {"municipality": municipality, "rows": rows, "start": start, "end": end},
    )


@require_http_methods(["GET", "POST"])
@staff_view()
def slots_upload(
    request: HttpRequest, municipality: Municipality, staff: StaffContext, code: str
) -> HttpResponse:
    resource = _resource_for(staff, code, PLANNERS)
    if resource is None:
        return render(
            request,
            "reservations/not_found.html",
            {"municipality": municipality, "message": _("この予約は見つかりません。")},
            status=404,
        )
    form = SlotsCsvForm(request.POST, request.FILES) if request.method == "POST" else SlotsCsvForm()
    error = ""
    notice = ""
    status = 200
    if request.method == "POST" and request.POST.get("action") == "weekly":
        start = timezone.localdate()
        created = services.slots_generate(
            resource=resource,
            start=start,
            end=start + datetime.timedelta(days=60),
            actor=staff.actor(resource.department),
        )
        notice = _("週間の予定から %(count)s 枠を作りました。") % {"count": created}
        form = SlotsCsvForm()
    elif request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            text = upload.read(2_000_000).decode("utf-8-sig")
            created = services.slots_import_csv(
                resource=resource, text=text, actor=staff.actor(resource.department)
            )
        except UnicodeDecodeError:
            error = _("CSVファイルは UTF-8 で保存してください。")
            status = 400
        except ReservationError as refused:
            error = refused.message
            status = 400
        else:
            notice = _("CSVから %(count)s 枠を作りました。") % {"count": created}
    elif request.method == "POST":
        status = 400
    return render(
        request,
        "reservations/staff_slots.html",
        {
            "municipality": municipality,
            "resource": resource,
            "form": form,
            "error": error,
            "notice": notice,
        },
        status=status,
    )


_WEEKDAY_NAMES = "月火水木金土日"


def _initial(resource: Resource) -> dict[str, object]:
    """The form's initial values for changing ``resource`` (its weekly rules as text lines)."""
    lines = [
        f"{_WEEKDAY_NAMES[r.weekday]} {r.start:%H:%M}-{r.end:%H:%M} {r.slot_minutes} {r.capacity}"
        for r in resource.rules.order_by("weekday", "start")
    ]
    return {
        "code": resource.code,
        "name": resource.name,
        "name_en": resource.name_en,
        "kind": resource.kind,
        "place": resource.place,
        "department": resource.department.code if resource.department else "",
        "min_age": resource.min_age,
        "max_age": resource.max_age,
        "districts": "、".join(resource.districts),
        "weekly": "\n".join(lines),
        "waitlist": resource.waitlist_enabled,
        "open_on_holidays": resource.open_on_holidays,
        "active": resource.active,
    }


@require_http_methods(["GET", "HEAD", "POST"])
@staff_view(roles=[Role.ADMIN])
def resources(
    request: HttpRequest, municipality: Municipality, staff: StaffContext
) -> HttpResponse:
    """The admin's list of resources, and a form to add one or change one (``?code=``)."""
    editing = Resource.objects.filter(
        municipality=municipality, code=request.GET.get("code", "")
    ).first()
    form = ResourceForm(
        request.POST if request.method == "POST" else None,
        municipality=municipality,
        initial=_initial(editing) if editing is not None else None,
    )
    error = ""
    if request.method == "POST" and form.is_valid():
        try:
            services.resources_load(
                municipality=municipality, data=[form.as_load_item()], actor=staff.actor()
            )
        except ValueError:
            error = str(_("入力内容を確認してください。"))
        else:
            return HttpResponseRedirect(
                reverse(
                    "reservations_staff:resources", kwargs={"municipality_slug": municipality.slug}
                )
            )
    return render(
        request,
        "reservations/staff_resources.html",
        {
            "municipality": municipality,
            "form": form,
            "error": error,
            "editing": editing,
            "resources": Resource.objects.filter(municipality=municipality)
            .select_related("department")
            .prefetch_related("rules"),
        },
        status=400 if request.method == "POST" else 200,
    )


def _closed_url(municipality: Municipality) -> str:
    return reverse("reservations_staff:closed", kwargs={"municipality_slug": municipality.slug})


@require_http_methods(["GET", "HEAD", "POST"])
@staff_view(roles=[Role.ADMIN])
def closed_days(
    request: HttpRequest, municipality: Municipality, staff: StaffContext
) -> HttpResponse:
    """The admin's closed days (for one resource or all), each with the bookings already made
    for it, which are kept and must be followed up by staff."""
    action = request.POST.get("action", "") if request.method == "POST" else ""
    form = ClosedDayForm(request.POST if action == "add" else None, municipality=municipality)
    error = ""
    if request.method == "POST":
        try:
            if action == "add" and form.is_valid():
                closed = services.closed_day_add(
                    municipality=municipality,
                    resource_id=form.cleaned_data["resource"],
                    day=form.cleaned_data["day"],
                    note=form.cleaned_data["note"],
                    actor=staff.actor(),
                )
                return HttpResponseRedirect(f"{_closed_url(municipality)}#closed-{closed.pk}")
            if action == "remove":
                closed_id = request.POST.get("closed_day", "")
                services.closed_day_remove(
                    municipality=municipality,
                    closed_day_id=int(closed_id) if closed_id.isdigit() else 0,
                    actor=staff.actor(),
                )
                return HttpResponseRedirect(_closed_url(municipality))
            if action not in ("add", "remove"):
                error = str(_("入力内容を確認してください。"))
        except ReservationError as refused:
            if refused.field in form.fields:
                form.add_error(refused.field, refused.message)
            else:
                error = refused.message
    return render(
        request,
        "reservations/staff_closed.html",
        {
            "municipality": municipality,
            "form": form,
            "error": error,
            "rows": selectors.closed_days_ahead(
                municipality=municipality, start=timezone.localdate()
            ),
        },
        status=400 if request.method == "POST" else 200,
    )
