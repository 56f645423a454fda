"""Errors a resident or a clerk can cause in reservations, with stable codes."""

from __future__ import annotations

from enum import StrEnum

from django.utils.translation import gettext as _


class ErrorCode(StrEnum):
    FULL = "full"
    SLOT_UNKNOWN = "slot_unknown"
    SLOT_PAST = "slot_past"
    SAME_SLOT = "same_slot"
    NOT_ELIGIBLE_AGE = "not_eligible_age"
    NOT_ELIGIBLE_DISTRICT = "not_eligible_district"
    NOT_LIVE = "not_live"
    LOOKUP_FAILED = "lookup_failed"
    RATE_LIMITED = "rate_limited"
    CSV_INVALID = "csv_invalid"
    WAITLIST_OFF = "waitlist_off"
    NOT_FULL = "not_full"
    DAY_CLOSED = "day_closed"
    RESOURCE_UNKNOWN = "resource_unknown"
    CLOSED_DAY_EXISTS = "closed_day_exists"
    CLOSED_DAY_PAST = "closed_day_past"
    CLOSED_DAY_UNKNOWN = "closed_day_unknown"


def error_message(code: ErrorCode) -> str:
    """The Japanese message (English when the request is in English) for ``code``."""
    messages = {
        ErrorCode.FULL: _(
            "申し訳ありません。この時間はちょうど満員になりました。別の時間をお選びください。"
        ),
        ErrorCode.SLOT_UNKNOWN: _("この予約枠は見つかりません。一覧からもう一度お選びください。"),
        ErrorCode.SLOT_PAST: _("この予約枠の受付は終わりました。別の時間をお選びください。"),
        ErrorCode.SAME_SLOT: _("今の予約と同じ時間です。別の時間をお選びください。"),
        ErrorCode.NOT_ELIGIBLE_AGE: _("この予約の対象年齢ではありません。"),
        ErrorCode.NOT_ELIGIBLE_DISTRICT: _("この予約はお選びの地区の方は対象外です。"),
        ErrorCode.NOT_LIVE: _("この予約は取り消されているため、変更できません。"),
        ErrorCode.LOOKUP_FAILED: _(
            "受付番号または確認コードが違います。お手元の控えをご確認ください。"
        ),
        ErrorCode.RATE_LIMITED: _("試行が多すぎます。しばらくしてからもう一度お試しください。"),
        ErrorCode.CSV_INVALID: _("CSVファイルを読み取れませんでした。"),
        ErrorCode.WAITLIST_OFF: _("この予約にはキャンセル待ちがありません。"),
        ErrorCode.NOT_FULL: _("この時間にはまだ空きがあります。そのまま予約してください。"),
        ErrorCode.DAY_CLOSED: _("この日は休みのため予約できません。別の日をお選びください。"),
        ErrorCode.RESOURCE_UNKNOWN: _("窓口・会場は一覧から選んでください。"),
        ErrorCode.CLOSED_DAY_EXISTS: _("この日はすでに休みに設定されています。"),
        ErrorCode.CLOSED_DAY_PAST: _("今日より前の日は休みに設定できません。"),
        ErrorCode.CLOSED_DAY_UNKNOWN: _(
            "この休みの日は見つかりません。一覧を読み込み直してください。"
        ),
    }
    return str(messages[code])


class ReservationError(Exception):
    """A refused booking action: ``field`` names the form field the message belongs to."""

    def __init__(self, code: ErrorCode, *, field: str = "", detail: str = "") -> None:
        super().__init__(str(code))
        self.code = code
        self.field = field
        self.detail = detail

    @property
    def message(self) -> str:
        text = error_message(self.code)
        return f"{text} {self.detail}".strip() if self.detail else text
