"""A municipality admin's console: departments and staff (municipality-wide admins only)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from madoguchi.accounts.invitations import InvitationError, invitation_create, invitation_resend
from madoguchi.accounts.models import User
from madoguchi.accounts.permissions import StaffContext, staff_view
from madoguchi.accounts.staff_admin import (
    StaffAdminError,
    not_manageable_error,
    staff_deactivate,
    staff_manageable,
    staff_reactivate,
    staff_second_factor_reset,
    staff_unlock,
)
from madoguchi.accounts.staff_selectors import StaffRow, staff_get, staff_list
from madoguchi.audit.services import audit_access
from madoguchi.consoles.forms import (
    WHOLE,
    ClinicInviteForm,
    DepartmentCreateForm,
    DepartmentRenameForm,
    RolesForm,
    StaffInviteForm,
)
from madoguchi.consoles.services import (
    OPEN_WORK_LABELS,
    clinic_invite,
    department_open_work,
    department_retire_checked,
)
from madoguchi.surveillance.selectors import health_centres_for_departments
from madoguchi.tenants.errors import TenantError
from madoguchi.tenants.models import Department, Municipality, Role
from madoguchi.tenants.selectors import department_list
from madoguchi.tenants.staffing import department_create, department_rename, memberships_set

admin_view = staff_view(roles=[Role.ADMIN])


def _is_admin(staff: StaffContext) -> None:
    """The console is for municipality-wide admins; a department's admin gets 403."""
    if not staff.is_admin:
        raise PermissionDenied("municipality-wide admins only")


def _url(name: str, municipality: Municipality, **kwargs: object) -> str:
    return reverse(
        f"console-admin:{name}", kwargs={"municipality_slug": municipality.slug, **kwargs}
    )


@require_safe
@admin_view
def home(request: HttpRequest, municipality: Municipality, staff: StaffContext) -> HttpResponse:
    _is_admin(staff)
    rows = staff_list(municipality=municipality)
    return render(
        request,
        "consoles/admin_home.html",
        {
            "municipality": municipality,
            "departments": department_list(municipality=municipality),
            "staff_count": len(rows),
            "pending_count": sum(1 for r in rows if r.is_pending),
            "has_health_centre": bool(
                health_centres_for_departments(municipality=municipality, departments=None)
            ),
        },
    )


# --- departments -------------------------------------------------------------------------


def _department(municipality: Municipality, pk: int) -> Department:
    department = Department.objects.filter(municipality=municipality, pk=pk).first()
    if department is None:
        raise Http404("no such department here")
    return department


@require_http_methods(["GET", "POST"])
@admin_view
def departments(
    request: HttpRequest, municipality: Municipality, staff: StaffContext
) -> HttpResponse:
    _is_admin(staff)
    form = DepartmentCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            department = department_create(
                municipality=municipality,
                code=form.cleaned_data["code"],
                name=form.cleaned_data["name"],
                actor=staff.actor(),
            )
        except TenantError as failure:
            form.add_error(failure.field or None, failure.message)
        else:
            messages.success(
                request, _("部署「%(name)s」を作りました。") % {"name": department.name}
            )
            return HttpResponseRedirect(_url("departments", municipality))
    return render(
        request,
        "consoles/admin_departments.html",
        {
            "municipality": municipality,
            "form": form,
            "departments": department_list(municipality=municipality, include_retired=True),
        },
    )


def _department_page(
    request: HttpRequest,
    municipality: Municipality,
    department: Department,
    *,
    form: DepartmentRenameForm | None = None,
    error: str = "",
) -> HttpResponse:
    work = department_open_work(municipality=municipality, department=department)
    return render(
        request,
        "consoles/admin_department.html",
        {
            "municipality": municipality,
            "department": department,
            "form": form or DepartmentRenameForm(initial={"name": department.name}),
            "open_work": [(OPEN_WORK_LABELS[k], n) for k, n in work.items()],
            "has_open_work": any(work.values()),
            "error": error,
        },
    )


@require_safe
@admin_view
def department_detail(
    request: HttpRequest, municipality: Municipality, staff: StaffContext, pk: int
) -> HttpResponse:
    _is_admin(staff)
    return _department_page(request, municipality, _department(municipality, pk))


@require_POST
@admin_view
def department_rename_view(
    request: HttpRequest, municipality: Municipality, staff: StaffContext, pk: int
) -> HttpResponse:
    _is_admin(staff)
    department = _department(municipality, pk)
    form = DepartmentRenameForm(request.POST)
    if form.is_valid():
        try:
            department_rename(
                department=department, name=form.cleaned_data["name"], actor=staff.actor()
            )
        except TenantError as failure:
            form.add_error("name", failure.message)
        else:
            messages.success(request, _("部署名を変更しました。"))
            return HttpResponseRedirect(_url("department", municipality, pk=pk))
    return _department_page(request, municipality, department, form=form)


@require_POST
@admin_view
def department_retire_view(
    request: HttpRequest, municipality: Municipality, staff: StaffContext, pk: int
) -> HttpResponse:
    _is_admin(staff)
    department = _department(municipality, pk)
    try:
        department_retire_checked(department=department, actor=staff.actor())
    except TenantError as failure:
        return _department_page(request, municipality, department, error=failure.message)
    messages.success(request, _("部署「%(name)s」を廃止しました。") % {"name": department.name})
    return HttpResponseRedirect(_url("departments", municipality))


# --- staff -------------------------------------------------------------------------------


@require_safe
@admin_view
def staff_index(
    request: HttpRequest, municipality: Municipality, staff: StaffContext
) -> HttpResponse:
    _is_admin(staff)
    return render(
        request,
        "consoles/admin_staff.html",
        {"municipality": municipality, "rows": staff_list(municipality=municipality)},
    )


@require_http_methods(["GET", "POST"])
@admin_view
def staff_invite(
    request: HttpRequest, municipality: Municipality, staff: StaffContext
) -> HttpResponse:
    _is_admin(staff)
    departments = list(department_list(municipality=municipality))
    form = StaffInviteForm(request.POST or None, departments=departments)
    if request.method == "POST" and form.is_valid():
        chosen = form.cleaned_data["department"]
        department = None if chosen == WHOLE else _department(municipality, int(chosen))
        try:
            invitation_create(
                municipality=municipality,
                email=form.cleaned_data["email"],
                username=form.cleaned_data["username"],
                display_name=form.cleaned_data["display_name"],
                role=Role(form.cleaned_data["role"]),
                department=department,
                actor=staff.actor(),
            )
        except InvitationError as failure:
            form.add_error("username", failure.message)
        else:
            messages.success(
                request,
                _("%(email)s に招待メールを送りました（有効期限72時間）。")
                % {"email": form.cleaned_data["email"]},
            )
            return HttpResponseRedirect(_url("staff", municipality))
    return render(
        request,
        "consoles/admin_invite.html",
        {"municipality": municipality, "form": form, "clinic": False},
    )


@require_http_methods(["GET", "POST"])
@admin_view
def clinic_invite_view(
    request: HttpRequest, municipality: Municipality, staff: StaffContext
) -> HttpResponse:
    _is_admin(staff)
    # Loaded once: the form's choices and the centre the admin picks come from the same list.
    centres = {
        c.pk: c for c in health_centres_for_departments(municipality=municipality, departments=None)
    }
    if not centres:
        raise Http404("this body runs no health centre")
    form = ClinicInviteForm(
        request.POST or None, centres=[(pk, c.name) for pk, c in centres.items()]
    )
    if request.method == "POST" and form.is_valid():
        centre = centres[form.cleaned_data["health_centre"]]
        try:
            clinic_invite(
                health_centre=centre,
                email=form.cleaned_data["email"],
                username=form.cleaned_data["username"],
                name=form.cleaned_data["display_name"],
                address=form.cleaned_data["address"],
                phone=form.cleaned_data["phone"],
                doctor_name=form.cleaned_data["doctor_name"],
                actor=staff.actor(),
            )
        except InvitationError as failure:
            form.add_error("username", failure.message)
        else:
            messages.success(
                request,
                _("%(email)s に招待メールを送りました（有効期限72時間）。")
                % {"email": form.cleaned_data["email"]},
            )
            return HttpResponseRedirect(_url("staff", municipality))
    return render(
        request,
        "consoles/admin_invite.html",
        {"municipality": municipality, "form": form, "clinic": True},
    )


def _member(municipality: Municipality, user_id: int) -> StaffRow:
    row = staff_get(municipality=municipality, user_id=user_id)
    if row is None:
        raise Http404("not staff of this municipality")
    return row


def _staff_page(
    request: HttpRequest,
    municipality: Municipality,
    staff: StaffContext,
    row: StaffRow,
    *,
    form: RolesForm | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    audit_access(
        municipality=municipality,
        actor=staff.actor(),
        purpose="staff_admin",
        obj=row.user,
    )
    departments = list(department_list(municipality=municipality))
    current = {m.department_id: str(m.role) for m in row.memberships}
    return render(
        request,
        "consoles/admin_member.html",
        {
            "municipality": municipality,
            "row": row,
            "member": row.user,
            "form": form or RolesForm(departments=departments, current=current),
            "manageable": staff_manageable(municipality=municipality, user=row.user),
            "error": error,
        },
        status=status,
    )


@require_safe
@admin_view
def staff_detail(
    request: HttpRequest, municipality: Municipality, staff: StaffContext, user_id: int
) -> HttpResponse:
    _is_admin(staff)
    return _staff_page(request, municipality, staff, _member(municipality, user_id))


@require_POST
@admin_view
def staff_roles(
    request: HttpRequest, municipality: Municipality, staff: StaffContext, user_id: int
) -> HttpResponse:
    _is_admin(staff)
    row = _member(municipality, user_id)
    departments = list(department_list(municipality=municipality))
    current = {m.department_id: str(m.role) for m in row.memberships}
    form = RolesForm(request.POST, departments=departments, current=current)
    if form.is_valid():
        try:
            memberships_set(
                municipality=municipality, user=row.user, wanted=form.wanted(), actor=staff.actor()
            )
        except TenantError as failure:
            return _staff_page(request, municipality, staff, row, form=form, error=failure.message)
        messages.success(request, _("役割を変更しました。"))
        if not staff_get(municipality=municipality, user_id=user_id):
            return HttpResponseRedirect(_url("staff", municipality))
        return HttpResponseRedirect(_url("member", municipality, user_id=user_id))
    return _staff_page(request, municipality, staff, row, form=form)


def _account_action(
    request: HttpRequest,
    municipality: Municipality,
    staff: StaffContext,
    user_id: int,
    action: str,
) -> HttpResponse:
    row = _member(municipality, user_id)
    user: User = row.user
    actor = staff.actor()
    try:
        with transaction.atomic():
            if action == "deactivate":
                staff_deactivate(municipality=municipality, user=user, actor=actor)
                done = _("アカウントを無効にしました。サインイン中の画面も閉じられます。")
            elif action == "reactivate":
                staff_reactivate(municipality=municipality, user=user, actor=actor)
                done = _("アカウントを有効に戻しました。")
            elif action == "reset-2fa":
                staff_second_factor_reset(municipality=municipality, user=user, actor=actor)
                done = _("認証アプリの登録を解除しました。次のサインインで登録し直します。")
            elif action == "unlock":
                staff_unlock(municipality=municipality, user=user, actor=actor)
                done = _("サインイン制限を解除しました。")
            elif action == "resend":
                if not staff_manageable(municipality=municipality, user=user):
                    raise not_manageable_error()
                invitation_resend(
                    municipality=municipality,
                    user=user,
                    actor=actor,
                )
                done = _("招待メールを送り直しました（有効期限72時間）。")
            else:
                raise Http404("no such action")
    except StaffAdminError as failure:
        return _staff_page(request, municipality, staff, row, error=failure.message)
    except InvitationError as failure:
        return _staff_page(request, municipality, staff, row, error=failure.message)
    messages.success(request, done)
    return HttpResponseRedirect(_url("member", municipality, user_id=user_id))


@require_POST
@admin_view
def staff_action(
    request: HttpRequest, municipality: Municipality, staff: StaffContext, user_id: int, action: str
) -> HttpResponse:
    _is_admin(staff)
    return _account_action(request, municipality, staff, user_id, action)
