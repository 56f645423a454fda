"""Tests for madoguchi.procedures.status: the public status lookup by receipt number and secret."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from madoguchi.core.checkdigits import damm_check_digit
from madoguchi.core.models import RateLimitCounter
from madoguchi.core.ratelimit import ratelimit_peek
from madoguchi.procedures.catalogue import catalogue_definition
from madoguchi.procedures.models import Application
from madoguchi.procedures.receipts import lookup_secret_display, receipt_number_display
from madoguchi.procedures.selectors import (
    StatusRow,
    application_get_by_id,
    application_status_by_receipt,
)
from madoguchi.procedures.services import SubmitResult
from madoguchi.procedures.status import (
    LookupErrorCode,
    LookupRefused,
    PublicStatus,
    status_lookup,
    status_of,
    status_public,
)
from tests.isolation import Tenant
from tests.procedures.conftest import ADDRESS, EMAIL, KYUFUKIN, NAME, NAME_KANA

# A Unix time at the start of a 30-minute (and so of a 1-minute) window, plus 10 seconds: the
# per-minute limits end in 50 s, the failure lock in 1,790 s.
WINDOW_START = 1_800_000_000
NOW = WINDOW_START + 10

NOT_FOUND_MESSAGE = (
    "受付番号または確認コードが正しくありません。控えの番号とコードをご確認ください。"
)
LOCKED_MESSAGE = (
    "この受付番号は、確認コードの誤りが続いたため一時的に照会できません。"
    "30分ほどたってからお試しください。"
)


class Clock:
    """The time the rate limits see; tests move it forward."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Fixed rate-limit windows, and no random sweep of old counters during a test."""
    fixed = Clock(NOW)
    monkeypatch.setattr("madoguchi.core.ratelimit.time", SimpleNamespace(time=fixed.time))
    monkeypatch.setattr("madoguchi.core.ratelimit.random", SimpleNamespace(random=lambda: 1.0))
    return fixed


@pytest.fixture
def limits(settings: Any) -> Any:
    """The documented defaults, stated here so that the counts below do not depend on the env."""
    settings.STATUS_LOOKUP_RATE_PER_CLIENT = 30
    settings.STATUS_LOOKUP_RATE_PER_RECEIPT = 10
    settings.STATUS_LOOKUP_MAX_FAILURES = 5
    settings.STATUS_LOOKUP_LOCK_SECONDS = 1800
    settings.STATUS_LOOKUP_CLIENT_MAX_FAILURES = 20
    settings.STATUS_LOOKUP_RECEIPT_CEILING = 50
    return settings


@pytest.fixture
def submitted(submit: Callable[..., SubmitResult], limits: Any) -> tuple[Application, str]:
    """An application of 神戸市 and its lookup secret."""
    result = submit()
    assert result.secret is not None
    return result.application, result.secret


def lookup(
    municipality: Any, receipt: str, secret: str, client: str = "203.0.113.7"
) -> PublicStatus:
    return status_lookup(
        municipality=municipality, receipt_text=receipt, secret_text=secret, client=client
    )


def refusal(municipality: Any, receipt: str, secret: str, client: str = "203.0.113.7") -> Any:
    with pytest.raises(LookupRefused) as caught:
        lookup(municipality, receipt, secret, client)
    return caught.value


def other_receipt(receipt: str) -> str:
    """A well-formed receipt number that no application has."""
    body = f"{(int(receipt[:9]) + 1) % 900_000_000 + 100_000_000:09d}"
    return body + str(damm_check_digit(body))


def one_digit_wrong(receipt: str) -> str:
    return receipt[:4] + str((int(receipt[4]) + 1) % 10) + receipt[5:]


# --- what a resident sees ----------------------------------------------------------------------


def test_the_right_number_and_secret_show_the_public_status(
    submitted: tuple[Application, str], tenant_a: Tenant
) -> None:
    """受付済, the expected completion date and what to do next; nothing else."""
    application, secret = submitted

    status = lookup(tenant_a.municipality, application.receipt_number, secret)

    assert status == PublicStatus(
        receipt_number=application.receipt_number,
        receipt_display=receipt_number_display(application.receipt_number),
        procedure_name="特別定額給付金の申請",
        state="received",
        state_label="受付済",
        state_changed_at=application.state_changed_at,
        submitted_at=application.submitted_at,
        expected_completion=application.due_date,
        resident_action="審査が始まるまでお待ちください。",
        public_message="",
        is_final=False,
        application_id=application.pk,
    )


def test_the_public_status_holds_no_personal_data(
    submitted: tuple[Application, str], tenant_a: Tenant
) -> None:
    """Its fields are the state and dates only; no answer of the resident appears in it."""
    application, secret = submitted

    status = lookup(tenant_a.municipality, application.receipt_number, secret)

    assert [f.name for f in dataclasses.fields(PublicStatus)] == [
        "receipt_number",
        "receipt_display",
        "procedure_name",
        "state",
        "state_label",
        "state_changed_at",
        "submitted_at",
        "expected_completion",
        "resident_action",
        "public_message",
        "is_final",
        "application_id",
    ]
    shown = repr(dataclasses.asdict(status))
    for personal in (NAME, "神戸 太郎", NAME_KANA, ADDRESS, EMAIL, "1980-04-01", "1234567"):
        assert personal not in shown


def test_the_number_and_secret_may_be_typed_as_printed_or_in_fullwidth(
    submitted: tuple[Application, str], tenant_a: Tenant
) -> None:
    """12345-67890 and ABCD-EFGH as in the mail, lower case or 全角, are accepted."""
    application, secret = submitted
    fullwidth = str.maketrans(
        "0123456789-ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "０１２３４５６７８９－ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ",
    )

    printed = lookup(
        tenant_a.municipality,
        receipt_number_display(application.receipt_number),
        lookup_secret_display(secret).lower(),
    )
    typed = lookup(
        tenant_a.municipality,
        receipt_number_display(application.receipt_number).translate(fullwidth),
        lookup_secret_display(secret).translate(fullwidth),
    )

    assert printed.application_id == typed.application_id == application.pk


def test_a_final_state_shows_no_expected_completion(
    submitted: tuple[Application, str], tenant_a: Tenant
) -> None:
    """Once paid (振込済み) there is nothing left to wait for."""
    application, secret = submitted
    Application.objects.filter(pk=application.pk).update(state="paid")

    status = lookup(tenant_a.municipality, application.receipt_number, secret)

    assert (status.state, status.state_label, status.is_final) == ("paid", "振込済み", True)
    assert status.expected_completion is None
    assert status.resident_action == ""


def test_a_state_missing_from_the_definition_shows_its_key(
    submitted: tuple[Application, str], tenant_a: Tenant
) -> None:
    """A state a later definition removed is shown by its key, as not final."""
    application, secret = submitted
    Application.objects.filter(pk=application.pk).update(state="archived")

    status = lookup(tenant_a.municipality, application.receipt_number, secret)

    assert (status.state_label, status.resident_action, status.is_final) == ("archived", "", False)
    assert status.expected_completion == application.due_date


def test_english_labels_when_english_is_active(
    submitted: tuple[Application, str], tenant_a: Tenant
) -> None:
    """The definition's English names are used; a state without English advice keeps Japanese."""
    application, secret = submitted

    with translation.override("en"):
        status = lookup(tenant_a.municipality, application.receipt_number, secret)

    received = catalogue_definition(KYUFUKIN)["workflow"]["states"]["received"]
    assert status.procedure_name == "Special Cash Payment application"
    assert status.state_label == "Received"
    # Advice without an English version is shown in Japanese rather than not at all.
    assert status.resident_action == (
        received.get("resident_action_en") or received["resident_action_ja"]
    )


def test_refusal_messages_are_english_when_english_is_active(
    submitted: tuple[Application, str], tenant_a: Tenant
) -> None:
    """A resident reading the English page gets the refusal in English."""
    application, _secret = submitted

    with translation.override("en"):
        message = refusal(tenant_a.municipality, application.receipt_number, "ACDEFGHJ").message

    assert message.isascii()


# --- what is refused, and how alike ------------------------------------------------------------


def test_a_wrong_number_and_a_wrong_secret_get_the_same_answer(
    submitted: tuple[Application, str], tenant_a: Tenant
) -> None:
    """Not found and wrong secret cannot be told apart: same code, message and field."""
    application, secret = submitted
    wrong_secret = "ACDEFGHJ" if secret != "ACDEFGHJ" else "ACDEFGHK"

    unknown_number = refusal(
        tenant_a.municipality, other_receipt(application.receipt_number), secret
    )
    wrong = refusal(tenant_a.municipality, application.receipt_number, wrong_secret)

    for refused in (unknown_number, wrong):
        assert (refused.code, refused.field, refused.retry_after) == (
            LookupErrorCode.NOT_FOUND,
            "",
            0,
        )
        assert refused.message == NOT_FOUND_MESSAGE
        assert str(refused) == "not_found"


def test_a_receipt_of_another_municipality_is_not_found(
    submitted: tuple[Application, str], tenant_b: Tenant
) -> None:
    """神戸市's receipt looked up on 佐用町's page is "not found", like any wrong number."""
    application, secret = submitted

    refused = refusal(tenant_b.municipality, application.receipt_number, secret)

    assert (refused.code, refused.message) == (LookupErrorCode.NOT_FOUND, NOT_FOUND_MESSAGE)


def test_a_mistyped_number_is_refused_before_any_application_is_read(
    submitted: tuple[Application, str], tenant_a: Tenant, django_assert_num_queries: Any
) -> None:
    """One wrong digit fails the check digit: no database query at all, only the per-client
    count in the counters cache."""
    application, secret = submitted

    with CaptureQueriesContext(connection) as queries:
        refused = refusal(
            tenant_a.municipality, one_digit_wrong(application.receipt_number), secret
        )

    assert (refused.code, refused.field) == (LookupErrorCode.RECEIPT_CHECK_DIGIT, "receipt_number")
    assert refused.message == "受付番号に入力の誤りがあるようです。数字を一つずつご確認ください。"
    assert [q["sql"] for q in queries.captured_queries] == []
    with django_assert_num_queries(0):
        refusal(tenant_a.municipality, one_digit_wrong(application.receipt_number), secret)
    assert counted("status:client:203.0.113.7", 60) == 2
    assert not RateLimitCounter.objects.exists()


def counted(key: str, window_seconds: int) -> int:
    """The count of ``key`` in its current window, as the counters cache keeps it."""
    return ratelimit_peek(key, limit=1, window_seconds=window_seconds).count


@pytest.mark.parametrize(
    ("receipt", "secret", "code", "field"),
    [
        ("12345", "ACDEFGHJ", LookupErrorCode.RECEIPT_FORMAT, "receipt_number"),
        ("", "ACDEFGHJ", LookupErrorCode.RECEIPT_FORMAT, "receipt_number"),
        ("3411987393", "", LookupErrorCode.SECRET_REQUIRED, "secret"),
        ("3411987393", " \u3000 ", LookupErrorCode.SECRET_REQUIRED, "secret"),
    ],
)
def test_malformed_input_is_refused_with_a_field_and_counts_no_failure(
    receipt: str, secret: str, code: LookupErrorCode, field: str, tenant_a: Tenant, limits: Any
) -> None:
    """Format errors name the field to fix and do not count towards the receipt's lock."""
    refused = refusal(tenant_a.municipality, receipt, secret)

    assert (refused.code, refused.field) == (code, field)
    assert counted("status:client:203.0.113.7", 60) == 1
    window = limits.STATUS_LOOKUP_LOCK_SECONDS
    assert counted("status:failures:203.0.113.7", window) == 0
    assert counted("status:failures:203.0.113.7:3411987393", window) == 0
    assert counted("status:failures:3411987393", window) == 0


# --- limits and the lock -----------------------------------------------------------------------


def test_a_client_over_its_per_minute_limit_is_told_to_wait(
    submitted: tuple[Application, str], tenant_a: Tenant, clock: Clock
) -> None:
    """The 31st lookup in a minute from one client is refused until the minute ends."""
    application, secret = submitted
    for _ in range(30):
        refusal(tenant_a.municipality, "12345", secret)

    refused = refusal(tenant_a.municipality, application.receipt_number, secret)

    assert (refused.code, refused.retry_after) == (LookupErrorCode.RATE_LIMITED, 50)
    assert refused.message == "短時間に多くの照会がありました。1分ほどたってからお試しください。"
    assert lookup(tenant_a.municipality, application.receipt_number, secret, client="198.51.100.1")
    clock.now = WINDOW_START + 60
    assert lookup(tenant_a.municipality, application.receipt_number, secret).state == "received"


def test_a_busy_receipt_slows_only_the_clients_that_typed_a_wrong_secret_for_it(
    submitted: tuple[Application, str], tenant_a: Tenant, clock: Clock
) -> None:
    """Past STATUS_LOOKUP_RATE_PER_RECEIPT lookups of one number in a minute, a client that has
    failed on it waits; a client without a failure (the resident) is still answered."""
    application, secret = submitted
    receipt = application.receipt_number
    refusal(tenant_a.municipality, receipt, "WRONGAAA", "attacker")
    for n in range(9):
        lookup(tenant_a.municipality, receipt, secret, client=f"client-{n}")

    refused = refusal(tenant_a.municipality, receipt, secret, "attacker")

    assert (refused.code, refused.retry_after) == (LookupErrorCode.RATE_LIMITED, 50)
    assert lookup(tenant_a.municipality, receipt, secret, "resident").state == "received"
    clock.now = WINDOW_START + 60
    assert lookup(tenant_a.municipality, receipt, secret, "attacker")


def fail_five_times(
    municipality: Any, receipt: str, client: str = "attacker"
) -> list[LookupRefused]:
    return [
        refusal(municipality, receipt, f"WRONG{n:03d}".replace("0", "A"), client=client)
        for n in range(5)
    ]


def test_five_wrong_secrets_slow_their_client_even_for_the_right_secret(
    submitted: tuple[Application, str], tenant_a: Tenant
) -> None:
    """After STATUS_LOOKUP_MAX_FAILURES wrong secrets from one client, that client is refused
    this number, even with the right secret, for a while."""
    application, secret = submitted

    failures = fail_five_times(tenant_a.municipality, application.receipt_number)
    refused = refusal(tenant_a.municipality, application.receipt_number, secret, "attacker")

    assert [f.code for f in failures] == [LookupErrorCode.NOT_FOUND] * 5
    assert (refused.code, refused.retry_after, refused.field) == (LookupErrorCode.LOCKED, 1790, "")
    assert refused.message == LOCKED_MESSAGE


def test_an_attacker_cannot_lock_the_resident_out(
    submitted: tuple[Application, str], tenant_a: Tenant
) -> None:
    """Five wrong secrets from an attacker's address leave the resident's lookup working."""
    application, secret = submitted
    fail_five_times(tenant_a.municipality, application.receipt_number)

    status = lookup(tenant_a.municipality, application.receipt_number, secret, "resident")

    assert status.application_id == application.pk


def test_the_receipt_ceiling_slows_every_failing_client_but_not_the_resident(
    submitted: tuple[Application, str], tenant_a: Tenant, limits: Any
) -> None:
    """Many addresses guessing one number: past STATUS_LOOKUP_RECEIPT_CEILING failures each of
    them waits after its first failure; a client with none still gets the status."""
    limits.STATUS_LOOKUP_RECEIPT_CEILING = 6
    application, secret = submitted
    receipt = application.receipt_number
    for n in range(6):
        assert refusal(tenant_a.municipality, receipt, "WRONGAAA", f"bot-{n}").code == (
            LookupErrorCode.NOT_FOUND
        )

    refused = refusal(tenant_a.municipality, receipt, secret, "bot-0")
    newcomer = [refusal(tenant_a.municipality, receipt, "WRONGBBB", "bot-new") for _ in range(2)]

    assert (refused.code, refused.retry_after) == (LookupErrorCode.LOCKED, 1790)
    assert [r.code for r in newcomer] == [LookupErrorCode.NOT_FOUND, LookupErrorCode.LOCKED]
    assert lookup(tenant_a.municipality, receipt, secret, "resident").state == "received"


def test_a_client_guessing_many_numbers_is_slowed(
    submitted: tuple[Application, str], tenant_a: Tenant, limits: Any
) -> None:
    """STATUS_LOOKUP_CLIENT_MAX_FAILURES failures over any numbers make the client wait."""
    limits.STATUS_LOOKUP_CLIENT_MAX_FAILURES = 4
    application, secret = submitted
    receipt = application.receipt_number
    numbers = [receipt]
    while len(numbers) < 5:
        numbers.append(other_receipt(numbers[-1]))
    for number in numbers[1:]:
        assert refusal(tenant_a.municipality, number, secret, "scanner").code == (
            LookupErrorCode.NOT_FOUND
        )

    refused = refusal(tenant_a.municipality, receipt, secret, "scanner")

    assert (refused.code, refused.retry_after) == (LookupErrorCode.RATE_LIMITED, 1790)
    assert lookup(tenant_a.municipality, receipt, secret, "resident").state == "received"


def test_an_unknown_receipt_is_slowed_the_same_way(
    submitted: tuple[Application, str], tenant_a: Tenant
) -> None:
    """Counted by the number typed, so the refusal does not reveal whether the number exists."""
    application, secret = submitted
    unknown = other_receipt(application.receipt_number)

    fail_five_times(tenant_a.municipality, application.receipt_number)
    fail_five_times(tenant_a.municipality, unknown)
    existing = refusal(tenant_a.municipality, application.receipt_number, secret, "attacker")
    missing = refusal(tenant_a.municipality, unknown, secret, "attacker")

    assert (missing.code, missing.retry_after, missing.message) == (
        existing.code,
        existing.retry_after,
        existing.message,
    )
    assert missing.code == LookupErrorCode.LOCKED


def test_four_wrong_secrets_do_not_lock(
    submitted: tuple[Application, str], tenant_a: Tenant
) -> None:
    """Below the limit the right secret still works."""
    application, secret = submitted
    for n in range(4):
        refusal(tenant_a.municipality, application.receipt_number, f"WRQNG{n}AA", f"typo-{n}")

    assert lookup(tenant_a.municipality, application.receipt_number, secret).state == "received"


def test_the_lock_ends_with_its_window(
    submitted: tuple[Application, str], tenant_a: Tenant, clock: Clock
) -> None:
    """The slowed client is answered again when the 30-minute failure window ends."""
    application, secret = submitted
    fail_five_times(tenant_a.municipality, application.receipt_number)

    clock.now = WINDOW_START + 1799
    still = refusal(tenant_a.municipality, application.receipt_number, secret, "attacker")
    clock.now = WINDOW_START + 1800
    status = lookup(tenant_a.municipality, application.receipt_number, secret, "attacker")

    assert (still.code, still.retry_after) == (LookupErrorCode.LOCKED, 1)
    assert status.application_id == application.pk


# --- the application a session has proved --------------------------------------------------------


def test_a_proved_application_is_read_by_id_only_within_its_municipality(
    submitted: tuple[Application, str], tenant_a: Tenant, tenant_b: Tenant
) -> None:
    """The status page shown again and an answer to a request read the application by the id
    the session holds: within the page's municipality only, else nothing."""
    application, _secret = submitted

    found = application_get_by_id(municipality=tenant_a.municipality, application_id=application.pk)
    assert found == application
    assert status_public(municipality=tenant_a.municipality, application_id=application.pk) == (
        status_of(application=application)
    )
    assert (
        application_get_by_id(municipality=tenant_b.municipality, application_id=application.pk)
        is None
    )
    assert status_public(municipality=tenant_b.municipality, application_id=application.pk) is None


# --- the lookup's one query ----------------------------------------------------------------------


def test_a_lookup_reads_only_the_status_columns_in_one_query(
    submitted: tuple[Application, str], tenant_a: Tenant
) -> None:
    """No encrypted answers, names or indexes are read for a status: one SELECT of the status
    columns (and the version's digest), whichever the outcome."""
    application, secret = submitted
    lookup(tenant_a.municipality, application.receipt_number, secret)  # definition now parsed

    for typed_secret in (secret, "WRONG-SECRET"):
        with CaptureQueriesContext(connection) as queries, contextlib.suppress(LookupRefused):
            lookup(tenant_a.municipality, application.receipt_number, typed_secret)
        [query] = queries.captured_queries
        selected = query["sql"].split(" FROM ")[0]
        assert selected.count(",") == 8, selected
        for column in ("answers", "email", "name", "index", "definition"):
            assert column not in selected, (column, selected)


def test_the_status_columns_match_the_orm_row_and_stay_in_their_municipality(
    submitted: tuple[Application, str], tenant_a: Tenant, tenant_b: Tenant
) -> None:
    application, _secret = submitted
    application.refresh_from_db()

    row = application_status_by_receipt(
        municipality_id=tenant_a.municipality.pk, receipt_number=application.receipt_number
    )

    assert row == StatusRow(
        pk=application.pk,
        secret_hash=application.secret_hash,
        state=application.state,
        state_changed_at=application.state_changed_at,
        submitted_at=application.submitted_at,
        due_date=application.due_date,
        public_message=application.public_message,
        version_id=application.version_id,
        version_digest=application.version.digest,
    )
    assert row is not None
    assert row.state_changed_at.tzinfo is not None
    assert (
        application_status_by_receipt(
            municipality_id=tenant_b.municipality.pk, receipt_number=application.receipt_number
        )
        is None
    )
    assert (
        application_status_by_receipt(
            municipality_id=tenant_a.municipality.pk,
            receipt_number=other_receipt(application.receipt_number),
        )
        is None
    )
