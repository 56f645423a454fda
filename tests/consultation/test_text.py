"""Tokens for Japanese retrieval: normalised forms meet, function words are dropped."""

from __future__ import annotations

import pytest

from madoguchi.consultation.retrieval.text import (
    KanaSpellings,
    SynonymTable,
    colloquial_expansions,
    content_tokens,
    lexical_terms,
    normalize_query,
    romaji_as_kana,
)


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


@pytest.mark.parametrize(
    ("one", "other"),
    [("ごみ", "ゴミ"), ("ごみ", "塵"), ("そだいごみ", "粗大ごみ"), ("捨てたい", "捨てる")],
)
def test_kana_and_kanji_spellings_share_readings(one: str, other: str) -> None:
    """Their normalised forms differ (ごみ/ゴミ/塵); their readings meet."""
    assert set(lexical_terms(one).readings) <= set(lexical_terms(other).readings)


@pytest.mark.parametrize(
    ("one", "other"),
    [("でかい", "大きい"), ("スマホ", "スマートフォン"), ("PC", "パソコン"), ("保育園", "保育所")],
)
def test_sudachi_synonym_groups_connect_different_words(one: str, other: str) -> None:
    assert content_tokens(one) != content_tokens(other)
    assert set(lexical_terms(one).synonyms) & set(lexical_terms(other).synonyms)


def test_unrelated_words_share_no_synonym_group() -> None:
    assert not set(lexical_terms("住民票").synonyms) & set(lexical_terms("でかい").synonyms)
    assert not set(lexical_terms("スマホ").synonyms) & set(lexical_terms("保育園").synonyms)


def test_a_misspelt_word_keeps_most_reading_bigrams() -> None:
    """住民表 (a typo) and じゅうみんひょう (kana) read as 住民票 does."""
    right = set(lexical_terms("住民票").grams)
    assert set(lexical_terms("住民表").grams) == right
    assert len(set(lexical_terms("じゅうみんひょう").grams) & right) >= len(right) - 1
    kanji = set(lexical_terms("ごみ収集日").grams)
    assert len(set(lexical_terms("ごみしゅうしゅうび").grams) & kanji) >= len(kanji) - 1


def test_reading_bigrams_do_not_cross_punctuation() -> None:
    assert "ミシ" not in lexical_terms("ごみ。しゅうしゅう").grams
    assert lexical_terms("").grams == ()


def test_romaji_words_are_read_as_kana() -> None:
    assert romaji_as_kana("gomi no dashikata") == "ごみ だしかた"
    assert romaji_as_kana("juuminhyou") == "じゅうみんひょう"
    assert romaji_as_kana("sodaigomi") == "そだいごみ"


@pytest.mark.parametrize("text", ["pc", "mynumber", "wifi", "line", "ok", "ﾊﾟｿｺﾝ", ""])
def test_latin_words_that_are_not_romaji_stay_as_they_are(text: str) -> None:
    assert romaji_as_kana(normalize_query(text)) == ""


@pytest.mark.parametrize(
    ("question", "standard"),
    [
        ("でかいゴミを捨てたい", "粗大ごみ"),
        ("児童手当っていつ振り込まれる？", "支給日"),
        ("手当はいつもらえるの", "支給日"),
        ("カードをなくしちゃった", "紛失"),
        ("ワクチンを打ちたい", "予防接種"),
        ("マイナンバーカードを落としました", "紛失"),  # polite forms too
        ("ｿﾌｧｰを捨てたい", "粗大ごみ"),  # things named → the category municipalities use
        ("古い冷蔵庫を引き取ってほしい", "家電リサイクル"),
    ],
)
def test_colloquial_phrases_bring_the_standard_terms(question: str, standard: str) -> None:
    expansions = " ".join(colloquial_expansions(normalize_query(question)))
    assert standard in expansions.split()


def test_plain_questions_bring_no_colloquial_terms() -> None:
    assert colloquial_expansions(normalize_query("住民票の写しを取りたい")) == []
    assert colloquial_expansions(normalize_query("")) == []


def _spellings(*texts: str) -> KanaSpellings:
    return KanaSpellings.from_pairs(p for t in texts for p in lexical_terms(t).spellings)


@pytest.mark.parametrize(
    ("question", "restored"),
    [
        ("こくみんけんこうほけんのかにゅう", "国民健康保険の加入"),
        ("にゅうようじけんしんのにってい", "乳幼児健診の日程"),
        ("じどうてあての申請", "児童手当の申請"),
    ],
)
def test_a_question_typed_in_kana_is_written_as_the_knowledge_base_writes(
    question: str, restored: str
) -> None:
    spellings = _spellings("国民健康保険に加入する", "乳幼児健診の日程", "児童手当の申請")
    assert spellings.restore(normalize_query(question)) == restored


def test_kana_restoration_leaves_kanji_short_kana_and_unknown_words_alone() -> None:
    spellings = _spellings("国民健康保険に加入する", "児童手当")
    # 保険 is written already; の and を are too short; こんにちは is no word of the entries.
    assert spellings.restore("保険のこんにちは") == "保険のこんにちは"
    assert spellings.restore("いつ") == "いつ"
    assert _spellings().restore("じどうてあて") == "じどうてあて"


def test_kana_restoration_never_covers_inflections_or_auxiliaries() -> None:
    """死体 and 指定 are words of the entries, but not in these questions."""
    spellings = _spellings("動物の死体の回収", "指定ごみ袋", "粗大ごみの申込み")
    assert spellings.restore("粗大ごみを出したい") == "粗大ごみを出したい"
    assert spellings.restore("回収していただけますか") == "回収していただけますか"


def test_kana_restoration_takes_the_knowledge_bases_usual_spelling() -> None:
    """One reading written two ways: the spelling the entries use most wins."""
    spellings = KanaSpellings.from_pairs(
        [("ほいくえん", "保育園"), ("ほいくえん", "保育園"), ("ほいくえん", "ほいく園")]
    )
    assert spellings.restore("ほいくえん") == "保育園"
