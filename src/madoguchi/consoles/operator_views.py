"""The platform operator's console: the bodies of the deployment and their first admins."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import F, Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from madoguchi.accounts.invitations import InvitationError, invitation_create
from madoguchi.accounts.staff_selectors import staff_list
from madoguchi.consoles.access import OperatorContext, operator_view
from madoguchi.consoles.forms import BodyAddForm, BodySearchForm, InviteForm, SlugForm
from madoguchi.tenants.errors import TenantError
from madoguchi.tenants.models import Municipality, Role
from madoguchi.tenants.onboarding import (
    body_search,
    municipality_add,
    municipality_set_active,
    municipality_slug_change,
    slug_suggest,
)
from madoguchi.tenants.services import lgcode_rows


def _body(code: str) -> Municipality:
    municipality = Municipality.objects.filter(code=code).first()
    if municipality is None:
        raise Http404("no such body")
    return municipality


@require_safe
@operator_view
def home(request: HttpRequest, operator: OperatorContext) -> HttpResponse:
    # Bodies loaded only as the parent of another (a prefecture, a 郡) keep their code as URL name.
    bodies = (
        Municipality.objects.filter(~Q(slug=F("code")) | Q(is_active=True))
        .select_related("prefecture")
        .order_by("code")
    )
    return render(request, "consoles/operator_home.html", {"bodies": bodies, "operator": operator})


@require_safe
@operator_view
def body_find(request: HttpRequest, operator: OperatorContext) -> HttpResponse:
    form = BodySearchForm(request.GET or None)
    results = []
    searched = False
    if form.is_valid() and form.cleaned_data["q"].strip():
        searched = True
        results = body_search(query=form.cleaned_data["q"])
    return render(
        request,
        "consoles/operator_find.html",
        {"form": form, "results": results, "searched": searched},
    )


@require_http_methods(["GET", "POST"])
@operator_view
def body_add(request: HttpRequest, operator: OperatorContext, code: str) -> HttpResponse:
    row = lgcode_rows().get(code)
    if row is None:
        raise Http404("not in the bundled list")
    form = BodyAddForm(request.POST or None, initial={"slug": slug_suggest(code=code)})
    if request.method == "POST" and form.is_valid():
        try:
            municipality = municipality_add(
                code=code,
                slug=form.cleaned_data["slug"],
                activate=form.cleaned_data["activate"],
                actor=operator.actor(),
            )
        except TenantError as failure:
            form.add_error("slug" if failure.field == "slug" else None, failure.message)
        else:
            messages.success(request, _("%(name)sを追加しました。") % {"name": municipality.name})
            return HttpResponseRedirect(reverse("operator:body", kwargs={"code": code}))
    return render(request, "consoles/operator_add.html", {"form": form, "row": row})


@require_safe
@operator_view
def body_detail(request: HttpRequest, operator: OperatorContext, code: str) -> HttpResponse:
    municipality = _body(code)
    return _detail(request, municipality)


def _detail(
    request: HttpRequest,
    municipality: Municipality,
    *,
    slug_form: SlugForm | None = None,
    invite_form: InviteForm | None = None,
    status: int = 200,
) -> HttpResponse:
    admins = [
        row
        for row in staff_list(municipality=municipality)
        if any(m.role == Role.ADMIN and m.department_id is None for m in row.memberships)
    ]
    return render(
        request,
        "consoles/operator_body.html",
        {
            "body": municipality,
            "aliases": municipality.slug_aliases.order_by("-created_at"),
            "slug_form": slug_form or SlugForm(initial={"slug": municipality.slug}),
            "invite_form": invite_form or InviteForm(),
            "admins": admins,
        },
        status=status,
    )


@require_POST
@operator_view
def body_slug(request: HttpRequest, operator: OperatorContext, code: str) -> HttpResponse:
    municipality = _body(code)
    form = SlugForm(request.POST)
    if form.is_valid():
        try:
            municipality_slug_change(
                municipality=municipality, slug=form.cleaned_data["slug"], actor=operator.actor()
            )
        except TenantError as failure:
            form.add_error("slug", failure.message)
        else:
            messages.success(request, _("URL名を変更しました。以前のアドレスは転送されます。"))
            return HttpResponseRedirect(reverse("operator:body", kwargs={"code": code}))
    return _detail(request, municipality, slug_form=form)


@require_POST
@operator_view
def body_activate(request: HttpRequest, operator: OperatorContext, code: str) -> HttpResponse:
    municipality = _body(code)
    active = request.POST.get("active") == "1"
    municipality_set_active(municipality=municipality, active=active, actor=operator.actor())
    if active:
        messages.success(request, _("サービスを開始しました。"))
    else:
        messages.success(request, _("サービスを停止しました。データはそのまま残ります。"))
    return HttpResponseRedirect(reverse("operator:body", kwargs={"code": code}))


@require_POST
@operator_view
def body_invite(request: HttpRequest, operator: OperatorContext, code: str) -> HttpResponse:
    municipality = _body(code)
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            invitation_create(
                municipality=municipality,
                email=form.cleaned_data["email"],
                username=form.cleaned_data["username"],
                display_name=form.cleaned_data["display_name"],
                role=Role.ADMIN,
                department=None,
                actor=operator.actor(),
            )
        except InvitationError as failure:
            form.add_error("username", failure.message)
        else:
            messages.success(
                request,
                _("%(email)s に招待メールを送りました（有効期限72時間）。")
                % {"email": form.cleaned_data["email"]},
            )
            return HttpResponseRedirect(reverse("operator:body", kwargs={"code": code}))
    return _detail(request, municipality, invite_form=form)
