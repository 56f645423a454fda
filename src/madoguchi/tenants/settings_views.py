"""The municipality admin's settings page: the name shown and the contact points.

Municipality-wide admins only; every change goes through a service that writes an audit event.
The settings kept by other apps (LINE channel, open-data licence) are linked from here.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from madoguchi.accounts.permissions import StaffContext, staff_view
from madoguchi.tenants.contacts import (
    ContactInput,
    contact_point_delete,
    contact_point_get,
    contact_point_list,
    contact_point_save,
)
from madoguchi.tenants.forms import ContactPointForm, MunicipalityNameForm
from madoguchi.tenants.models import ContactPurpose, Municipality, Role
from madoguchi.tenants.selectors import department_list
from madoguchi.tenants.services import municipality_rename

# Pages of other apps where the rest of a municipality's settings are kept (url name, label).
_ELSEWHERE = (
    ("consultation:line", gettext_lazy("LINE公式アカウント（チャネルと友だち追加のID）")),
    ("opendata:staff", gettext_lazy("オープンデータのライセンスと取り込み")),
)


def _home(municipality: Municipality) -> str:
    return reverse("settings:home", kwargs={"municipality_slug": municipality.slug})


def _elsewhere(municipality: Municipality) -> list[tuple[str, Promise]]:
    links: list[tuple[str, Promise]] = []
    for name, label in _ELSEWHERE:
        try:
            links.append((reverse(name, kwargs={"municipality_slug": municipality.slug}), label))
        except NoReverseMatch:
            continue  # the app is not installed
    return links


@require_http_methods(["GET", "HEAD", "POST"])
@staff_view(roles=[Role.ADMIN])
def settings_home(
    request: HttpRequest, municipality: Municipality, staff: StaffContext
) -> HttpResponse:
    form = MunicipalityNameForm(
        request.POST if request.method == "POST" else None,
        initial={"name": municipality.name},
    )
    if request.method == "POST" and form.is_valid():
        if municipality_rename(
            municipality=municipality, name=form.cleaned_data["name"], actor=staff.actor()
        ):
            messages.success(request, _("表示する名称を保存しました。"))
        return HttpResponseRedirect(_home(municipality))
    contacts = contact_point_list(municipality=municipality)
    present = {c.key for c in contacts}
    return render(
        request,
        "tenants/settings/home.html",
        {
            "municipality": municipality,
            "form": form,
            "contacts": contacts,
            "missing": [(k, label) for k, label in ContactPurpose.choices if k not in present],
            "elsewhere": _elsewhere(municipality),
        },
        status=400 if request.method == "POST" else 200,
    )


@require_http_methods(["GET", "HEAD", "POST"])
@staff_view(roles=[Role.ADMIN])
def contact_edit(
    request: HttpRequest, municipality: Municipality, staff: StaffContext, key: str = ""
) -> HttpResponse:
    contact = contact_point_get(municipality=municipality, key=key) if key else None
    if key and contact is None:
        raise Http404("no such contact point")
    if request.method == "POST" and contact is not None and request.POST.get("action") == "delete":
        contact_point_delete(municipality=municipality, key=contact.key, actor=staff.actor())
        messages.success(request, _("連絡先を削除しました。"))
        return HttpResponseRedirect(_home(municipality))
    departments = department_list(municipality=municipality)
    initial: dict[str, object]
    if contact is not None:
        initial = {
            "key": contact.key,
            "name": contact.name,
            "phone": contact.phone,
            "hours": contact.hours,
            "email": contact.email,
            "url": contact.url,
            "note": contact.note,
            "department": contact.department_id,
        }
    else:
        purpose = request.GET.get("key", "")
        initial = {"key": purpose, "name": str(dict(ContactPurpose.choices).get(purpose, ""))}
    form = ContactPointForm(
        request.POST if request.method == "POST" else None,
        initial=initial,
        departments=departments,
        key_fixed=contact is not None,
    )
    if request.method == "POST" and form.is_valid():
        new_key = contact.key if contact is not None else form.cleaned_data["key"]
        if contact is None and contact_point_get(municipality=municipality, key=new_key):
            form.add_error("key", _("このキーの連絡先はすでにあります。一覧から編集してください。"))
        else:
            data = form.cleaned_data
            contact_point_save(
                municipality=municipality,
                key=new_key,
                data=ContactInput(
                    name=data["name"],
                    phone=data["phone"],
                    hours=data["hours"],
                    email=data["email"],
                    url=data["url"],
                    note=data["note"],
                    department=data["department"],
                ),
                actor=staff.actor(),
            )
            messages.success(request, _("連絡先を保存しました。"))
            return HttpResponseRedirect(_home(municipality))
    return render(
        request,
        "tenants/settings/contact.html",
        {"municipality": municipality, "form": form, "contact": contact},
        status=400 if request.method == "POST" else 200,
    )
