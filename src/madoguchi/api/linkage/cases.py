"""The case register over the data-linkage API (health-centre scopes).

A clinic's system files 発生届 through the same service as the clinic's form (the same checks,
the same routing to the centre covering the patient's 所在地, the same duplicate detection);
the health centre's systems list cases, read one, set its 健康観察の状況 and 療養先 through the
console's casework services, and read its self-reports. A client of a body that runs health
centres stands for all of them, as a municipality-wide member of staff does on the console.
Every read of a case's personal data is an access entry the patient sees.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from pydantic import Field

from madoguchi.api.clients.scopes import Scope
from madoguchi.api.errors import ApiError, ApiErrorCode, ErrorDetailOut, error_responses
from madoguchi.api.linkage.auth import ClientBearer, ClientContext, client_context
from madoguchi.api.linkage.case_schemas import (
    DISEASE_PATTERN,
    FOLLOW_UP_PATTERN,
    STATUS_PATTERN,
    CareIn,
    CaseDetailOut,
    CaseOut,
    CasePageOut,
    ClinicOut,
    FollowUpIn,
    NotificationFiledOut,
    NotificationIn,
    SelfReportOut,
)
from madoguchi.api.linkage.paging import page_by_id
from madoguchi.audit.services import AuditActor, audit_access
from madoguchi.surveillance import casework, selectors, services
from madoguchi.surveillance.access import CASE_READ_PURPOSE, CentreContext, centre_actor
from madoguchi.surveillance.errors import SurveillanceError
from madoguchi.surveillance.models import Case
from madoguchi.surveillance.notifications import NotificationInput

__all__ = ["router"]

router = Router(tags=["cases"])
bearer = ClientBearer()

_MAX_ID = 2**63 - 1


def _centre_context(context: ClientContext) -> CentreContext:
    """The client as the console sees health-centre staff: every centre of its body."""
    centres = selectors.health_centres_for_departments(
        municipality=context.municipality, departments=None
    )
    return CentreContext(staff=context.staff, centres=centres)


def _case(centre: CentreContext, case_id: int) -> Case:
    found = (
        selectors.case_get(
            municipality=centre.staff.municipality, centres=centre.centres, pk=case_id
        )
        if 0 < case_id <= _MAX_ID
        else None
    )
    if found is None:
        raise ApiError(
            HTTPStatus.NOT_FOUND, ApiErrorCode.CASE_NOT_FOUND, _("この患者は見つかりません。")
        )
    return found


def _read_record(context: ClientContext, actor: AuditActor, case: Case, what: str) -> None:
    """An access entry on the case, naming the client in the purpose the patient sees."""
    purpose = f"{CASE_READ_PURPOSE}（API クライアント「{context.client.name}」：{what}）"
    audit_access(municipality=case.municipality, actor=actor, purpose=purpose[:200], obj=case)


def _invalid(code: ApiErrorCode, errors: list[SurveillanceError], message: str) -> ApiError:
    return ApiError(
        HTTPStatus.UNPROCESSABLE_ENTITY,
        code,
        message,
        field=(errors[0].field or None) if len(errors) == 1 else None,
        details=[
            ErrorDetailOut(field=e.field, code=e.code.value, message=e.message) for e in errors
        ],
    )


def _case_out(case: Case) -> dict[str, Any]:
    return {
        "id": case.pk,
        "disease": case.disease,
        "category": case.category,
        "status": case.status,
        "follow_up": case.follow_up,
        "age_band": case.age_band,
        "residence_code": case.residence_code,
        "health_centre": case.health_centre.name,
        "day_zero": case.day_zero,
        "observation_end": case.observation_end,
        "created_at": case.created_at,
    }


def _text(health: dict[str, Any], key: str) -> str | None:
    value = health.get(key)
    return str(value) if value else None


# --- notifications from clinics' systems --------------------------------------------------------


@router.get(
    "/{municipality}/clinics",
    response={200: list[ClinicOut], **error_responses(401, 403, 404, 429)},
    auth=bearer,
    summary="発生届を出せる医療機関（保健所が発行したアカウント）の一覧",
    operation_id="linkage_clinic_list",
)
def clinic_list(request: HttpRequest, municipality: str) -> list[dict[str, Any]]:
    context = client_context(request, municipality, Scope.NOTIFICATIONS_WRITE)
    return [
        {"id": c.pk, "name": c.name, "health_centre": c.health_centre.name}
        for c in selectors.clinics_of(municipality=context.municipality)
    ]


@router.post(
    "/{municipality}/notifications",
    response={201: NotificationFiledOut, **error_responses(400, 401, 403, 404, 413, 422, 429)},
    auth=bearer,
    summary="医療機関のシステムから発生届を受け付ける（医療機関の画面と同じ確認）",
    operation_id="linkage_notification_create",
)
def notification_create(
    request: HttpRequest, municipality: str, payload: NotificationIn
) -> Status[dict[str, Any]]:
    context = client_context(request, municipality, Scope.NOTIFICATIONS_WRITE)
    clinic = selectors.clinic_get(municipality=context.municipality, pk=payload.clinic)
    if clinic is None:
        raise ApiError(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            ApiErrorCode.CLINIC_NOT_FOUND,
            _("この自治体の保健所に登録された医療機関ではありません。clinic をご確認ください。"),
            field="clinic",
        )
    items = payload.model_dump(exclude={"clinic"})
    data = NotificationInput(
        **{
            **items,
            "name": payload.name.strip(),
            "name_kana": payload.name_kana.strip(),
            "address": payload.address.strip(),
            "phone": payload.phone.strip(),
            "symptoms": tuple(payload.symptoms),
            "test_methods": tuple(payload.test_methods),
        }
    )
    actor = AuditActor(
        user=context.client.service_user,
        ip=context.staff.ip,
        department=clinic.health_centre.department,
    )
    try:
        filed = services.notification_submit(clinic=clinic, data=data, actor=actor)
    except services.NotificationInvalidError as refusal:
        raise _invalid(
            ApiErrorCode.NOTIFICATION_INVALID,
            refusal.errors,
            _("発生届に誤りがあります。details の項目ごとの誤りを直して送り直してください。"),
        ) from None
    return Status(
        201,
        {
            "case": filed.case.pk,
            "notification": filed.notification.pk,
            "linked": not filed.created,
            "case_municipality": filed.case.municipality.slug,
        },
    )


# --- cases --------------------------------------------------------------------------------------


class CaseFilters(Schema):
    disease: str = Field(default="", pattern=DISEASE_PATTERN)
    follow_up: str = Field(default="", pattern=FOLLOW_UP_PATTERN)
    status: str = Field(default="", pattern=STATUS_PATTERN)
    cursor: str = Field(default="", max_length=100)
    limit: int = Field(default=50, ge=1, le=200)


@router.get(
    "/{municipality}/cases",
    response={200: CasePageOut, **error_responses(401, 403, 404, 422, 429)},
    auth=bearer,
    summary="患者の一覧（個人を特定しない項目だけ。古い順、cursor で続きを取得）",
    operation_id="linkage_case_list",
)
def case_list(
    request: HttpRequest, municipality: str, filters: Query[CaseFilters]
) -> dict[str, Any]:
    context = client_context(request, municipality, Scope.CASES_READ)
    centre = _centre_context(context)
    found = selectors.case_list(
        municipality=context.municipality,
        centres=centre.centres,
        follow_up=filters.follow_up,
        disease=filters.disease,
    ).order_by("pk")
    if filters.status:
        found = found.filter(status=filters.status)
    page, next_cursor = page_by_id(found, kind="c", cursor=filters.cursor, limit=filters.limit)
    return {"items": [_case_out(item) for item in page], "next_cursor": next_cursor}


@router.get(
    "/{municipality}/cases/{case_id}",
    response={200: CaseDetailOut, **error_responses(401, 403, 404, 429)},
    auth=bearer,
    summary="患者の内容（氏名・連絡先・療養の状況・発生届。閲覧は記録されます）",
    operation_id="linkage_case_get",
)
def case_get(request: HttpRequest, municipality: str, case_id: int) -> dict[str, Any]:
    context = client_context(request, municipality, Scope.CASES_READ)
    centre = _centre_context(context)
    case = _case(centre, case_id)
    _read_record(context, centre_actor(centre, case), case, "患者の内容")
    health = dict(case.health)
    return {
        **_case_out(case),
        "name": case.name,
        "name_kana": case.name_kana,
        "birth_date": case.birth_date,
        "sex": str(health.get("sex") or ""),
        "phone": case.phone,
        "email": case.email,
        "disease_type": str(health.get("disease_type") or ""),
        "symptomatic": bool(health.get("symptomatic")),
        "onset_date": _text(health, "onset_date"),
        "specimen_date": _text(health, "specimen_date"),
        "diagnosis_date": _text(health, "diagnosis_date"),
        "care_setting": str(health.get("care_setting") or ""),
        "care_from": _text(health, "care_from"),
        "severity": str(health.get("severity") or ""),
        "improved_on": _text(health, "improved_on"),
        "follow_up_note": case.follow_up_note,
        "notifications": [
            {
                "id": n.pk,
                "clinic": n.clinic.name,
                "disease": n.disease,
                "category": n.category,
                "submitted_at": n.submitted_at,
            }
            for n in case.notifications.select_related("clinic").order_by("submitted_at", "pk")
        ],
    }


def _updated(case: Case) -> dict[str, Any]:
    case.refresh_from_db()
    return _case_out(case)


@router.post(
    "/{municipality}/cases/{case_id}/follow-up",
    response={200: CaseOut, **error_responses(400, 401, 403, 404, 413, 422, 429)},
    auth=bearer,
    summary="健康観察の状況とメモを更新する（職員画面と同じ規則）",
    operation_id="linkage_case_follow_up",
)
def case_follow_up(
    request: HttpRequest, municipality: str, case_id: int, payload: FollowUpIn
) -> dict[str, Any]:
    context = client_context(request, municipality, Scope.CASES_WRITE)
    centre = _centre_context(context)
    case = _case(centre, case_id)
    try:
        casework.case_follow_up_set(
            case=case, status=payload.status, note=payload.note, actor=centre_actor(centre, case)
        )
    except SurveillanceError as refusal:
        raise _invalid(ApiErrorCode.CASE_UPDATE_INVALID, [refusal], refusal.message) from None
    return _updated(case)


@router.post(
    "/{municipality}/cases/{case_id}/care",
    response={200: CaseOut, **error_responses(400, 401, 403, 404, 413, 422, 429)},
    auth=bearer,
    summary="療養先・重症度・症状軽快日を更新する（療養期間を計算し直します）",
    operation_id="linkage_case_care",
)
def case_care(
    request: HttpRequest, municipality: str, case_id: int, payload: CareIn
) -> dict[str, Any]:
    context = client_context(request, municipality, Scope.CASES_WRITE)
    centre = _centre_context(context)
    case = _case(centre, case_id)
    try:
        casework.case_care_update(
            case=case,
            care_setting=payload.care_setting,
            care_from=payload.care_from,
            severity=payload.severity,
            improved_on=payload.improved_on,
            actor=centre_actor(centre, case),
        )
    except SurveillanceError as refusal:
        raise _invalid(ApiErrorCode.CASE_UPDATE_INVALID, [refusal], refusal.message) from None
    return _updated(case)


# --- self-reports -------------------------------------------------------------------------------


@router.get(
    "/{municipality}/cases/{case_id}/self-reports",
    response={200: list[SelfReportOut], **error_responses(401, 403, 404, 429)},
    auth=bearer,
    summary="患者の毎日の体調報告（新しい日から。閲覧は記録されます）",
    operation_id="linkage_self_report_list",
)
def self_report_list(request: HttpRequest, municipality: str, case_id: int) -> list[dict[str, Any]]:
    context = client_context(request, municipality, Scope.SELFREPORTS_READ)
    centre = _centre_context(context)
    case = _case(centre, case_id)
    _read_record(context, centre_actor(centre, case), case, "体調報告")
    out = []
    for report in selectors.case_self_reports(case=case):
        items = dict(report.items)
        spo2 = items.get("spo2")
        out.append(
            {
                "report_date": report.report_date,
                "temperature": str(items.get("temperature") or ""),
                "spo2": spo2 if isinstance(spo2, int) else None,
                "answers": {str(k): str(v) for k, v in dict(items.get("answers") or {}).items()},
                "urgent_signs": [str(s) for s in items.get("urgent_signs") or []],
                "message": str(items.get("message") or ""),
                "updated_at": report.updated_at,
            }
        )
    return out
