"""Tokens for Japanese retrieval: normalised forms meet, function words are dropped."""

from __future__ import annotations

import pytest

from madoguchi.consultation.retrieval.text import SynonymTable, content_tokens, normalize_query


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("問合せ", "問い合わせ"),
        ("ｶｰﾄﾞ", "カード"),
        ("申込み", "申し込み"),
        ("ＰＣ", "pc"),
    ],
)
def test_spelling_variants_give_the_same_tokens(one: str, other: str) -> None:
    assert content_tokens(one) == content_tokens(other)


def test_function_words_and_politeness_are_dropped() -> None:
    """Particles, auxiliaries and する/ください carry no topic."""
    assert content_tokens("住民票をください") == content_tokens("住民票")
    assert set(content_tokens("マイナンバーカードを申請したいのですが")) == {
        "マイナンバー",
        "カード",
        "申請",
        "マイナンバーカード",
    }


def test_mode_c_compounds_are_added_to_mode_a_words() -> None:
    assert content_tokens("住民票の写し") == ["住民", "票", "写し", "住民票"]


def test_normalize_query_folds_width_and_case() -> None:
    assert normalize_query("ﾏｲﾅﾝﾊﾞｰ　ＣＡＲＤ") == "マイナンバー card"


def test_empty_emoji_and_huge_input() -> None:
    assert content_tokens("") == []
    assert content_tokens("😀😀") == content_tokens("😀😀")  # no error
    assert len(content_tokens("ごみ" * 5000)) > 0  # cut before SudachiPy's input limit


def test_synonyms_expand_in_both_directions() -> None:
    table = SynonymTable.from_groups([["マイナンバー", "個人番号"], ["ひとつだけ"]])
    assert table.groups == (("マイナンバー", "個人番号"),)
    assert "マイナンバー" in table.expand_tokens("個人番号カードの申請")
    assert "個人" in table.expand_tokens("マイナンバーカードの申請")
    assert table.expand_tokens("住民票") == content_tokens("住民票")
