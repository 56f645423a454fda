"""Helpers shared by the back-office tests: staff contexts, applications moved along, pages read.

The procedures come from the catalogue (``catalogue/*.yaml``) so that the tests follow the data:
the 特別定額給付金 is published for 神戸市's welfare department (福祉課) as in conftest.py.
"""

from __future__ import annotations

import io
import re
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from pytest_django import DjangoDbBlocker

from madoguchi.accounts.permissions import StaffContext
from madoguchi.audit.models import AuditEntry
from madoguchi.procedures.attachments import attachment_store
from madoguchi.procedures.catalogue import catalogue_definition
from madoguchi.procedures.definitions import ProcedureDefinition
from madoguchi.procedures.fieldtypes import FieldSpec
from madoguchi.procedures.models import (
    Application,
    Attachment,
    DuplicateMatch,
    InfoRequest,
    Note,
    ProcedureVersion,
    StateChange,
    TransferAccount,
)
from madoguchi.procedures.selectors import definition_of, procedure_get_published
from madoguchi.procedures.services import SubmitResult, application_submit, procedure_publish
from madoguchi.procedures.workflow import application_transition
from madoguchi.tenants.models import Municipality
from madoguchi.tenants.selectors import membership_list_for_user
from tests.isolation import Tenant, snapshot
from tests.procedures.conftest import ACTOR, attachment_new, kyufukin_answers

# Every role of the isolation kit; "clerk-other" is a clerk of the citizens department (市民課).
ROLES = ("admin", "supervisor", "clerk", "viewer", "clerk-other")
WELFARE = "福祉課"
CITIZENS = "市民課"

# A real 1×1 PNG and a minimal PDF: uploads are checked by their content.
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x00\x00\x00\x00"
    b":~\x9bU\x00\x00\x00\nIDATx\x9cc\xf8\x0f\x00\x01\x01\x01\x00\xb18\xf6\x14\x00\x00\x00\x00"
    b"IEND\xaeB`\x82"
)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
HTML = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"

_RECEIPT_LINK = re.compile(r'href="/[a-z0-9-]+/staff/applications/(\d{10})/"')


def staff_context(
    tenant: Tenant, role: str, municipality: Municipality | None = None
) -> StaffContext:
    """The StaffContext a staff page would build for ``role`` of ``tenant`` in ``municipality``."""
    user = tenant.staff[role]
    where = municipality or tenant.municipality
    memberships = tuple(membership_list_for_user(user=user, municipality=where))
    return StaffContext(user, where, memberships, "127.0.0.1")


def publish_catalogue(municipality: Municipality, code: str, department: str) -> ProcedureVersion:
    """Publish the catalogue's procedure ``code`` for ``department`` (a code of the kit)."""
    data = {**catalogue_definition(code), "department": department}
    return procedure_publish(municipality=municipality, data=data, actor=ACTOR)


def kyufukin_submit(
    version: ProcedureVersion,
    *,
    channel: str = "web",
    attachment: Attachment | None = None,
    **changes: Any,
) -> SubmitResult:
    """Submit valid 特別定額給付金 answers (``changes`` applied) with an identity document.

    Without ``attachment`` the document is a record only (no file under MEDIA_ROOT).
    """
    document = attachment or attachment_new(version.municipality)
    answers = kyufukin_answers(str(document.pk), **changes)
    answers["id_document"] = file_answer_of(document)
    return application_submit(
        municipality=version.municipality,
        version=version,
        answers=answers,
        channel=channel,
        actor=ACTOR,
        owned_attachments=[str(document.pk)],
    )


def file_answer_of(attachment: Attachment) -> dict[str, Any]:
    return {
        "id": str(attachment.pk),
        "content_type": attachment.content_type,
        "size": attachment.size,
        "name": attachment.original_name,
    }


def todoke_answers(**changes: Any) -> dict[str, Any]:
    """Valid answers to the 転入届（事前申請）, a procedure without files."""
    answers: dict[str, Any] = {
        "name": "長田 三郎",
        "name_kana": "ナガタ サブロウ",
        "birth_date": "1990-07-07",
        "phone": "078-611-2345",
        "moved_in_date": "2024-04-01",
        "postal_code": "653-0812",
        "address": "兵庫県神戸市長田区長田町1丁目1番1号",
        "previous_address": "大阪府大阪市北区中之島1丁目3番20号",
    }
    answers.update(changes)
    return answers


def todoke_submit(version: ProcedureVersion, **changes: Any) -> SubmitResult:
    return application_submit(
        municipality=version.municipality,
        version=version,
        answers=todoke_answers(**changes),
        channel="web",
        actor=ACTOR,
    )


def path_to(definition: ProcedureDefinition, state: str) -> list[str]:
    """The shortest list of states that leads from the initial state to ``state``."""
    paths: dict[str, list[str]] = {definition.initial_state: []}
    queue = deque([definition.initial_state])
    while queue:
        current = queue.popleft()
        for transition in definition.allowed_targets(current):
            if transition.target not in paths:
                paths[transition.target] = [*paths[current], transition.target]
                queue.append(transition.target)
    return paths[state]


def move(application: Application, *targets: str, staff: StaffContext) -> Application:
    """Take the application through ``targets``, giving a reason and items where required."""
    for target in targets:
        application = application_transition(
            application=application,
            target=target,
            staff=staff,
            reason="確認のため",
            missing_items="住民票の写しを送ってください。",
        )
    return application


def move_to(application: Application, state: str, *, staff: StaffContext) -> Application:
    """Take a fresh application to ``state`` along the shortest way of its definition."""
    return move(application, *path_to(definition_of(application.version), state), staff=staff)


def receipts_in(html: str) -> list[str]:
    """Receipt numbers linked to the console's application pages, in page order."""
    return _RECEIPT_LINK.findall(html)


def back_office_state(municipality: Municipality) -> dict[str, list[dict[str, Any]]]:
    """Every back-office row of the municipality, to compare before and after a refusal."""
    return {
        "applications": snapshot(Application.objects.filter(municipality=municipality)),
        "state_changes": snapshot(StateChange.objects.filter(municipality=municipality)),
        "info_requests": snapshot(InfoRequest.objects.filter(municipality=municipality)),
        "notes": snapshot(Note.objects.filter(municipality=municipality)),
        "attachments": snapshot(Attachment.objects.filter(municipality=municipality)),
        "duplicates": snapshot(DuplicateMatch.objects.filter(municipality=municipality)),
        "transfer_accounts": snapshot(TransferAccount.objects.filter(municipality=municipality)),
        "audit": snapshot(AuditEntry.objects.filter(municipality=municipality)),
    }


def new_audit(municipality: Municipality, since: int) -> list[AuditEntry]:
    """The municipality's audit entries with a primary key above ``since``, oldest first."""
    return list(AuditEntry.objects.filter(municipality=municipality, pk__gt=since).order_by("pk"))


def last_audit_pk() -> int:
    return AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def stored_file(
    municipality: Municipality, content: bytes, name: str, *, field_key: str = "id_document"
) -> Attachment:
    """A file really stored under MEDIA_ROOT (checked by content), not yet used."""
    spec = FieldSpec.from_dict(
        {
            "key": field_key,
            "type": "file",
            "label_ja": "書類",
            "options": {"accept": ["image/png", "image/jpeg", "application/pdf"]},
        }
    )
    attachment, _token = attachment_store(
        municipality=municipality, stream=io.BytesIO(content), original_name=name, field=spec
    )
    return attachment


@contextmanager
def shared_database(blocker: DjangoDbBlocker) -> Iterator[None]:
    """Data made inside lasts for a class of tests and is rolled back after it.

    The same arrangement as Django's TestCase.setUpTestData: one outer transaction, and each
    test in a savepoint of its own inside it.
    """
    with blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


# --- the resident's channels ---------------------------------------------------------------------


def wizard_submit(
    client: Client,
    tenant: Tenant,
    code: str,
    answers: dict[str, Any],
    files: dict[str, tuple[str, bytes]] | None = None,
) -> tuple[str, Any]:
    """Apply through the web wizard as a browser would: every step, then the review.

    ``answers`` are typed into the fields (groups as rows, bank accounts by part, checkboxes
    ticked when true); ``files`` maps a file field to the name and bytes uploaded there.
    Returns the draft's id and the response of the 申請を受け付けました page.
    """
    procedure = procedure_get_published(municipality=tenant.municipality, code=code)
    assert procedure is not None
    assert procedure.current_version is not None
    definition = definition_of(procedure.current_version)
    start = client.post(tenant.url(f"procedures/{code}/"))
    assert start.status_code == 302, start.status_code
    url = start["Location"]
    draft_id = url.split("/apply/", 1)[1].split("/", 1)[0]
    for step in definition.steps:
        assert url == tenant.url(f"apply/{draft_id}/{step.key}/"), url
        data: dict[str, Any] = {"action": "next"}
        for spec in step.fields:
            value = answers.get(spec.key)
            if spec.type == "file":
                if files and spec.key in files:
                    name, content = files[spec.key]
                    data[spec.key] = SimpleUploadedFile(name, content)
            elif spec.type == "group":
                rows = value or []
                data[f"{spec.key}.__count"] = str(len(rows))
                for index, row in enumerate(rows):
                    for sub, item in row.items():
                        data[f"{spec.key}.{index}.{sub}"] = item
            elif spec.type == "bank_account":
                for part, item in (value or {}).items():
                    data[f"{spec.key}.{part}"] = item
            elif spec.type == "checkbox":
                if value:
                    data[spec.key] = "on"
            elif value is not None:
                data[spec.key] = str(value)
        response = client.post(url, data)
        assert response.status_code == 302, (step.key, response.content.decode()[:3000])
        url = response["Location"]
    assert url == tenant.url(f"apply/{draft_id}/review/"), url
    submitted = client.post(url)
    assert submitted.status_code == 302, submitted.content.decode()[:3000]
    assert submitted["Location"] == tenant.url(f"apply/{draft_id}/done/")
    done = client.get(submitted["Location"])
    assert done.status_code == 200
    return draft_id, done


def csv_row(definition: ProcedureDefinition, answers: dict[str, Any]) -> dict[str, str]:
    """The answers as one row of a paper-intake CSV (columns by key; files stay on paper)."""
    row: dict[str, str] = {}
    for spec in definition.fields:
        value = answers.get(spec.key)
        if spec.type == "file" or value is None:
            continue
        if spec.type == "group":
            for number, item in enumerate(value, start=1):
                for sub, text in item.items():
                    row[f"{spec.key}.{number}.{sub}"] = str(text)
        elif spec.type == "bank_account":
            for part, text in value.items():
                row[f"{spec.key}.{part}"] = str(text)
        elif spec.type == "checkbox":
            row[spec.key] = "はい" if value else ""
        else:
            row[spec.key] = str(value)
    return row
