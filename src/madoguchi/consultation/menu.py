"""Menu entries of consultation: the hand-over inbox, the knowledge base, LINE, the chat."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from madoguchi.accounts.permissions import StaffContext
from madoguchi.consultation import selectors
from madoguchi.core.menus import PublicServiceEntry, StaffMenuEntry, register
from madoguchi.surveillance.selectors import is_clinic_account
from madoguchi.tenants.models import Municipality, Role

# As in consultation.views: staff_view(roles=...) counts municipality-wide roles.
_EDITORS = [Role.ADMIN, Role.SUPERVISOR]


def _reads_handovers(staff: StaffContext) -> bool:
    # Every member of the municipality, except a clinic's account (docs/surveillance.md).
    return not is_clinic_account(user_id=staff.user.pk)


def _editor(staff: StaffContext) -> bool:
    return staff.has_role(_EDITORS)


def _admin(staff: StaffContext) -> bool:
    return staff.has_role([Role.ADMIN])


def _chat_open(municipality: Municipality) -> bool:
    return selectors.chat_open(municipality=municipality)


def _line_friend(municipality: Municipality) -> bool:
    return bool(selectors.line_friend_url(municipality=municipality))


register(
    StaffMenuEntry(
        key="consultation-inbox",
        label=_("相談の受付（チャットの引き継ぎ）"),
        url_name="consultation:inbox",
        allowed=_reads_handovers,
        section="consultation",
        order=10,
    ),
    StaffMenuEntry(
        key="consultation-faq",
        label=_("よくある質問の編集"),
        url_name="consultation:faq",
        allowed=_editor,
        section="consultation",
        order=20,
    ),
    StaffMenuEntry(
        key="consultation-faq-try",
        label=_("質問を試す（回答の確認）"),
        url_name="consultation:faq-try",
        allowed=_editor,
        section="consultation",
        order=22,
    ),
    StaffMenuEntry(
        key="consultation-faq-index",
        label=_("検索用の索引の再構築"),
        url_name="consultation:faq-index",
        allowed=_editor,
        section="consultation",
        order=24,
    ),
    StaffMenuEntry(
        key="consultation-synonyms",
        label=_("同義語の辞書"),
        url_name="consultation:synonyms",
        allowed=_editor,
        section="consultation",
        order=30,
    ),
    StaffMenuEntry(
        key="consultation-learning",
        label=_("答えられなかった質問"),
        url_name="consultation:learning",
        allowed=_editor,
        section="consultation",
        order=40,
    ),
    StaffMenuEntry(
        key="consultation-line",
        label=_("LINE公式アカウントの設定"),
        url_name="consultation:line",
        allowed=_admin,
        section="admin",
        order=40,
    ),
    PublicServiceEntry(
        key="chat",
        label=_("よくある質問・相談"),
        description=_("質問を入力すると自動でお答えします。必要なときは職員に引き継ぎます"),
        url_name="consultation:chat",
        enabled=_chat_open,
        order=30,
    ),
    PublicServiceEntry(
        key="line",
        label=_("LINEで相談する"),
        description=_("LINE公式アカウントを友だちに追加すると、LINEで質問できます"),
        url_name="consultation:line-friend",
        enabled=_line_friend,
        order=40,
    ),
)
