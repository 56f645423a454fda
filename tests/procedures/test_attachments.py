"""Tests for madoguchi.procedures.attachments: storing uploads and proving who may use them."""

from __future__ import annotations

import hashlib
import io
import stat
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import TemporaryUploadedFile
from pytest_django.fixtures import Settings

from madoguchi.core.uploads import UploadErrorCode, UploadRejected
from madoguchi.procedures.attachments import (
    attachment_store,
    attachments_claimed,
    file_answers_bind,
    upload_token_hash,
)
from madoguchi.procedures.definitions import ProcedureDefinition
from madoguchi.procedures.fieldtypes import FieldSpec
from madoguchi.procedures.models import Attachment, Draft
from madoguchi.procedures.selectors import procedure_get_published
from madoguchi.procedures.services import draft_start
from madoguchi.tenants.models import Municipality
from tests.api.support import KYUFUKIN, PNG, publish_kyufukin, use_temporary_media
from tests.isolation import Tenant

DOCUMENT = FieldSpec.from_dict(
    {
        "key": "id_document",
        "type": "file",
        "label_ja": "本人確認書類",
        "options": {"accept": ["image/png", "application/pdf"], "max_bytes": 1000},
    }
)
TWO_FILES = ProcedureDefinition.from_dict(
    {
        "code": "two-files",
        "name_ja": "表と裏",
        "department": "welfare",
        "steps": [
            {
                "key": "docs",
                "title_ja": "書類",
                "fields": [
                    {"key": "front", "type": "file", "label_ja": "表面",
                     "options": {"accept": ["image/png"]}},
                    {"key": "back", "type": "file", "label_ja": "裏面",
                     "options": {"accept": ["image/png"]}},
                    {"key": "note", "type": "text", "label_ja": "備考", "required": False},
                ],
            }
        ],
        "workflow": {"initial": "received", "states": {"received": {"label_ja": "受付済"}}},
    }
)  # fmt: skip


@pytest.fixture(autouse=True)
def media_root(settings: Settings, tmp_path: Path) -> Path:
    return use_temporary_media(settings, tmp_path)


def stored_files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


def store(
    municipality: Municipality, content: bytes = PNG, **kwargs: Any
) -> tuple[Attachment, str]:
    return attachment_store(
        municipality=municipality,
        stream=io.BytesIO(content),
        original_name=kwargs.pop("original_name", "免許証.png"),
        field=kwargs.pop("field", DOCUMENT),
        **kwargs,
    )


def test_a_checked_file_is_stored_privately_with_a_hashed_token(
    tenant_a: Tenant, media_root: Path
) -> None:
    attachment, token = store(tenant_a.municipality, original_name="../../免許証\u202e.png")

    attachment.refresh_from_db()
    assert attachment.municipality == tenant_a.municipality
    assert (attachment.field_key, attachment.content_type, attachment.size) == (
        "id_document",
        "image/png",
        len(PNG),
    )
    assert attachment.sha256 == hashlib.sha256(PNG).hexdigest()
    assert attachment.original_name == "免許証.png"
    assert attachment.upload_token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in attachment.upload_token_hash
    [path] = stored_files(media_root)
    assert path == media_root / attachment.storage_name
    assert path.read_bytes() == PNG
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_file_kept_in_a_temporary_file_is_stored_too(tenant_a: Tenant) -> None:
    upload = TemporaryUploadedFile("id.png", "image/png", len(PNG), None)
    upload.write(PNG)
    upload.seek(0)
    assert upload.file is not None

    attachment, _token = attachment_store(
        municipality=tenant_a.municipality,
        stream=upload.file,
        original_name="id.png",
        field=DOCUMENT,
    )

    assert attachment.size == len(PNG)


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"", UploadErrorCode.EMPTY),
        (b"<html></html>", UploadErrorCode.TYPE_NOT_ALLOWED),
        (PNG + b"\x00" * 1000, UploadErrorCode.TOO_LARGE),
    ],
)
def test_a_refused_file_leaves_nothing(
    tenant_a: Tenant, media_root: Path, content: bytes, code: UploadErrorCode
) -> None:
    with pytest.raises(UploadRejected) as caught:
        store(tenant_a.municipality, content)

    assert caught.value.code == code
    assert not Attachment.objects.exists()
    assert stored_files(media_root) == []


def test_a_field_accepting_only_types_unknowable_by_content_takes_nothing(
    tenant_a: Tenant,
) -> None:
    csv = FieldSpec.from_dict(
        {"key": "list", "type": "file", "label_ja": "名簿", "options": {"accept": ["text/csv"]}}
    )

    with pytest.raises(UploadRejected) as caught:
        store(tenant_a.municipality, b"name,age\n", field=csv)

    assert caught.value.code == UploadErrorCode.TYPE_NOT_ALLOWED


def test_only_file_fields_take_files(tenant_a: Tenant) -> None:
    text = FieldSpec.from_dict({"key": "name", "type": "text", "label_ja": "氏名"})

    with pytest.raises(ValueError, match="not a file field"):
        store(tenant_a.municipality, field=text)


def test_a_failed_insert_removes_the_written_file(
    tenant_a: Tenant, media_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(**kwargs: object) -> Attachment:
        raise RuntimeError("database gone")

    monkeypatch.setattr(Attachment.objects, "create", refuse)

    with pytest.raises(RuntimeError):
        store(tenant_a.municipality)

    assert stored_files(media_root) == []


def draft_of(tenant: Tenant) -> Draft:
    publish_kyufukin(tenant.municipality)
    procedure = procedure_get_published(municipality=tenant.municipality, code=KYUFUKIN)
    assert procedure is not None
    return draft_start(municipality=tenant.municipality, procedure=procedure)


def test_an_upload_into_a_draft_belongs_to_it(tenant_a: Tenant) -> None:
    draft = draft_of(tenant_a)

    attachment, _token = store(tenant_a.municipality, draft=draft)

    assert attachment.draft == draft


def test_a_draft_of_another_municipality_is_refused(
    tenant_a: Tenant, tenant_b: Tenant, media_root: Path
) -> None:
    draft = draft_of(tenant_b)

    with pytest.raises(ValueError, match="another municipality"):
        store(tenant_a.municipality, draft=draft)

    assert not Attachment.objects.exists()
    assert stored_files(media_root) == []


def test_attachments_are_claimed_only_with_their_token_and_municipality(
    tenant_a: Tenant, tenant_b: Tenant
) -> None:
    mine, my_token = store(tenant_a.municipality)
    other, other_token = store(tenant_a.municipality)
    theirs, their_token = store(tenant_b.municipality)

    claimed = attachments_claimed(
        municipality=tenant_a.municipality,
        claims=[
            (str(mine.pk).upper(), my_token),
            (str(other.pk), "wrong"),
            (str(theirs.pk), their_token),
            ("not-a-uuid", my_token),
            (str(uuid.uuid4()), my_token),
        ],
    )

    assert claimed == {str(mine.pk): mine}
    assert other_token != my_token


def test_an_attachment_without_a_token_is_never_claimed(tenant_a: Tenant) -> None:
    attachment, _token = store(tenant_a.municipality)
    Attachment.objects.filter(pk=attachment.pk).update(upload_token_hash="")

    assert (
        attachments_claimed(municipality=tenant_a.municipality, claims=[(str(attachment.pk), "")])
        == {}
    )


def test_the_token_hash_is_plain_sha256() -> None:
    assert upload_token_hash("abc") == hashlib.sha256(b"abc").hexdigest()
    assert len(upload_token_hash("\ud800")) == 64  # a lone surrogate does not raise


def attachment(field_key: str) -> Attachment:
    return Attachment(
        id=uuid.uuid4(),
        field_key=field_key,
        content_type="image/png",
        size=70,
        original_name="表.png",
    )


def test_file_answers_take_the_stored_files_description() -> None:
    front = attachment("front")
    answers = {
        "front": {
            "id": str(front.pk).upper(),
            "content_type": "application/pdf",
            "size": 1,
            "name": "x",
        },
        "note": "備考",
    }

    bound, usable = file_answers_bind(
        definition=TWO_FILES, answers=answers, attachments={str(front.pk): front}
    )

    assert bound == {
        "front": {"id": str(front.pk), "content_type": "image/png", "size": 70, "name": "表.png"},
        "note": "備考",
    }
    assert usable == {str(front.pk)}


def test_a_file_counts_only_for_the_field_it_was_uploaded_for() -> None:
    front = attachment("front")
    reference = {"id": str(front.pk), "content_type": "image/png", "size": 70, "name": "表.png"}

    moved = file_answers_bind(
        definition=TWO_FILES, answers={"back": reference}, attachments={str(front.pk): front}
    )
    twice = file_answers_bind(
        definition=TWO_FILES,
        answers={"front": reference, "back": reference},
        attachments={str(front.pk): front},
    )

    assert moved == ({"back": reference}, set())
    assert twice[1] == set()


@pytest.mark.parametrize("answer", ["front.png", None, {"id": 5}, {"id": "not-a-uuid"}])
def test_answers_that_name_no_stored_file_are_left_for_the_field_rules(answer: object) -> None:
    front = attachment("front")

    bound, usable = file_answers_bind(
        definition=TWO_FILES, answers={"front": answer}, attachments={str(front.pk): front}
    )

    assert bound == {"front": answer}
    assert usable == set()
