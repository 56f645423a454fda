"""Staff pages: FAQ editing, synonyms, the learning loop, LINE settings; index rebuilds."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
from django.test import Client

from madoguchi.audit.models import AuditEntry
from madoguchi.consultation.models import FaqEntry, LineChannel, Message, SynonymGroup
from madoguchi.consultation.retrieval.embedding import Vectors, embedders
from madoguchi.consultation.retrieval.index import texts_to_embed
from madoguchi.consultation.retrieval.store import index_for
from madoguchi.consultation.selectors import faq_entries_for_index, knowledge_version
from tests.isolation import Tenant, assert_cannot_change, snapshot

FAQ_NEW = "/kobe/chat/staff/faq/new/"
ENTRY = {
    "code": "dog-walk",
    "category": "その他",
    "department": "welfare",
    "question": "犬の散歩のマナー",
    "alternatives": "ふんの始末\nリードの長さ",
    "answer": "ふんは持ち帰ってください。",
    "is_published": "on",
}


def test_an_editor_adds_an_entry_and_the_assistant_uses_it(tenant_a: Tenant) -> None:
    admin = tenant_a.client("admin")
    assert admin.post(FAQ_NEW, ENTRY).status_code == 302
    entry = FaqEntry.objects.get(code="dog-walk")
    assert entry.alternatives == ["ふんの始末", "リードの長さ"]
    assert knowledge_version(municipality=tenant_a.municipality) == 1
    assert AuditEntry.objects.filter(action="consultation.faq.create").count() == 1
    resident = Client()
    resident.post("/kobe/chat/", {"action": "ask", "question": "散歩中の犬のふんはどうする"})
    assert "ふんは持ち帰ってください。" in resident.get("/kobe/chat/").content.decode()


def test_a_duplicate_code_is_refused_and_nothing_changes(tenant_a: Tenant) -> None:
    admin = tenant_a.client("admin")
    admin.post(FAQ_NEW, ENTRY)
    before = snapshot(FaqEntry.objects.all())
    response = admin.post(FAQ_NEW, {**ENTRY, "question": "別の質問"})
    assert response.status_code == 400
    assert "管理番号「dog-walk」はすでに使われています。" in response.content.decode()
    assert snapshot(FaqEntry.objects.all()) == before


def test_clerks_and_viewers_cannot_edit_the_knowledge_base(tenant_a: Tenant) -> None:
    for role in ("clerk", "viewer"):
        assert_cannot_change(
            tenant_a.client(role),
            FAQ_NEW,
            data=ENTRY,
            state=lambda: snapshot(FaqEntry.objects.all()),
        )
        assert_cannot_change(
            tenant_a.client(role),
            "/kobe/chat/staff/synonyms/",
            data={"terms": "a、b"},
            state=lambda: snapshot(SynonymGroup.objects.all()),
        )


def test_synonyms_merge_into_one_group_and_bad_input_is_refused(tenant_a: Tenant) -> None:
    admin = tenant_a.client("admin")
    url = "/kobe/chat/staff/synonyms/"
    assert admin.post(url, {"terms": "マイナンバー、個人番号"}).status_code == 302
    assert admin.post(url, {"terms": "個人番号,マイナ"}).status_code == 302
    assert list(SynonymGroup.objects.values_list("terms", flat=True)) == [
        ["マイナンバー", "個人番号", "マイナ"]
    ]
    response = admin.post(url, {"terms": "ひとつ"})
    assert response.status_code == 400
    assert "同じ意味の言葉を2つ以上" in response.content.decode()
    group = SynonymGroup.objects.get()
    assert admin.post(url, {"action": "delete", "group": str(group.pk)}).status_code == 302
    assert not SynonymGroup.objects.exists()


def test_unanswered_questions_become_an_entry_in_one_step(kobe_kb: Tenant) -> None:
    resident = Client()
    for question in ("ドローンを飛ばしてもいい？", "ドローンを飛ばしてもいい？", "今日の天気は"):
        resident.post("/kobe/chat/", {"action": "ask", "question": question})
    admin = kobe_kb.client("admin")
    page = admin.get("/kobe/chat/staff/learning/").content.decode()
    assert "ドローンを飛ばしてもいい？" in page  # stored as typed
    assert AuditEntry.objects.filter(
        kind="access",
        object_type="consultation.learning",
        purpose="FAQ改善のための未回答の質問の確認",
    ).exists()
    ids = ",".join(
        str(m.pk)
        for m in Message.objects.filter(sender="resident")
        if m.text == "ドローンを飛ばしてもいい？"
    )
    response = admin.post(
        "/kobe/chat/staff/learning/",
        {
            "messages": ids,
            "action": "faq",
            "question": "ドローンを飛ばしたい",
            "code": "drone",
            "category": "その他",
            "answer": "公園の上では飛ばせません。",
        },
    )
    assert response.status_code == 302
    entry = FaqEntry.objects.get(code="drone")
    assert entry.alternatives == ["ドローンを飛ばしてもいい？"]
    assert not Message.objects.filter(pk__in=ids.split(","), reviewed_at=None).exists()
    assert (
        "ドローンを飛ばしてもいい？" not in admin.get("/kobe/chat/staff/learning/").content.decode()
    )
    resident.post("/kobe/chat/", {"action": "ask", "question": "ドローンを飛ばしてもいいですか"})
    assert "公園の上では飛ばせません。" in resident.get("/kobe/chat/").content.decode()


def test_a_learning_action_without_its_fields_is_refused(kobe_kb: Tenant) -> None:
    Client().post("/kobe/chat/", {"action": "ask", "question": "ドローンを飛ばしてもいい？"})
    message = Message.objects.get(sender="resident")
    admin = kobe_kb.client("admin")
    before = snapshot(FaqEntry.objects.all())
    response = admin.post(
        "/kobe/chat/staff/learning/", {"messages": str(message.pk), "action": "faq", "code": "x"}
    )
    assert response.status_code == 400
    assert snapshot(FaqEntry.objects.all()) == before
    message.refresh_from_db()
    assert message.reviewed_at is None


def test_line_settings_are_stored_encrypted_and_never_shown(tenant_a: Tenant) -> None:
    admin = tenant_a.client("admin")
    url = "/kobe/chat/staff/line/"
    response = admin.post(url, {"channel_secret": "s3cret-value", "access_token": "t0ken-value"})
    assert response.status_code == 302
    page = admin.get(url).content.decode()
    assert "s3cret-value" not in page
    assert "t0ken-value" not in page
    assert "http://testserver/kobe/line/webhook" in page
    assert LineChannel.objects.get().access_token == "t0ken-value"
    assert_cannot_change(
        tenant_a.client("supervisor"),
        url,
        data={"channel_secret": "x", "access_token": "y"},
        state=lambda: snapshot(LineChannel.objects.all()),
    )


class CountingEmbedder:
    """Characters hashed into 64 dimensions; counts the texts it embeds."""

    name = "counting-test"
    dim = 64

    def __init__(self) -> None:
        self.embedded: list[str] = []

    def _vectors(self, texts: Sequence[str]) -> Vectors:
        self.embedded.extend(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for char in text:
                out[row, hashlib.sha256(char.encode()).digest()[0] % self.dim] += 1
            out[row] /= max(float(np.linalg.norm(out[row])), 1.0)
        return out

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return self._vectors(texts)

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        return self._vectors(texts)


def test_an_edit_rebuilds_the_index_and_embeds_only_what_changed(kobe_kb: Tenant) -> None:
    from madoguchi.consultation.retrieval.store import index_store

    index_store.clear()  # vectors too: this test counts every embedding
    embedder = CountingEmbedder()
    with embedders.use(embedder):
        first = index_for(kobe_kb.municipality)
        # Each phrasing the model reads (an entry's first English phrasing only) and answer.
        phrasings, answers = texts_to_embed(
            faq_entries_for_index(municipality=kobe_kb.municipality)
        )
        assert len(embedder.embedded) == len(phrasings) + len(answers)
        assert index_for(kobe_kb.municipality) is first  # shared until something changes
        embedder.embedded.clear()
        kobe_kb.client("admin").post(FAQ_NEW, ENTRY)
        second = index_for(kobe_kb.municipality)
        assert second is not first
        assert sorted(embedder.embedded) == sorted(
            ["犬の散歩のマナー", "ふんの始末", "リードの長さ", "ふんは持ち帰ってください。"]
        )
        assert len(second) == len(first) + 1
