"""Errors a reporter or a clerk can cause in reports, with stable codes."""

from __future__ import annotations

from enum import StrEnum

from django.utils.translation import gettext as _


class ErrorCode(StrEnum):
    CATEGORY_UNKNOWN = "category_unknown"
    LOCATION_REQUIRED = "location_required"
    AREA_UNKNOWN = "area_unknown"
    PHOTO_UNREADABLE = "photo_unreadable"
    TOO_MANY_PHOTOS = "too_many_photos"
    DESCRIPTION_REQUIRED = "description_required"
    LOOKUP_FAILED = "lookup_failed"
    TRANSITION_NOT_ALLOWED = "transition_not_allowed"
    MERGE_INVALID = "merge_invalid"
    DEPARTMENT_UNKNOWN = "department_unknown"
    RATE_LIMITED = "rate_limited"
    ROUTE_UNKNOWN = "route_unknown"


class ReportError(Exception):
    def __init__(self, code: ErrorCode, *, field: str = "") -> None:
        super().__init__(str(code))
        self.code = code
        self.field = field


def error_message(code: ErrorCode) -> str:
    """The Japanese message (English when the request is in English) for ``code``."""
    messages = {
        ErrorCode.CATEGORY_UNKNOWN: _("困りごとの種類を一覧から選んでください。"),
        ErrorCode.LOCATION_REQUIRED: _(
            "場所が分かりません。位置情報付きの写真を添えるか、住所・目印か地域を入力してください。"
        ),
        ErrorCode.AREA_UNKNOWN: _("地域は一覧から選んでください。"),
        ErrorCode.PHOTO_UNREADABLE: _(
            "写真を読み取れませんでした。JPEG か PNG の画像を選んでください。"
        ),
        ErrorCode.TOO_MANY_PHOTOS: _("写真は4枚までです。"),
        ErrorCode.DESCRIPTION_REQUIRED: _("内容を入力してください。"),
        ErrorCode.LOOKUP_FAILED: _(
            "受付番号または確認コードが違います。お手元の控えをご確認ください。"
        ),
        ErrorCode.TRANSITION_NOT_ALLOWED: _("この状態には変更できません。"),
        ErrorCode.MERGE_INVALID: _("この通報とはまとめられません。"),
        ErrorCode.DEPARTMENT_UNKNOWN: _("担当の課は一覧から選んでください。"),
        ErrorCode.RATE_LIMITED: _("試行が多すぎます。しばらくしてからもう一度お試しください。"),
        ErrorCode.ROUTE_UNKNOWN: _("この振り分けは見つかりません。一覧を読み込み直してください。"),
    }
    return str(messages[code])
