"""Tests for madoguchi.procedures.workflow: transitions by role and department, bulk, assignment.

The role matrix reads the transitions of the 特別定額給付金 from its YAML, so that a change to
the catalogue changes the cases. Its expectation is the issue's rule: a transition succeeds only
for a role it lists, held municipality-wide (admin) or in the application's department (福祉課);
everything else is refused and changes nothing.
"""

from __future__ import annotations

import email as email_parser
import email.header
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.db import transaction
from django.utils import translation
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult
from pytest_django import DjangoDbBlocker

from madoguchi.accounts.permissions import StaffContext
from madoguchi.procedures.catalogue import catalogue_definition
from madoguchi.procedures.models import Application, InfoRequest, ProcedureVersion, StateChange
from madoguchi.procedures.workflow import (
    TransitionErrorCode,
    TransitionRefused,
    application_assign,
    application_transition,
    applications_bulk_transition,
    transitions_for,
)
from tests.isolation import Tenant, make_tenant
from tests.procedures.backoffice_fixtures import (
    ROLES,
    WELFARE,
    back_office_state,
    kyufukin_submit,
    last_audit_pk,
    move,
    move_to,
    new_audit,
    shared_database,
    staff_context,
)
from tests.procedures.conftest import EMAIL, KYUFUKIN, publish
from tests.procedures.test_submit import smtp_server  # noqa: F401 - the loopback SMTP server

REASON = "世帯の確認が必要なため"
ITEMS = "住民票の写し（世帯全員分）を送ってください。"

_WORKFLOW = catalogue_definition(KYUFUKIN)["workflow"]
STATES: dict[str, dict[str, Any]] = _WORKFLOW["states"]


@dataclass(frozen=True)
class Transition:
    source: str
    target: str
    roles: tuple[str, ...]
    requires: str

    @property
    def id(self) -> str:
        return f"{self.source}->{self.target}"


TRANSITIONS = [
    Transition(source, item["to"], tuple(item["roles"]), item.get("requires", ""))
    for item in _WORKFLOW["transitions"]
    for source in ([item["from"]] if isinstance(item["from"], str) else item["from"])
]
ALLOWED_PAIRS = {(t.source, t.target) for t in TRANSITIONS}
NOT_IN_TABLE = [(s, t) for s in STATES for t in STATES if (s, t) not in ALLOWED_PAIRS]


def label(state: str) -> str:
    return str(STATES[state]["label_ja"])


def is_final(state: str) -> bool:
    return bool(STATES[state].get("final", False))


@dataclass(frozen=True)
class Kit:
    """神戸市 and 佐用町 with staff of every role, and the 特別定額給付金 published in 神戸市."""

    tenant: Tenant
    other: Tenant
    version: ProcedureVersion

    def staff(self, role: str) -> StaffContext:
        return staff_context(self.tenant, role)

    def application(self, state: str = "received") -> Application:
        """A new application, taken to ``state`` by the municipality's admin."""
        application = kyufukin_submit(self.version).application
        return move_to(application, state, staff=self.staff("admin"))

    def state(self) -> dict[str, Any]:
        """神戸市's back-office rows (佐用町's are added where its staff act)."""
        return back_office_state(self.tenant.municipality)

    def both_states(self) -> dict[str, Any]:
        return {"kobe": self.state(), "sayo": back_office_state(self.other.municipality)}


@pytest.fixture(scope="class")
def kit(django_db_setup: None, django_db_blocker: DjangoDbBlocker) -> Iterator[Kit]:
    """Built once for the class (about 0.5 s) instead of once for each of its ~150 cases."""
    with shared_database(django_db_blocker):
        tenant = make_tenant("281000", "kobe")
        other = make_tenant("285013", "sayo")
        yield Kit(tenant, other, publish(tenant.municipality))


def assert_refusal(
    exc: pytest.ExceptionInfo[TransitionRefused], code: TransitionErrorCode, message: str
) -> None:
    """The refusal has this stable code and this Japanese message."""
    assert (exc.value.code, exc.value.message, str(exc.value)) == (code, message, message)


@pytest.mark.django_db
class TestTransitions:
    # --- the matrix: role × transition × department ------------------------------------------

    @pytest.mark.parametrize("role", ROLES)
    @pytest.mark.parametrize("transition", TRANSITIONS, ids=lambda t: t.id)
    def test_only_a_listed_role_of_the_department_moves_the_application(
        self, kit: Kit, transition: Transition, role: str
    ) -> None:
        application = kit.application(transition.source)
        staff = kit.staff(role)
        [membership] = staff.memberships
        allowed = membership.role in transition.roles and (
            membership.department is None or membership.department.code == "welfare"
        )
        offered = {t.target for t in transitions_for(application=application, staff=staff)}
        assert (transition.target in offered) is allowed
        before = kit.state()
        audit_mark = last_audit_pk()
        info_before = InfoRequest.objects.filter(application=application).count()

        if not allowed:
            with pytest.raises(TransitionRefused) as exc:
                application_transition(
                    application=application,
                    target=transition.target,
                    staff=staff,
                    reason=REASON,
                    missing_items=ITEMS,
                    expected_state=transition.source,
                )
            assert_refusal(
                exc,
                TransitionErrorCode.ROLE,
                f"あなたの役割（{WELFARE}）では「{label(transition.target)}」に変更できません。",
            )
            assert kit.state() == before
            return

        returned = application_transition(
            application=application,
            target=transition.target,
            staff=staff,
            reason=REASON,
            missing_items=ITEMS,
            expected_state=transition.source,
        )
        application.refresh_from_db()
        assert returned.pk == application.pk
        change = StateChange.objects.filter(application=application).latest("pk")
        message = ITEMS if transition.requires == "missing_items" else ""
        assert (
            change.from_state,
            change.to_state,
            change.actor_id,
            change.actor_label,
            change.reason,
            change.public_message,
        ) == (
            transition.source,
            transition.target,
            staff.user.pk,
            staff.user.username,
            REASON,
            message,
        )
        assert application.state == transition.target
        assert application.state_changed_at == change.changed_at
        assert application.public_message == message
        assert application.answered_at is None
        assert application.closed_at == (change.changed_at if is_final(transition.target) else None)
        requests = list(InfoRequest.objects.filter(application=application).order_by("pk"))
        if transition.requires == "missing_items":
            assert len(requests) == info_before + 1
            assert (requests[-1].items, requests[-1].answered_at) == (ITEMS, None)
        else:
            assert len(requests) == info_before
        [entry] = new_audit(kit.tenant.municipality, audit_mark)
        assert (
            entry.kind,
            entry.action,
            entry.actor_label,
            entry.department_label,
            entry.object_type,
            entry.object_id,
            entry.data,
        ) == (
            "event",
            "application.transition",
            staff.user.username,
            WELFARE,
            "procedures.application",
            str(application.pk),
            {"from": transition.source, "to": transition.target},
        )

    def test_every_pair_not_in_the_table_is_refused_even_to_the_admin(self, kit: Kit) -> None:
        admin = kit.staff("admin")
        applications = {state: kit.application(state) for state in STATES}
        before = kit.state()
        for source, target in NOT_IN_TABLE:
            with pytest.raises(TransitionRefused) as exc:
                application_transition(
                    application=applications[source],
                    target=target,
                    staff=admin,
                    reason=REASON,
                    missing_items=ITEMS,
                )
            assert_refusal(
                exc,
                TransitionErrorCode.NOT_ALLOWED,
                f"「{label(source)}」から「{label(target)}」には変更できません。",
            )
        assert len(NOT_IN_TABLE) == len(STATES) ** 2 - 17
        assert kit.state() == before

    def test_a_state_the_procedure_does_not_have_is_refused(self, kit: Kit) -> None:
        application = kit.application()
        before = kit.state()
        with pytest.raises(TransitionRefused) as exc:
            application_transition(
                application=application, target="approved", staff=kit.staff("admin")
            )
        assert_refusal(
            exc,
            TransitionErrorCode.UNKNOWN_STATE,
            "「approved」という状態はこの手続きにありません。",
        )
        assert kit.state() == before

    # --- requirements ---------------------------------------------------------------------------

    @pytest.mark.parametrize("blank", ["", "  ", "\u3000\n"], ids=["empty", "spaces", "zenkaku"])
    @pytest.mark.parametrize(
        "transition", [t for t in TRANSITIONS if t.requires], ids=lambda t: t.id
    )
    def test_a_required_reason_or_list_of_items_cannot_be_blank(
        self, kit: Kit, transition: Transition, blank: str
    ) -> None:
        application = kit.application(transition.source)
        before = kit.state()
        with pytest.raises(TransitionRefused) as exc:
            application_transition(
                application=application,
                target=transition.target,
                staff=kit.staff("supervisor"),
                reason=blank,
                missing_items=blank,
                public_message="お知らせ",
            )
        if transition.requires == "reason":
            code = TransitionErrorCode.REASON_REQUIRED
            message = f"「{label(transition.target)}」にするには理由を入力してください。"
        else:
            code = TransitionErrorCode.ITEMS_REQUIRED
            message = "住民の方にお願いする書類や内容を入力してください。"
        assert_refusal(exc, code, message)
        assert kit.state() == before

    def test_the_requirements_are_the_ones_the_catalogue_names(self) -> None:
        assert {(t.id, t.requires) for t in TRANSITIONS if t.requires} == {
            ("received->more_info", "missing_items"),
            ("reviewing->more_info", "missing_items"),
            ("on_hold->more_info", "missing_items"),
            ("received->on_hold", "reason"),
            ("reviewing->on_hold", "reason"),
            ("more_info->on_hold", "reason"),
            ("reviewing->rejected", "reason"),
            ("on_hold->rejected", "reason"),
        }

    # --- stale pages and other municipalities ----------------------------------------------------

    def test_a_stale_page_changes_nothing(self, kit: Kit) -> None:
        """The clerk saw 受付済, but a colleague has moved the application to 審査中 since."""
        application = kit.application("reviewing")
        before = kit.state()
        with pytest.raises(TransitionRefused) as exc:
            application_transition(
                application=application,
                target="withdrawn",
                staff=kit.staff("clerk"),
                expected_state="received",
            )
        assert_refusal(
            exc,
            TransitionErrorCode.STALE,
            "この申請は、画面を開いた後に「審査中」に変わりました。"
            "画面を更新して、内容を確かめてから操作してください。",
        )
        assert kit.state() == before

    @pytest.mark.parametrize("role", ["admin", "supervisor", "clerk"])
    def test_another_municipalitys_staff_find_nothing_to_move(self, kit: Kit, role: str) -> None:
        application = kit.application("reviewing")
        outsider = staff_context(kit.other, role)
        before = kit.both_states()
        with pytest.raises(TransitionRefused) as exc:
            application_transition(
                application=application, target="transfer_pending", staff=outsider
            )
        assert_refusal(exc, TransitionErrorCode.NOT_FOUND, "申請が見つかりません。")
        with pytest.raises(TransitionRefused) as exc:
            applications_bulk_transition(
                application_ids=[application.pk], target="transfer_pending", staff=outsider
            )
        if role == "clerk":
            assert exc.value.code == TransitionErrorCode.ROLE
        else:
            assert_refusal(exc, TransitionErrorCode.NOT_FOUND, "申請が見つかりません。")
        with pytest.raises(TransitionRefused) as exc:
            application_assign(application=application, assignee=outsider.user, staff=outsider)
        assert_refusal(exc, TransitionErrorCode.NOT_FOUND, "申請が見つかりません。")
        assert kit.both_states() == before

    def test_another_municipalitys_admin_holds_no_role_here(self, kit: Kit) -> None:
        """Even with 神戸市 as the context, 佐用町's admin has no membership there."""
        application = kit.application("reviewing")
        outsider = staff_context(kit.other, "admin", municipality=kit.tenant.municipality)
        assert outsider.memberships == ()
        before = kit.both_states()
        with pytest.raises(TransitionRefused) as exc:
            application_transition(application=application, target="withdrawn", staff=outsider)
        assert_refusal(
            exc,
            TransitionErrorCode.ROLE,
            f"あなたの役割（{WELFARE}）では「取下げ」に変更できません。",
        )
        assert kit.both_states() == before

    # --- final states -----------------------------------------------------------------------------

    def test_a_final_state_closes_the_application_for_good(self, kit: Kit) -> None:
        assert sorted(s for s in STATES if is_final(s)) == ["paid", "rejected", "withdrawn"]
        application = kit.application("transfer_pending")
        assert Application.objects.get(pk=application.pk).closed_at is None
        staff = kit.staff("supervisor")
        move(application, "paid", staff=staff)
        application = Application.objects.get(pk=application.pk)
        paid = StateChange.objects.filter(application=application).latest("pk")
        assert (application.state, application.closed_at) == ("paid", paid.changed_at)
        # A final state cannot be left.
        with pytest.raises(TransitionRefused) as exc:
            application_transition(application=application, target="reviewing", staff=staff)
        assert exc.value.code == TransitionErrorCode.NOT_ALLOWED

    def test_no_email_task_for_a_refusal_or_an_applicant_without_an_address(
        self, kit: Kit, django_capture_on_commit_callbacks: Any
    ) -> None:
        application = kit.application()
        with (
            django_capture_on_commit_callbacks(execute=True) as callbacks,
            pytest.raises(TransitionRefused),
        ):
            application_transition(
                application=application, target="reviewing", staff=kit.staff("viewer")
            )
        assert callbacks == []
        without_email = kyufukin_submit(kit.version, email="").application
        assert without_email.email is None
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            application_transition(
                application=without_email, target="reviewing", staff=kit.staff("clerk")
            )
        assert callbacks == []
        assert not DBTaskResult.objects.exists()

    # --- bulk -----------------------------------------------------------------------------------

    def test_a_supervisor_moves_three_applications_in_one_call(self, kit: Kit) -> None:
        applications = [kit.application() for _ in range(3)]
        staff = kit.staff("supervisor")
        audit_mark = last_audit_pk()

        moved = applications_bulk_transition(
            application_ids=[a.pk for a in reversed(applications)],
            target="reviewing",
            staff=staff,
            public_message="審査を始めました。",
        )

        assert [a.pk for a in moved] == [a.pk for a in applications]
        for application in applications:
            application.refresh_from_db()
            change = StateChange.objects.filter(application=application).latest("pk")
            assert (application.state, application.public_message, application.closed_at) == (
                "reviewing",
                "審査を始めました。",
                None,
            )
            assert (change.from_state, change.to_state, change.actor_label) == (
                "received",
                "reviewing",
                "kobe-supervisor",
            )
        entries = new_audit(kit.tenant.municipality, audit_mark)
        assert [(e.action, e.object_id, e.data) for e in entries] == [
            ("application.transition", str(a.pk), {"from": "received", "to": "reviewing"})
            for a in applications
        ]

    def test_one_application_that_cannot_move_makes_none_move(self, kit: Kit) -> None:
        movable = [kit.application(), kit.application()]
        stuck = kit.application("transfer_pending")
        before = kit.state()
        with pytest.raises(TransitionRefused) as exc:
            applications_bulk_transition(
                application_ids=[movable[0].pk, stuck.pk, movable[1].pk],
                target="reviewing",
                staff=kit.staff("supervisor"),
            )
        assert_refusal(
            exc,
            TransitionErrorCode.NOT_ALLOWED,
            f"受付番号 {stuck.receipt_number}：「振込手続き中」から「審査中」には変更できません。",
        )
        assert kit.state() == before

    def test_a_bulk_change_that_fails_half_way_is_undone(self, kit: Kit) -> None:
        """保留中 needs a reason, which the bulk change cannot give: all three stay."""
        applications = [kit.application() for _ in range(3)]
        before = kit.state()
        with pytest.raises(TransitionRefused) as exc:
            applications_bulk_transition(
                application_ids=[a.pk for a in applications],
                target="on_hold",
                staff=kit.staff("supervisor"),
            )
        assert_refusal(
            exc,
            TransitionErrorCode.REASON_REQUIRED,
            "「保留中」にするには理由を入力してください。",
        )
        assert kit.state() == before

    def test_a_bulk_request_for_documents_is_refused(self, kit: Kit) -> None:
        application = kit.application()
        before = kit.state()
        with pytest.raises(TransitionRefused) as exc:
            applications_bulk_transition(
                application_ids=[application.pk], target="more_info", staff=kit.staff("admin")
            )
        assert_refusal(
            exc,
            TransitionErrorCode.ITEMS_REQUIRED,
            f"受付番号 {application.receipt_number}："
            "追加書類のお願いは、一件ずつ内容を書いて送ってください。",
        )
        assert kit.state() == before

    @pytest.mark.parametrize("role", ["clerk", "viewer", "clerk-other"])
    def test_only_supervisors_and_admins_may_change_in_bulk(self, kit: Kit, role: str) -> None:
        applications = [kit.application() for _ in range(2)]
        before = kit.state()
        with pytest.raises(TransitionRefused) as exc:
            applications_bulk_transition(
                application_ids=[a.pk for a in applications],
                target="reviewing",
                staff=kit.staff(role),
            )
        assert_refusal(
            exc, TransitionErrorCode.ROLE, "一括変更は監督者または管理者だけが行えます。"
        )
        assert kit.state() == before

    # --- assignment -----------------------------------------------------------------------------

    def test_a_supervisor_assigns_anyone_who_works_in_the_department(self, kit: Kit) -> None:
        application = kit.application()
        supervisor = kit.staff("supervisor")
        audit_mark = last_audit_pk()
        for role in ("clerk", "supervisor", "admin"):
            application_assign(
                application=application, assignee=kit.tenant.staff[role], staff=supervisor
            )
            application.refresh_from_db()
            assert application.assigned_to == kit.tenant.staff[role]
        application_assign(application=application, assignee=None, staff=supervisor)
        application.refresh_from_db()
        assert application.assigned_to is None
        entries = new_audit(kit.tenant.municipality, audit_mark)
        assert [(e.action, e.actor_label, e.department_label, e.data) for e in entries] == [
            ("application.assign", "kobe-supervisor", WELFARE, {"from": None, "to": "kobe-clerk"}),
            (
                "application.assign",
                "kobe-supervisor",
                WELFARE,
                {"from": "kobe-clerk", "to": "kobe-supervisor"},
            ),
            (
                "application.assign",
                "kobe-supervisor",
                WELFARE,
                {"from": "kobe-supervisor", "to": "kobe-admin"},
            ),
            ("application.assign", "kobe-supervisor", WELFARE, {"from": "kobe-admin", "to": None}),
        ]

    @pytest.mark.parametrize("assignee", ["viewer", "clerk-other"])
    def test_an_assignee_without_a_working_role_in_the_department_is_refused(
        self, kit: Kit, assignee: str
    ) -> None:
        application = kit.application()
        before = kit.state()
        with pytest.raises(TransitionRefused) as exc:
            application_assign(
                application=application,
                assignee=kit.tenant.staff[assignee],
                staff=kit.staff("supervisor"),
            )
        assert_refusal(
            exc,
            TransitionErrorCode.ASSIGNEE,
            "この部署で申請を担当できる職員を選んでください。",
        )
        assert kit.state() == before

    def test_another_municipalitys_staff_cannot_be_assigned(self, kit: Kit) -> None:
        application = kit.application()
        before = kit.both_states()
        with pytest.raises(TransitionRefused) as exc:
            application_assign(
                application=application,
                assignee=kit.other.staff["clerk"],
                staff=kit.staff("admin"),
            )
        assert exc.value.code == TransitionErrorCode.ASSIGNEE
        assert kit.both_states() == before

    def test_a_clerk_takes_an_unassigned_application_and_gives_it_back(self, kit: Kit) -> None:
        application = kit.application()
        clerk = kit.staff("clerk")
        application_assign(application=application, assignee=clerk.user, staff=clerk)
        application.refresh_from_db()
        assert application.assigned_to == clerk.user
        application_assign(application=application, assignee=None, staff=clerk)
        application.refresh_from_db()
        assert application.assigned_to is None

    def test_a_clerk_cannot_take_someone_elses_application(self, kit: Kit) -> None:
        application = kit.application()
        application_assign(
            application=application,
            assignee=kit.tenant.staff["supervisor"],
            staff=kit.staff("supervisor"),
        )
        clerk = kit.staff("clerk")
        before = kit.state()
        attempts: list[Any] = [clerk.user, None]  # take it over; take it away from its assignee
        for assignee in attempts:
            with pytest.raises(TransitionRefused) as exc:
                application_assign(application=application, assignee=assignee, staff=clerk)
            assert_refusal(
                exc,
                TransitionErrorCode.ROLE,
                "この申請の担当者を変更する権限がありません。",
            )
        assert kit.state() == before

    def test_a_clerk_cannot_hand_an_application_to_a_colleague(self, kit: Kit) -> None:
        application = kit.application()
        before = kit.state()
        with pytest.raises(TransitionRefused) as exc:
            application_assign(
                application=application,
                assignee=kit.tenant.staff["supervisor"],
                staff=kit.staff("clerk"),
            )
        assert exc.value.code == TransitionErrorCode.ROLE
        assert kit.state() == before

    @pytest.mark.parametrize("role", ["viewer", "clerk-other"])
    def test_viewers_and_other_departments_cannot_take_an_application(
        self, kit: Kit, role: str
    ) -> None:
        application = kit.application()
        staff = kit.staff(role)
        before = kit.state()
        with pytest.raises(TransitionRefused) as exc:
            application_assign(application=application, assignee=staff.user, staff=staff)
        assert_refusal(
            exc,
            TransitionErrorCode.ROLE,
            "この申請の担当者を変更する権限がありません。",
        )
        assert kit.state() == before


# --- the e-mail after a state change -------------------------------------------------------------


@pytest.fixture
def signal_handlers() -> Iterator[None]:
    """db_worker installs its own SIGINT/SIGTERM handlers; put the test runner's back."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    yield
    for number, handler in saved.items():
        signal.signal(number, handler)


@pytest.mark.django_db(transaction=True)
def test_the_state_change_email_is_queued_after_commit_and_sent_by_the_worker(
    tenant_a: Tenant, signal_handlers: None
) -> None:
    """The task is enqueued when the transition commits, and the worker sends the mail."""
    version = publish(tenant_a.municipality)
    application = kyufukin_submit(version).application
    assert application.email == EMAIL
    mail.outbox.clear()  # the receipt
    clerk = staff_context(tenant_a, "clerk")

    with transaction.atomic():
        application_transition(application=application, target="reviewing", staff=clerk)
        assert not DBTaskResult.objects.exists()  # not before the commit
    [task] = DBTaskResult.objects.all()
    change = StateChange.objects.filter(application=application).latest("pk")
    assert (task.status, task.task_path, task.args_kwargs) == (
        TaskResultStatus.READY,
        "madoguchi.procedures.tasks.notify_state_change",
        {"args": [], "kwargs": {"application_id": application.pk, "state_change_id": change.pk}},
    )
    assert mail.outbox == []

    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)

    task.refresh_from_db()
    assert (task.status, task.return_value) == (TaskResultStatus.SUCCESSFUL, True)
    [message] = mail.outbox
    assert message.to == [EMAIL]
    assert message.subject == "【神戸市】特別定額給付金の申請の状況が「審査中」になりました"
    receipt = application.receipt_number
    assert message.body == (
        f"受付番号 {receipt[:5]}-{receipt[5:]} の特別定額給付金の申請の状況が、\n"
        "「審査中」になりました。\n"
        "\n"
        "審査しています。お問い合わせの必要はありません。\n"
        "\n"
        "詳しい状況は、次のページで受付番号と確認コードを入力して確認できます。\n"
        f"{settings.MADOGUCHI_SITE_URL}/kobe/status/?receipt={receipt}\n"
        "\n"
        "神戸市\n"
    )


@pytest.mark.django_db(transaction=True)
def test_a_resident_who_applied_in_english_gets_the_request_for_information_in_english(
    tenant_a: Tenant,
    signal_handlers: None,
    smtp_server: Any,  # noqa: F811 - the fixture imported above
) -> None:
    """The worker runs outside any request: the language comes from the application, and the
    mail reaches a real SMTP server in English (what staff typed is quoted as they typed it)."""
    version = publish(tenant_a.municipality)
    with translation.override("en"):
        application = kyufukin_submit(version).application
    assert application.language == "en"
    smtp_server.messages.clear()  # the receipt
    clerk = staff_context(tenant_a, "clerk")

    with translation.override("ja"):  # the clerk's page is in Japanese
        application_transition(
            application=application,
            target="more_info",
            staff=clerk,
            missing_items="住民票の写しを送ってください。",
        )
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)

    [(_sender, _recipients, data)] = smtp_server.messages
    message = email_parser.message_from_bytes(data)
    subject = str(
        email_parser.header.make_header(email_parser.header.decode_header(message["Subject"]))
    )
    assert subject == (
        "[神戸市] Your Special Cash Payment application is now “More documents needed”"
    )
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    text = payload.decode("utf-8").replace("\r\n", "\n")
    receipt = application.receipt_number
    assert text == (
        f"The status of your Special Cash Payment application (receipt number "
        f"{receipt[:5]}-{receipt[5:]})\n"
        "is now “More documents needed”.\n"
        "\n"
        "Please read the request below and send us the missing documents.\n"
        "\n"
        "What we ask of you:\n"
        "住民票の写しを送ってください。\n"
        "\n"
        "Enter your receipt number and verification code on the page below to answer or send "
        "documents.\n"
        f"{settings.MADOGUCHI_SITE_URL}/kobe/status/?receipt={receipt}\n"
        "\n"
        "神戸市\n"
    )
