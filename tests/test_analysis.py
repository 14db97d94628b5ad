"""The Chinese analyzer: tokens, positions, offsets, folding, dictionaries."""
import pytest

from storysearch.index import settings
from storysearch.index.analysis import AnalyzerSettings, bigram_analyzer, text_analysis


def words(text):
    return [(word, pos, start, end) for word, start, end, pos in text_analysis().words(text)]


def grams(text):
    return [(t.text, t.pos, t.startchar, t.endchar) for t in bigram_analyzer()(text, positions=True, chars=True)]


def test_offsets_point_at_the_original_characters():
    text = "推進鄉賢參與基層治理，ＡＢＣ２０２４年"
    for token, _, start, end in words(text) + grams(text):
        assert text_analysis().fold(text[start:end]) == token


def test_positions_count_words_and_subwords_share_their_word_position():
    tokens = words("中国农业发展银行推进乡贤工作")
    assert ("中国", 0, 0, 2) in tokens
    assert ("农业发展银行", 1, 2, 8) in tokens and ("农业", 1, 2, 4) in tokens and ("银行", 1, 6, 8) in tokens
    assert sorted({pos for _, pos, _, _ in tokens}) == list(range(5))


def test_stopwords_are_dropped_without_a_gap():
    tokens = words("乡贤的力量")
    assert [(t, p) for t, p, _, _ in tokens] == [("乡贤", 0), ("力量", 1)]


def test_traditional_and_fullwidth_fold_to_simplified_halfwidth_lowercase():
    assert [t for t, *_ in words("鄉賢參與")] == [t for t, *_ in words("乡贤参与")]
    assert text_analysis().fold("ＡＰ氫能源") == "ap氢能源"


def test_latin_and_digit_runs_stay_whole():
    tokens = [t for t, *_ in words("建立“1+X+N”推进机制，2024年美国AP氢能源，98.8%")]
    for whole in ("1+x+n", "2024", "ap", "98.8"):
        assert whole in tokens
    assert "x" not in tokens and "+" not in tokens


def test_user_dictionary_terms_stay_whole():
    for term in ("小马拉大车", "共富工坊", "网格员", "业委会", "乡贤", "e锦红聚"):
        assert term.lower() in [t for t, *_ in words(f"破解{term}难题")], term


def test_bigram_field_has_every_character_and_pair():
    assert grams("乡贤力量") == [("乡", 0, 0, 1), ("乡贤", 0, 0, 2), ("贤", 1, 1, 2), ("贤力", 1, 1, 3),
                             ("力", 2, 2, 3), ("力量", 2, 2, 4), ("量", 3, 3, 4)]


def test_query_side_grams_are_pairs_or_a_lone_character():
    analysis = text_analysis()
    assert [g for g, *_ in analysis.grams("乡贤，力", unigrams=False)] == ["乡贤", "力"]
    assert [g for g, *_ in analysis.grams("乡贤\n力", unigrams=False)] == ["乡贤", "力"]


def test_spaces_between_chinese_characters_are_not_significant():
    analysis = text_analysis()
    text = "网格连心 组团服务"
    assert [g for g, *_ in analysis.grams(text, unigrams=False)] == [
        g for g, *_ in analysis.grams("网格连心组团服务", unigrams=False)]
    assert [(w, "孟 航"[s:e]) for w, s, e, _ in analysis.words("孟 航")] == [("孟航", "孟 航")]
    assert [text[s:e] for g, s, e, _ in analysis.grams(text, unigrams=False) if g == "心组"] == ["心 组"]


def test_settings_record_a_checksum_that_follows_the_user_dictionary(tmp_path, monkeypatch):
    before = AnalyzerSettings.current().describe()
    extra = tmp_path / "mine.txt"
    extra.write_text("张家村议事厅\n", encoding="utf-8")
    monkeypatch.setenv("STORYSEARCH_USERDICT", str(extra))
    settings.use(settings.load())  # as a command does at its start
    after = AnalyzerSettings.current()
    assert after.describe()["dictionary_checksum"] != before["dictionary_checksum"]
    assert "张家村议事厅" in [w for w, *_ in text_analysis().words("走进张家村议事厅")]
    monkeypatch.setenv("STORYSEARCH_USERDICT", str(tmp_path / "missing.txt"))
    settings.use(settings.load())
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        AnalyzerSettings.current().user_words()


def test_an_index_built_elsewhere_with_the_same_dictionaries_differs_in_nothing():
    """Building and searching ask the same question (index/analysis.analyzer_differences):
    the dictionaries' paths are for people, their words the checksum's."""
    from storysearch.index.analysis import analyzer_differences, analyzer_settings

    now = analyzer_settings()
    assert analyzer_differences({**now, "userdicts": ["/opt/elsewhere/userdict.txt"]}, now) == []
    assert analyzer_differences({**now, "dictionary_checksum": "0" * 64}, now) == ["dictionary_checksum"]
    assert "analyzer_version" in analyzer_differences(None, now)
