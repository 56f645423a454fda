"""Who may read a hand-over: never a clinic; unassigned ones only municipality-wide staff."""

from __future__ import annotations

from django.test import Client

from madoguchi.audit.models import AuditEntry, EntryKind
from madoguchi.audit.services import AuditActor
from madoguchi.consultation.assistant import assistant_handle_action, conversation_open
from madoguchi.consultation.models import Channel, Conversation, Message, Sender
from madoguchi.consultation.notify import staff_mail_recipients
from madoguchi.tenants.models import Role
from madoguchi.tenants.services import membership_grant
from tests.isolation import Tenant, assert_cannot_read, signed_in_client
from tests.surveillance.factories import make_world

INBOX = "/kobe/chat/staff/"
SECRET = "マイナンバーカードをなくした"


def _handed_over(tenant: Tenant, *, department_code: str | None) -> Conversation:
    conversation = conversation_open(municipality=tenant.municipality, channel=Channel.WEB)
    Message.objects.create(
        municipality=tenant.municipality,
        conversation=conversation,
        sender=Sender.RESIDENT,
        text=SECRET,
    )
    assistant_handle_action(conversation=conversation, payload="handover")
    conversation.refresh_from_db()
    if department_code is not None:
        department = tenant.municipality.departments.get(code=department_code)
        Conversation.objects.filter(pk=conversation.pk).update(department=department)
        conversation.refresh_from_db()
    return conversation


def _url(conversation: Conversation) -> str:
    return f"/kobe/chat/staff/conversations/{conversation.pk}/"


def test_a_clinic_reads_no_hand_over_of_any_department(kobe_kb: Tenant, tenant_b: Tenant) -> None:
    world = make_world(kobe_kb, tenant_b)
    unassigned = _handed_over(kobe_kb, department_code=None)
    # Even one (wrongly) assigned to the clinics' own department stays closed to them.
    own = _handed_over(kobe_kb, department_code=world.clinic.user.memberships.get().department.code)
    clinic = signed_in_client(world.clinic.user)

    assert_cannot_read(clinic, INBOX, must_not_contain=[str(unassigned.pk), str(own.pk)])
    for conversation in (unassigned, own):
        assert_cannot_read(clinic, _url(conversation), must_not_contain=[SECRET])
    assert not AuditEntry.objects.filter(kind=EntryKind.ACCESS).exists()


def test_an_unassigned_hand_over_is_open_to_municipality_wide_staff_only(
    kobe_kb: Tenant,
) -> None:
    conversation = _handed_over(kobe_kb, department_code=None)
    # The kit's viewer and clerk work in 福祉課; neither is responsible for unassigned ones.
    for role in ("viewer", "clerk"):
        client = kobe_kb.client(role)
        assert str(conversation.pk) not in client.get(INBOX).content.decode()
        assert_cannot_read(client, _url(conversation), must_not_contain=[SECRET])
    assert not AuditEntry.objects.filter(kind=EntryKind.ACCESS).exists()

    admin = kobe_kb.client("admin")
    assert str(conversation.pk) in admin.get(INBOX).content.decode()
    page = admin.get(_url(conversation))
    assert page.status_code == 200
    assert SECRET in page.content.decode()


def test_a_clinic_is_never_mailed_about_a_hand_over(kobe_kb: Tenant, tenant_b: Tenant) -> None:
    world = make_world(kobe_kb, tenant_b)
    user = world.clinic.user
    user.email = "clinic@example.jp"
    user.save(update_fields=["email"])
    department = user.memberships.get().department
    assert department is not None
    # A role that answers, granted by mistake, must not open the hand-over mail to a clinic.
    membership_grant(
        municipality=kobe_kb.municipality,
        user=user,
        role=Role.CLERK,
        department=department,
        actor=AuditActor(label="test"),
    )
    conversation = _handed_over(kobe_kb, department_code=department.code)
    assert staff_mail_recipients(conversation=conversation) == []
    assert_cannot_read(signed_in_client(user), _url(conversation), must_not_contain=[SECRET])


def test_a_department_member_still_reads_the_department_s_hand_over(kobe_kb: Tenant) -> None:
    conversation = _handed_over(kobe_kb, department_code="welfare")
    viewer = kobe_kb.client("viewer")
    assert str(conversation.pk) in viewer.get(INBOX).content.decode()
    assert SECRET in viewer.get(_url(conversation)).content.decode()
    assert Client().get(_url(conversation)).status_code == 302


def test_the_conversation_page_shows_no_stray_notice_per_message(kobe_kb: Tenant) -> None:
    """The page's own messages must not be rendered again as the site's notices."""
    conversation = _handed_over(kobe_kb, department_code=None)
    page = kobe_kb.client("admin").get(_url(conversation)).content.decode()
    assert 'class="messages"' not in page
    assert f"resident@{conversation.pk}" not in page
    assert page.count(SECRET) == 1
