"""Shared data for the procedures tests: a published 特別定額給付金 and valid answers to it."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from madoguchi.audit.services import AuditActor
from madoguchi.procedures.catalogue import catalogue_definition
from madoguchi.procedures.models import Attachment, ProcedureVersion
from madoguchi.procedures.services import SubmitResult, application_submit, procedure_publish
from madoguchi.tenants.models import Municipality
from tests.isolation import Tenant

ACTOR = AuditActor(label="test")
KYUFUKIN = "teigaku-kyufukin"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 60

# What a resident types, and what application_submit stores for it.
NAME = "神戸　太郎"
NAME_KANA = "コウベ タロウ"
BIRTH_DATE = "1980-04-01"
ADDRESS = "兵庫県神戸市中央区加納町6丁目5番1号"
EMAIL = "taro@example.jp"
BANK_TYPED = {
    "bank_code": "0001",
    "branch_code": "001",
    "account_type": "普通",
    "account_number": "1234567",
    "holder_name": "コウベ タロウ",
}
BANK_CLEANED = {**BANK_TYPED, "holder_name": "ｺｳﾍﾞ ﾀﾛｳ"}


def kyufukin_data(department: str = "welfare", **changes: Any) -> dict[str, Any]:
    """The catalogue's 特別定額給付金 definition, assigned to ``department``."""
    return {**catalogue_definition(KYUFUKIN), "department": department, **changes}


def publish(municipality: Municipality, **changes: Any) -> ProcedureVersion:
    """Publish the 特別定額給付金 (with ``changes``) into ``municipality``."""
    return procedure_publish(municipality=municipality, data=kyufukin_data(**changes), actor=ACTOR)


def attachment_new(municipality: Municipality, *, name: str = "id.png") -> Attachment:
    """An uploaded PNG that belongs to ``municipality`` and to no application yet."""
    return Attachment.objects.create(
        municipality=municipality,
        storage_name=f"uploads/{name}",
        content_type="image/png",
        size=len(PNG),
        sha256=hashlib.sha256(PNG).hexdigest(),
        original_name=name,
    )


def file_answer(attachment_id: str) -> dict[str, Any]:
    return {"id": attachment_id, "content_type": "image/png", "size": len(PNG), "name": "id.png"}


def kyufukin_answers(attachment_id: str, **changes: Any) -> dict[str, Any]:
    """Valid answers to the 特別定額給付金, with the identity document ``attachment_id``."""
    answers: dict[str, Any] = {
        "name": NAME,
        "name_kana": NAME_KANA,
        "birth_date": BIRTH_DATE,
        "postal_code": "650-8570",
        "address": ADDRESS,
        "phone": "078-331-8181",
        "email": EMAIL,
        "account": dict(BANK_TYPED),
        "id_document": file_answer(attachment_id),
        "agreement": True,
    }
    answers.update(changes)
    return answers


def kyufukin_submit(
    municipality: Municipality,
    version: ProcedureVersion,
    attachment_id: str,
    *,
    channel: str = "api",
) -> SubmitResult:
    """Submit valid 特別定額給付金 answers (no e-mail) with the attachment the caller owns."""
    return application_submit(
        municipality=municipality,
        version=version,
        answers=kyufukin_answers(attachment_id, email=""),
        channel=channel,
        actor=ACTOR,
        owned_attachments=[attachment_id],
    )


def kyufukin_cleaned(attachment_id: str) -> dict[str, Any]:
    """What application_submit stores for ``kyufukin_answers(attachment_id)``."""
    return {
        "name": "神戸 太郎",  # the 全角 space is normalised
        "name_kana": NAME_KANA,
        "birth_date": BIRTH_DATE,
        "postal_code": "6508570",
        "address": ADDRESS,
        "phone": "0783318181",
        "email": EMAIL,
        "members": None,
        "account": dict(BANK_CLEANED),
        "id_document": file_answer(attachment_id),
        "agreement": True,
    }


@pytest.fixture
def kyufukin(tenant_a: Tenant) -> ProcedureVersion:
    """特別定額給付金 published in 神戸市 for its welfare department (version 1)."""
    return publish(tenant_a.municipality)


@pytest.fixture
def submit(kyufukin: ProcedureVersion) -> Callable[..., SubmitResult]:
    """Submit valid answers (with a fresh attachment) to 神戸市's 特別定額給付金."""

    def _submit(**kwargs: Any) -> SubmitResult:
        municipality = kyufukin.municipality
        attachment = attachment_new(municipality)
        answers = kyufukin_answers(str(attachment.pk), **kwargs.pop("changes", {}))
        return application_submit(
            municipality=municipality,
            version=kwargs.pop("version", kyufukin),
            answers=answers,
            channel=kwargs.pop("channel", "web"),
            actor=ACTOR,
            owned_attachments=[str(attachment.pk)],
            **kwargs,
        )

    return _submit


@pytest.fixture
def wizard(tenant_a: Tenant) -> tuple[Client, str]:
    """A client that has started the 特別定額給付金 and the URL of its first step."""
    publish(tenant_a.municipality)
    client = Client()
    response = client.post("/kobe/procedures/teigaku-kyufukin/")
    assert response.status_code == 302
    return client, response["Location"]
