"""Tests for madoguchi.procedures.api: catalogue, uploads, submission and status over JSON."""

from __future__ import annotations

import datetime
import hashlib
import json
import re
import uuid
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from django.conf import settings as django_settings
from django.test import Client
from pytest_django.fixtures import Settings

from madoguchi.procedures.catalogue import catalogue_definition
from madoguchi.procedures.fieldtypes import answers_json_schema
from madoguchi.procedures.models import Application, Attachment, Procedure
from madoguchi.procedures.receipts import receipt_number_new, receipt_number_parse
from madoguchi.procedures.selectors import definition_of
from tests.api.support import (
    KYUFUKIN,
    PNG,
    api_url,
    claim,
    error_of,
    file_answer,
    freeze_ratelimit_clock,
    post_application,
    post_json,
    post_raw,
    publish_kyufukin,
    upload,
    upload_ok,
    use_temporary_media,
    valid_answers,
)
from tests.isolation import Tenant, assert_cannot_change, assert_cannot_read, snapshot

HTML = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"
RETRY_AFTER = "50"  # the frozen clock stands 10 s into a 60 s window


@pytest.fixture(autouse=True)
def media_root(settings: Settings, tmp_path: Path) -> Path:
    return use_temporary_media(settings, tmp_path)


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    freeze_ratelimit_clock(monkeypatch)


@pytest.fixture
def kobe(tenant_a: Tenant) -> Tenant:
    """神戸市 with the 特別定額給付金 published in its 福祉課."""
    publish_kyufukin(tenant_a.municipality)
    return tenant_a


@pytest.fixture
def sayo(tenant_b: Tenant) -> Tenant:
    """佐用町 with the same procedure published."""
    publish_kyufukin(tenant_b.municipality)
    return tenant_b


def apply(client: Client, slug: str = "kobe", **body: Any) -> dict[str, Any]:
    """Upload the document and submit valid answers; the 201 response's JSON."""
    uploaded = upload_ok(client, slug)
    payload = {
        "answers": valid_answers(file_answer(uploaded)),
        "uploads": [claim(uploaded)],
        **body,
    }
    response = post_application(client, slug, payload)
    assert response.status_code == 201, response.content
    result = response.json()
    assert isinstance(result, dict)
    return result


def lookup(client: Client, receipt_number: str, secret: str, slug: str = "kobe") -> Any:
    body = {"receipt_number": receipt_number, "secret": secret}
    return post_json(client, api_url(slug, "status"), body)


def wrong_receipt_number(real: str) -> str:
    while True:
        number = receipt_number_new()
        if number != real:
            return number


# --- catalogue -----------------------------------------------------------------------------------


def test_the_list_shows_published_procedures_with_their_department(
    client: Client, kobe: Tenant
) -> None:
    response = client.get(api_url("kobe", "procedures"))

    assert response.status_code == 200
    assert response.json() == [
        {
            "code": KYUFUKIN,
            "name_ja": "特別定額給付金の申請",
            "name_en": "Special Cash Payment application",
            "description_ja": catalogue_definition(KYUFUKIN)["description_ja"].strip(),
            "department": "福祉課",
            "fee": 0,
            "processing_days": 20,
        }
    ]


def test_the_list_leaves_out_unpublished_procedures(client: Client, kobe: Tenant) -> None:
    Procedure.objects.filter(municipality=kobe.municipality).update(is_published=False)

    response = client.get(api_url("kobe", "procedures"))

    assert response.status_code == 200
    assert response.json() == []


@pytest.mark.parametrize("slug", ["nowhere", "kobe%00", "%E7%A5%9E%E6%88%B8", "a" * 300])
def test_an_unknown_municipality_is_404(client: Client, kobe: Tenant, slug: str) -> None:
    response = client.get(api_url(slug, "procedures"))

    assert response.status_code == 404
    assert error_of(response) == {
        "code": "municipality_not_found",
        "message": "この自治体のオンライン窓口はありません。URLをご確認ください。",
        "field": None,
        "details": [],
    }


def test_an_inactive_municipality_is_404(client: Client, kobe: Tenant) -> None:
    kobe.municipality.is_active = False
    kobe.municipality.save(update_fields=["is_active"])

    response = client.get(api_url("kobe", f"procedures/{KYUFUKIN}"))

    assert response.status_code == 404
    assert error_of(response)["code"] == "municipality_not_found"


def test_the_definition_has_steps_and_the_answers_schema(client: Client, kobe: Tenant) -> None:
    procedure = Procedure.objects.get(municipality=kobe.municipality, code=KYUFUKIN)
    assert procedure.current_version is not None
    definition = definition_of(procedure.current_version)

    response = client.get(api_url("kobe", f"procedures/{KYUFUKIN}"))

    assert response.status_code == 200
    body = response.json()
    assert body["code"] == KYUFUKIN
    assert body["department"] == "福祉課"
    assert body["version"] == 1
    assert body["steps"] == [
        {
            "key": "applicant",
            "title": "申請者（世帯主）",
            "fields": [
                "name",
                "name_kana",
                "birth_date",
                "postal_code",
                "address",
                "phone",
                "email",
            ],
        },
        {"key": "household", "title": "世帯員", "fields": ["members"]},
        {"key": "bank", "title": "振込先口座", "fields": ["account"]},
        {"key": "documents", "title": "本人確認書類", "fields": ["id_document", "agreement"]},
    ]
    assert body["answers_schema"] == answers_json_schema(definition.fields)
    assert body["answers_schema"]["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_valid_answers_satisfy_the_published_schema(client: Client, kobe: Tenant) -> None:
    """The schema a client validates against accepts what the server accepts."""
    schema = client.get(api_url("kobe", f"procedures/{KYUFUKIN}")).json()["answers_schema"]
    uploaded = upload_ok(client, "kobe")

    answers = valid_answers(file_answer(uploaded))

    assert jsonschema_rs.validator_for(schema).is_valid(answers)
    assert not jsonschema_rs.validator_for(schema).is_valid({**answers, "account": "x"})


def _required_strings(schema: dict[str, Any], path: str = "") -> dict[str, Any]:
    """Every required property that is a free string (no enum or const), by its path, with
    its schema; nested objects and array items included."""
    found: dict[str, Any] = {}
    required = set(schema.get("required", []))
    for key, sub in schema.get("properties", {}).items():
        types = sub.get("type")
        types = types if isinstance(types, list) else [types]
        if key in required and "string" in types and not {"enum", "const"} & set(sub):
            found[f"{path}{key}"] = sub
        if "object" in types:
            found.update(_required_strings(sub, f"{path}{key}."))
        if "array" in types and isinstance(sub.get("items"), dict):
            found.update(_required_strings(sub["items"], f"{path}{key}[]."))
    return found


def test_the_published_schema_refuses_empty_required_strings(client: Client, kobe: Tenant) -> None:
    """Before, "" passed the schema of every required text field; the server refused it."""
    schema = client.get(api_url("kobe", f"procedures/{KYUFUKIN}")).json()["answers_schema"]
    strings = _required_strings(schema)

    assert {"name", "name_kana", "address", "account.bank_code", "id_document.id"} <= set(strings)
    # A file's name is for display only and may be empty; the server accepts it so.
    assert strings.pop("id_document.name")["minLength"] == 0
    assert {path: sub.get("minLength") for path, sub in strings.items()} == dict.fromkeys(
        strings, 1
    )
    uploaded = upload_ok(client, "kobe")
    answers = valid_answers(file_answer(uploaded))
    assert not jsonschema_rs.validator_for(schema).is_valid({**answers, "name": ""})
    assert jsonschema_rs.validator_for(schema).is_valid(answers)


@pytest.mark.parametrize("blank", ["", "   ", "\u3000"])
def test_an_empty_required_string_is_refused_with_the_required_code(
    client: Client, kobe: Tenant, blank: str
) -> None:
    uploaded = upload_ok(client, "kobe")
    answers = {**valid_answers(file_answer(uploaded)), "name": blank}

    response = post_application(client, "kobe", {"answers": answers})

    assert response.status_code == 422
    error = error_of(response)
    assert (error["code"], error["field"]) == ("invalid_answers", "name")
    assert [(d["field"], d["code"]) for d in error["details"]] == [("name", "required")]
    assert not Application.objects.exists()


def test_a_new_version_of_the_definition_is_numbered(client: Client, kobe: Tenant) -> None:
    publish_kyufukin(kobe.municipality, processing_days=30)

    body = client.get(api_url("kobe", f"procedures/{KYUFUKIN}")).json()

    assert (body["version"], body["processing_days"]) == (2, 30)


@pytest.mark.parametrize("code", ["no-such-procedure", "Teigaku-Kyufukin", "x" * 70])
def test_an_unknown_procedure_is_404(client: Client, kobe: Tenant, code: str) -> None:
    response = client.get(api_url("kobe", f"procedures/{code}"))

    assert response.status_code == 404
    assert error_of(response) == {
        "code": "procedure_not_found",
        "message": "この手続きは見つかりません。手続きコードをご確認ください。",
        "field": None,
        "details": [],
    }


# --- uploads -------------------------------------------------------------------------------------


def test_an_upload_is_checked_stored_and_answered_with_a_token(
    client: Client, kobe: Tenant, media_root: Path
) -> None:
    response = upload(client, "kobe", name="免許証.png")

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "token", "content_type", "size", "name"}
    assert (body["content_type"], body["size"], body["name"]) == (
        "image/png",
        len(PNG),
        "免許証.png",
    )
    attachment = Attachment.objects.get(pk=body["id"])
    assert attachment.municipality == kobe.municipality
    assert attachment.field_key == "id_document"
    assert attachment.sha256 == hashlib.sha256(PNG).hexdigest()
    assert attachment.upload_token_hash == hashlib.sha256(body["token"].encode()).hexdigest()
    assert attachment.application is None
    assert len(body["token"]) >= 40
    assert (media_root / attachment.storage_name).read_bytes() == PNG


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (HTML, "type_not_allowed"),
        (b"GIF89a" + b"\x00" * 40, "type_not_allowed"),  # a real image type the field refuses
        (PNG + b"\x00" * 5 * 1024 * 1024, "too_large"),  # the field allows 5 MB
    ],
)
def test_a_refused_upload_stores_nothing(
    client: Client, kobe: Tenant, media_root: Path, content: bytes, code: str
) -> None:
    response = upload(client, "kobe", content=content, name="申請書.png")

    assert response.status_code == 422
    error = error_of(response)
    assert (error["code"], error["field"]) == (code, "id_document")
    assert not Attachment.objects.exists()
    assert not [p for p in media_root.rglob("*") if p.is_file()]


def test_an_empty_file_is_refused(client: Client, kobe: Tenant) -> None:
    response = upload(client, "kobe", content=b"")

    assert response.status_code == 422
    assert error_of(response)["code"] in {"empty", "invalid_request"}
    assert not Attachment.objects.exists()


def test_a_request_over_the_upload_limit_is_413(
    client: Client, kobe: Tenant, settings: Settings
) -> None:
    settings.UPLOAD_MAX_BYTES = 100

    response = upload(client, "kobe", content=PNG + b"\x00" * 1000)

    assert response.status_code == 413
    assert error_of(response)["code"] == "body_too_large"
    assert not Attachment.objects.exists()


@pytest.mark.parametrize("field", ["name", "members", "no_such_field"])
def test_an_upload_names_a_file_field(client: Client, kobe: Tenant, field: str) -> None:
    response = upload(client, "kobe", field=field)

    assert response.status_code == 422
    error = error_of(response)
    assert (error["code"], error["field"]) == ("file_field_not_found", field)


def test_an_upload_to_an_unknown_procedure_is_404(client: Client, kobe: Tenant) -> None:
    response = upload(client, "kobe", procedure="juminhyo")

    assert response.status_code == 404
    assert error_of(response)["code"] == "procedure_not_found"


def test_an_upload_without_file_or_parameters_is_an_invalid_request(
    client: Client, kobe: Tenant
) -> None:
    response = client.post(api_url("kobe", "uploads"), data={"other": "x"})

    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "invalid_request"
    assert [(d["field"], d["code"]) for d in error["details"]] == [
        ("procedure", "missing"),
        ("field", "missing"),
        ("file", "missing"),
    ]


# --- submission ----------------------------------------------------------------------------------


def test_a_valid_submission_with_an_upload_is_received(client: Client, kobe: Tenant) -> None:
    uploaded = upload_ok(client, "kobe")
    body = {"answers": valid_answers(file_answer(uploaded)), "uploads": [claim(uploaded)]}

    response = post_application(client, "kobe", body)

    assert response.status_code == 201
    result = response.json()
    application = Application.objects.get()
    assert result == {
        "receipt_number": application.receipt_number,
        "receipt_display": f"{application.receipt_number[:5]}-{application.receipt_number[5:]}",
        "secret": result["secret"],
        "state": "received",
        "state_label": "受付済",
        "expected_completion": application.due_date.isoformat(),
    }
    assert receipt_number_parse(result["receipt_number"]) == application.receipt_number
    assert re.fullmatch(r"[ACDEFGHJKMNPQRTUVWXY34679]{8}", result["secret"])
    assert application.municipality == kobe.municipality
    assert application.channel == "api"
    assert application.answers["id_document"] == file_answer(uploaded)
    assert application.answers["account"]["holder_name"] == "ｺｳﾍﾞ ﾀﾛｳ"
    assert Attachment.objects.get().application == application


def test_the_receipt_then_shows_the_status(client: Client, kobe: Tenant) -> None:
    result = apply(client)

    response = lookup(client, result["receipt_number"], result["secret"])

    assert response.status_code == 200
    status = response.json()
    application = Application.objects.get()
    assert {k: v for k, v in status.items() if k not in {"state_changed_at", "submitted_at"}} == {
        "receipt_number": result["receipt_number"],
        "receipt_display": result["receipt_display"],
        "procedure_name": "特別定額給付金の申請",
        "state": "received",
        "state_label": "受付済",
        "expected_completion": application.due_date.isoformat(),
        "resident_action": "審査が始まるまでお待ちください。",
        "public_message": "",
        "is_final": False,
    }
    submitted = datetime.datetime.fromisoformat(status["submitted_at"])
    assert abs(submitted - application.submitted_at) < datetime.timedelta(milliseconds=1)
    assert submitted.utcoffset() == datetime.timedelta(hours=9)  # shown in 日本時間


def test_the_stored_file_not_the_clients_description_is_kept(client: Client, kobe: Tenant) -> None:
    uploaded = upload_ok(client, "kobe")
    described = {
        "id": uploaded["id"],
        "content_type": "application/pdf",
        "size": 1,
        "name": "x.pdf",
    }
    body = {"answers": valid_answers(described), "uploads": [claim(uploaded)]}

    response = post_application(client, "kobe", body)

    assert response.status_code == 201
    assert Application.objects.get().answers["id_document"] == file_answer(uploaded)


@pytest.mark.parametrize("via", ["body", "header"])
def test_the_same_idempotency_key_returns_the_first_application(
    client: Client, kobe: Tenant, via: str
) -> None:
    uploaded = upload_ok(client, "kobe")
    body: dict[str, Any] = {
        "answers": valid_answers(file_answer(uploaded)),
        "uploads": [claim(uploaded)],
    }
    headers = {}
    if via == "body":
        body["idempotency_key"] = "order-2026_0001"
    else:
        headers["HTTP_IDEMPOTENCY_KEY"] = "order-2026_0001"

    first = post_application(client, "kobe", body, **headers)
    again = post_application(client, "kobe", body, **headers)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == {**first.json(), "secret": None}
    assert Application.objects.count() == 1


def test_a_key_replayed_with_other_answers_is_refused_and_reveals_nothing(
    client: Client, kobe: Tenant
) -> None:
    """Before, anyone re-sending a key got the first submitter's receipt number, state and
    expected completion, whatever they sent."""
    first = apply(client, idempotency_key="order-2026_0001")
    other = Client(REMOTE_ADDR="198.51.100.23")
    uploaded = upload_ok(other, "kobe")
    answers = {**valid_answers(file_answer(uploaded)), "name": "須磨 一郎"}
    body = {"answers": answers, "uploads": [claim(uploaded)], "idempotency_key": "order-2026_0001"}

    response = post_application(other, "kobe", body)

    assert response.status_code == 422
    error = error_of(response)
    assert (error["code"], error["field"]) == ("idempotency_key_reused", "idempotency_key")
    assert first["receipt_number"] not in response.content.decode()
    assert Application.objects.count() == 1


def test_a_key_replayed_with_invalid_answers_gets_their_errors(
    client: Client, kobe: Tenant
) -> None:
    first = apply(client, idempotency_key="order-2026_0002")

    response = post_application(
        Client(REMOTE_ADDR="198.51.100.24"),
        "kobe",
        {"answers": {}, "idempotency_key": "order-2026_0002"},
    )

    assert response.status_code == 422
    assert error_of(response)["code"] == "invalid_answers"
    assert first["receipt_number"] not in response.content.decode()
    assert Application.objects.count() == 1


def test_header_and_body_keys_must_agree(client: Client, kobe: Tenant) -> None:
    uploaded = upload_ok(client, "kobe")
    body = {
        "answers": valid_answers(file_answer(uploaded)),
        "uploads": [claim(uploaded)],
        "idempotency_key": "one",
    }

    response = post_application(client, "kobe", body, HTTP_IDEMPOTENCY_KEY="two")

    assert response.status_code == 422
    error = error_of(response)
    assert (error["code"], error["field"]) == ("idempotency_key_conflict", "idempotency_key")
    assert not Application.objects.exists()


def test_a_key_used_for_another_procedure_is_a_conflict(client: Client, kobe: Tenant) -> None:
    publish_kyufukin(kobe.municipality, code="teigaku-kyufukin-2")
    apply(client, idempotency_key="same-key")
    uploaded = upload_ok(client, "kobe", procedure="teigaku-kyufukin-2")
    body = {
        "answers": valid_answers(file_answer(uploaded)),
        "uploads": [claim(uploaded)],
        "idempotency_key": "same-key",
    }

    response = post_application(client, "kobe", body, code="teigaku-kyufukin-2")

    assert response.status_code == 422
    assert error_of(response)["code"] == "idempotency_key_conflict"
    assert Application.objects.count() == 1


@pytest.mark.parametrize("key", ["", "has space", "日本語", "a" * 65, "semi;colon"])
def test_a_malformed_idempotency_key_is_an_invalid_request(
    client: Client, kobe: Tenant, key: str
) -> None:
    response = post_application(client, "kobe", {"answers": {}, "idempotency_key": key})

    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "invalid_request"
    assert [(d["field"], d["code"]) for d in error["details"]] == [
        ("idempotency_key", "string_pattern_mismatch")
    ]


def test_every_failing_answer_is_listed_in_definition_order(client: Client, kobe: Tenant) -> None:
    response = post_application(client, "kobe", {"answers": {}})

    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "invalid_answers"
    assert error["field"] == "name"
    assert [(d["field"], d["code"], d["index"], d["subfield"]) for d in error["details"]] == [
        ("name", "required", None, None),
        ("name_kana", "required", None, None),
        ("birth_date", "required", None, None),
        ("postal_code", "required", None, None),
        ("address", "required", None, None),
        ("phone", "required", None, None),
        ("account", "required", None, None),
        ("id_document", "required", None, None),
        ("agreement", "required", None, None),
    ]
    assert error["details"][0]["message"] == "氏名を入力してください。"
    assert not Application.objects.exists()


def test_group_items_and_compound_parts_are_named(client: Client, kobe: Tenant) -> None:
    uploaded = upload_ok(client, "kobe")
    members = [
        {"name": "神戸 花子", "name_kana": "コウベ ハナコ", "birth_date": "1982-05-05",
         "relationship": "spouse"},
        {"name": "", "name_kana": "コウベ ジロウ", "birth_date": "2010-01-01",
         "relationship": "cousin"},
    ]  # fmt: skip
    answers = valid_answers(
        file_answer(uploaded),
        members=members,
        account={**valid_answers("")["account"], "bank_code": "12"},
    )

    response = post_application(client, "kobe", {"answers": answers, "uploads": [claim(uploaded)]})

    assert response.status_code == 422
    error = error_of(response)
    assert error["field"] == "members"
    assert [(d["field"], d["code"], d["index"], d["subfield"]) for d in error["details"]] == [
        ("members", "required", 1, "name"),
        ("members", "choice_invalid", 1, "relationship"),
        ("account", "bank_code_format", None, "bank_code"),
    ]
    assert not Application.objects.exists()
    assert Attachment.objects.get().application is None


@pytest.mark.parametrize("answer", ["id.png", 42, ["x"], {"id": "not-a-uuid"}])
def test_a_file_answer_that_is_no_reference_is_refused(
    client: Client, kobe: Tenant, answer: object
) -> None:
    response = post_application(client, "kobe", {"answers": valid_answers(answer)})

    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "invalid_answers"
    assert [(d["field"], d["code"]) for d in error["details"]] == [
        ("id_document", "file_reference")
    ]


@pytest.mark.parametrize("token", [None, "wrong-token", "x" * 128])
def test_a_file_is_only_used_with_its_token(
    client: Client, kobe: Tenant, token: str | None
) -> None:
    uploaded = upload_ok(client, "kobe")
    uploads = [] if token is None else [{"id": uploaded["id"], "token": token}]
    body = {"answers": valid_answers(file_answer(uploaded)), "uploads": uploads}

    response = post_application(client, "kobe", body)

    assert response.status_code == 422
    assert [(d["field"], d["code"]) for d in error_of(response)["details"]] == [
        ("id_document", "file_unknown")
    ]
    assert not Application.objects.exists()
    assert Attachment.objects.get().application is None


def test_a_file_is_used_by_one_application_only(client: Client, kobe: Tenant) -> None:
    uploaded = upload_ok(client, "kobe")
    body = {"answers": valid_answers(file_answer(uploaded)), "uploads": [claim(uploaded)]}
    assert post_application(client, "kobe", body).status_code == 201

    response = post_application(client, "kobe", body)

    assert response.status_code == 422
    assert [(d["field"], d["code"]) for d in error_of(response)["details"]] == [
        ("id_document", "file_unknown")
    ]
    assert Application.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "details"),
    [
        ({"answers": []}, [("answers", "dict_type")]),
        ({"answers": "name=太郎"}, [("answers", "dict_type")]),
        ({"answers": None}, [("answers", "dict_type")]),
        ({}, [("answers", "missing")]),
        ([{"answers": {}}], [("body", "model_attributes_type")]),
        ("answers", [("body", "model_attributes_type")]),
        ({"answers": {}, "extra": 1}, [("extra", "extra_forbidden")]),
        ({"answers": {}, "uploads": {"id": "x"}}, [("uploads", "list_type")]),
        (
            {"answers": {}, "uploads": [{"id": "x", "token": "t"}]},
            [("uploads[0].id", "uuid_parsing")],
        ),
        (
            {"answers": {}, "uploads": [{"id": str(uuid.uuid4())}] * 51},
            [("uploads", "too_long")],
        ),
    ],
)
def test_a_body_of_the_wrong_shape_is_an_invalid_request(
    client: Client, kobe: Tenant, body: object, details: list[tuple[str, str]]
) -> None:
    response = post_application(client, "kobe", body)

    assert response.status_code == 422
    error = error_of(response)
    assert (error["code"], error["field"]) == ("invalid_request", None)
    assert [(d["field"], d["code"]) for d in error["details"]] == details


@pytest.mark.parametrize(
    "raw",
    [
        b'{"answers": {',
        b'{"answers": {"name": NaN}}',
        b'{"answers": {"name": Infinity}}',
        b'{"answers": {"name": "\\ud800"}}',
        b'{"answers": {"name": "\xff\xfe"}}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"answers": {"n": ' + b"9" * 5000 + b"}}",
    ],
    ids=["truncated", "nan", "infinity", "lone-surrogate", "not-utf8", "deep", "huge-number"],
)
def test_malformed_json_is_400(client: Client, kobe: Tenant, raw: bytes) -> None:
    response = post_raw(client, api_url("kobe", f"procedures/{KYUFUKIN}/applications"), raw)

    assert response.status_code == 400
    assert error_of(response)["code"] == "malformed_json"
    assert not Application.objects.exists()


def test_ten_megabytes_of_json_are_413(client: Client, kobe: Tenant) -> None:
    raw = json.dumps({"answers": {"name": "あ" * 3_500_000}}).encode()
    assert len(raw) > 10_000_000

    response = post_raw(client, api_url("kobe", f"procedures/{KYUFUKIN}/applications"), raw)

    assert response.status_code == 413
    assert error_of(response)["code"] == "body_too_large"


def test_nul_and_control_characters_in_answers_are_refused(client: Client, kobe: Tenant) -> None:
    answers = valid_answers("", name="神戸\x00太郎", address="神戸市\x1b[31m")

    response = post_application(client, "kobe", {"answers": answers})

    assert response.status_code == 422
    details = [(d["field"], d["code"]) for d in error_of(response)["details"]]
    assert ("name", "control_character") in details
    assert ("address", "control_character") in details


def test_an_empty_body_is_an_invalid_request(client: Client, kobe: Tenant) -> None:
    response = post_raw(client, api_url("kobe", f"procedures/{KYUFUKIN}/applications"), b"")

    assert response.status_code == 422
    assert error_of(response)["code"] == "invalid_request"


def test_submitting_to_an_unknown_procedure_is_404(client: Client, kobe: Tenant) -> None:
    response = post_application(client, "kobe", {"answers": {}}, code="juminhyo")

    assert response.status_code == 404
    assert error_of(response)["code"] == "procedure_not_found"


# --- rate limits ---------------------------------------------------------------------------------


def test_submissions_are_limited_per_client(
    client: Client, kobe: Tenant, frozen_clock: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(django_settings, "API_SUBMISSIONS_PER_MINUTE", 2)
    uploaded = upload_ok(client, "kobe")
    valid = {"answers": valid_answers(file_answer(uploaded)), "uploads": [claim(uploaded)]}
    for _ in range(2):
        assert post_application(client, "kobe", {"answers": {}}).status_code == 422

    response = post_application(client, "kobe", valid)

    assert response.status_code == 429
    assert response["Retry-After"] == RETRY_AFTER
    assert error_of(response)["code"] == "rate_limited"
    assert not Application.objects.exists()
    other = Client(REMOTE_ADDR="192.0.2.7")
    assert post_application(other, "kobe", valid).status_code == 201


def test_uploads_are_limited_per_client(
    client: Client, kobe: Tenant, frozen_clock: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(django_settings, "API_UPLOADS_PER_MINUTE", 1)
    upload_ok(client, "kobe")

    response = upload(client, "kobe")

    assert response.status_code == 429
    assert response["Retry-After"] == RETRY_AFTER
    assert error_of(response)["code"] == "rate_limited"
    assert Attachment.objects.count() == 1


def test_status_lookups_are_limited_per_client(
    client: Client, kobe: Tenant, frozen_clock: None, settings: Settings
) -> None:
    result = apply(client)
    settings.STATUS_LOOKUP_RATE_PER_CLIENT = 2
    for _ in range(2):
        assert lookup(client, result["receipt_number"], result["secret"]).status_code == 200

    response = lookup(client, result["receipt_number"], result["secret"])

    assert response.status_code == 429
    assert response["Retry-After"] == RETRY_AFTER
    error = error_of(response)
    assert (error["code"], error["field"]) == ("rate_limited", None)


def test_a_receipt_is_locked_after_wrong_secrets(
    client: Client, kobe: Tenant, frozen_clock: None, settings: Settings
) -> None:
    result = apply(client)
    settings.STATUS_LOOKUP_MAX_FAILURES = 3
    for _ in range(3):
        assert lookup(client, result["receipt_number"], "AAAAAAAA").status_code == 404

    response = lookup(client, result["receipt_number"], result["secret"])

    assert response.status_code == 429
    assert response["Retry-After"] == "1790"  # 10 s into the 1800 s lock window
    assert error_of(response)["code"] == "receipt_locked"


# --- status --------------------------------------------------------------------------------------


def test_a_wrong_number_and_a_wrong_secret_get_the_same_answer(
    client: Client, kobe: Tenant
) -> None:
    result = apply(client)

    wrong_secret = lookup(client, result["receipt_number"], "AAAAAAAA")
    wrong_number = lookup(client, wrong_receipt_number(result["receipt_number"]), result["secret"])

    assert wrong_secret.status_code == wrong_number.status_code == 404
    assert wrong_secret.content == wrong_number.content
    assert error_of(wrong_secret) == {
        "code": "not_found",
        "message": (
            "受付番号または確認コードが正しくありません。控えの番号とコードをご確認ください。"
        ),
        "field": None,
        "details": [],
    }


@pytest.mark.parametrize(
    ("receipt", "secret", "code", "field"),
    [
        ("12345", "ACDEFGHJ", "receipt_format", "receipt_number"),
        ("abcdefghij", "ACDEFGHJ", "receipt_format", "receipt_number"),
        ("1234\x005678", "ACDEFGHJ", "receipt_format", "receipt_number"),
        ("check-digit", "ACDEFGHJ", "receipt_check_digit", "receipt_number"),
        ("valid", "   ", "secret_required", "secret"),
    ],
)
def test_a_malformed_lookup_is_400(
    client: Client, kobe: Tenant, receipt: str, secret: str, code: str, field: str
) -> None:
    real = receipt_number_new()
    if receipt == "check-digit":
        receipt = real[:-1] + str((int(real[-1]) + 1) % 10)
    elif receipt == "valid":
        receipt = real

    response = lookup(client, receipt, secret)

    assert response.status_code == 400
    error = error_of(response)
    assert (error["code"], error["field"]) == (code, field)


def test_a_lookup_needs_both_fields(client: Client, kobe: Tenant) -> None:
    response = post_json(client, api_url("kobe", "status"), {"receipt_number": "1234567890"})

    assert response.status_code == 422
    assert [(d["field"], d["code"]) for d in error_of(response)["details"]] == [
        ("secret", "missing")
    ]


# --- tenant isolation ----------------------------------------------------------------------------


def test_an_upload_of_one_municipality_cannot_be_used_in_another(
    client: Client, kobe: Tenant, sayo: Tenant
) -> None:
    uploaded = upload_ok(client, "kobe")
    body = {"answers": valid_answers(file_answer(uploaded)), "uploads": [claim(uploaded)]}
    before = snapshot(Attachment.objects.all())

    response = post_application(client, "sayo", body)

    assert response.status_code == 422
    assert [(d["field"], d["code"]) for d in error_of(response)["details"]] == [
        ("id_document", "file_unknown")
    ]
    assert not Application.objects.exists()
    assert snapshot(Attachment.objects.all()) == before


def test_a_receipt_of_one_municipality_is_not_found_under_another(
    client: Client, kobe: Tenant, sayo: Tenant
) -> None:
    result = apply(client)
    body = {"receipt_number": result["receipt_number"], "secret": result["secret"]}
    wrong = {"receipt_number": wrong_receipt_number(result["receipt_number"]), "secret": "ACDEFGHJ"}

    assert_cannot_change(
        client,
        api_url("sayo", "status"),
        json_body=body,
        state=lambda: snapshot(Application.objects.all()),
    )
    across = post_json(client, api_url("sayo", "status"), body)
    unknown = post_json(client, api_url("sayo", "status"), wrong)

    assert across.status_code == unknown.status_code == 404
    assert across.content == unknown.content


def test_a_procedure_of_one_municipality_is_not_shown_under_another(
    client: Client, kobe: Tenant, tenant_b: Tenant
) -> None:
    assert_cannot_read(
        client, api_url("sayo", f"procedures/{KYUFUKIN}"), must_not_contain=["特別定額給付金"]
    )
    assert client.get(api_url("sayo", "procedures")).json() == []
    response = upload(client, "sayo")
    assert response.status_code == 404
    assert not Attachment.objects.exists()


def test_the_limiter_writes_nothing_to_the_database(client: Client, kobe: Tenant) -> None:
    """A submission and a status lookup are counted in the counters cache: no statement of
    theirs touches the rate-limit table, so the limiter takes no database write lock."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from madoguchi.core.models import RateLimitCounter

    with CaptureQueriesContext(connection) as queries:
        created = apply(client)
        assert lookup(client, created["receipt_number"], created["secret"]).status_code == 200

    assert not [q for q in queries.captured_queries if "core_ratelimitcounter" in q["sql"]]
    assert not RateLimitCounter.objects.exists()
