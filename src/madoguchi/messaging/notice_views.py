"""Staff pages of the notification path: its delivery log and the wording of each kind."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from madoguchi.accounts.permissions import StaffContext, staff_view
from madoguchi.audit.services import audit_access
from madoguchi.messaging.errors import MessagingError
from madoguchi.messaging.forms import NoticeFilterForm, NoticeTemplateForm
from madoguchi.messaging.models import NoticeTemplate
from madoguchi.messaging.notices import (
    NOTICE_KINDS,
    NoticeKind,
    notice_list,
    notice_template_defaults,
    notice_template_save,
)
from madoguchi.tenants.models import Municipality, Role

# The log names residents' and staff's addresses: admins and supervisors read it.
_READERS = [Role.ADMIN, Role.SUPERVISOR]
_ADMINS = [Role.ADMIN]


def _kinds() -> list[tuple[str, str]]:
    return [(str(kind), str(spec.label)) for kind, spec in NOTICE_KINDS.items()]


@require_http_methods(["GET", "HEAD"])
@staff_view(roles=_READERS)
def notices(request: HttpRequest, municipality: Municipality, staff: StaffContext) -> HttpResponse:
    """The latest notices (receipts, alerts, reminders …) with state, attempts and reason."""
    form = NoticeFilterForm(request.GET or None, kinds=_kinds())
    kind = state = ""
    if form.is_bound and form.is_valid():
        kind, state = form.cleaned_data["kind"], form.cleaned_data["state"]
    rows = notice_list(municipality=municipality, kind=kind, state=state)
    if rows:
        audit_access(
            municipality=municipality,
            actor=staff.actor(),
            purpose="messaging.notice_log",
            object_type="messaging.notice",
            object_id=",".join(str(r.pk) for r in rows[:50]),
        )
    labels = dict(_kinds())
    return render(
        request,
        "messaging/staff/notices.html",
        {
            "municipality": municipality,
            "form": form,
            "rows": [(row, labels.get(row.kind, row.kind)) for row in rows],
            "kinds": _kinds(),
            "is_admin": staff.has_role(_ADMINS),
        },
        status=400 if form.is_bound and not form.is_valid() else 200,
    )


@require_http_methods(["GET", "HEAD", "POST"])
@staff_view(roles=_ADMINS)
def notice_template(
    request: HttpRequest, municipality: Municipality, staff: StaffContext, kind: str
) -> HttpResponse:
    """The municipality's wording of one kind of notice, with the defaults beside it."""
    try:
        notice_kind = NoticeKind(kind)
    except ValueError:
        raise Http404 from None
    own = NoticeTemplate.objects.filter(municipality=municipality, kind=notice_kind).first()
    defaults = {
        language: notice_template_defaults(kind=notice_kind, language=language)
        for language in ("ja", "en")
    }
    initial = {
        "subject_ja": (own and own.subject_ja) or defaults["ja"][0],
        "body_ja": (own and own.body_ja) or defaults["ja"][1],
        "subject_en": (own and own.subject_en) or defaults["en"][0],
        "body_en": (own and own.body_en) or defaults["en"][1],
    }
    form = NoticeTemplateForm(request.POST or None, initial=initial)
    error = ""
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        # Text equal to the default is stored as "default", so later changes of it apply.
        values = {
            f"{part}_{language}": ""
            if data[f"{part}_{language}"].strip().replace("\r\n", "\n")
            == defaults[language][index].strip()
            else data[f"{part}_{language}"].replace("\r\n", "\n")
            for language in ("ja", "en")
            for index, part in enumerate(("subject", "body"))
        }
        try:
            notice_template_save(
                municipality=municipality, kind=notice_kind, actor=staff.actor(), **values
            )
        except MessagingError as exc:
            error = exc.message
        else:
            return HttpResponseRedirect(
                reverse(
                    "messaging:staff-notice-template",
                    kwargs={"municipality_slug": municipality.slug, "kind": kind},
                )
                + "?saved=1"
            )
    spec = NOTICE_KINDS[notice_kind]
    return render(
        request,
        "messaging/staff/notice_template.html",
        {
            "municipality": municipality,
            "form": form,
            "error": error,
            "kind": notice_kind,
            "label": spec.label,
            "channel": spec.channel,
            "variables": ["{" + v + "}" for v in spec.variables],
            "saved": request.GET.get("saved") == "1" and request.method == "GET",
        },
        status=400 if request.method == "POST" else 200,
    )
