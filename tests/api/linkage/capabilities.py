"""Data for the linkage tests of transfers, the consultations inbox and open data."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from madoguchi.consultation.assistant import assistant_handle_action, conversation_open
from madoguchi.consultation.models import Channel, Conversation, Message, Sender
from madoguchi.procedures.models import Application
from tests.isolation import Tenant
from tests.procedures.backoffice_fixtures import (
    kyufukin_submit,
    move,
    publish_catalogue,
    staff_context,
)

KYUFUKIN = "teigaku-kyufukin"
REMITTER = {
    "requester_code": "1234567890",
    "requester_name": "コウベシ",
    "bank_code": "0009",
    "bank_name": "ミツイスミトモ",
    "branch_code": "123",
    "branch_name": "",
    "account_type": "1",
    "account_number": "7654321",
}
EXPORT_BODY = {
    "procedure": KYUFUKIN,
    "state": "transfer_pending",
    "transfer_date": "2026-04-10",
    "remitter": REMITTER,
}
RESIDENT_TEXT = "マイナンバーカードをなくした"
CALL_CENTER_HEADER = [
    "受付_年月日",
    "全国地方公共団体コード",
    "都道府県名",
    "市区町村名",
    "相談件数",
    "備考",
]


def payable_applications(tenant: Tenant, count: int = 2) -> list[Application]:
    """``count`` 特別定額給付金 applications of ``tenant`` waiting in 振込手続き中."""
    version = publish_catalogue(tenant.municipality, KYUFUKIN, "welfare")
    admin = staff_context(tenant, "admin")
    return [
        move(kyufukin_submit(version).application, "reviewing", "transfer_pending", staff=admin)
        for _ in range(count)
    ]


def handed_over(tenant: Tenant, *, department_code: str | None = None) -> Conversation:
    """A web conversation of ``tenant`` handed over to staff, waiting for an answer."""
    conversation = conversation_open(municipality=tenant.municipality, channel=Channel.WEB)
    Message.objects.create(
        municipality=tenant.municipality,
        conversation=conversation,
        sender=Sender.RESIDENT,
        text=RESIDENT_TEXT,
    )
    assistant_handle_action(conversation=conversation, payload="handover")
    if department_code is not None:
        department = tenant.municipality.departments.get(code=department_code)
        Conversation.objects.filter(pk=conversation.pk).update(department=department)
    conversation.refresh_from_db()
    return conversation


def call_center_csv(rows: Sequence[Sequence[str]], *, encoding: str = "utf-8-sig") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CALL_CENTER_HEADER)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def kobe_call_center_row(day: str, count: str) -> list[str]:
    return [day, "281000", "兵庫県", "神戸市", count, ""]


def post_file(
    client: Client,
    url: str,
    token: str | None,
    content: bytes,
    *,
    name: str = "call_center.csv",
    **fields: str,
) -> Any:
    """POST ``content`` as the multipart field ``file`` with ``fields`` beside it."""
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    upload = SimpleUploadedFile(name, content, content_type="text/csv")
    return client.post(url, data={**fields, "file": upload}, **headers)
