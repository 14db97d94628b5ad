"""Property tests: random and hostile input never crashes anything, gets a
clear 4xx or a skipped-file report, and loses no indexed data."""
import json
from urllib.parse import quote

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from storysearch.index.corpus import UnreadableFile, decode_page
from storysearch.index.segment import segment_page
from storysearch.searcher.engine import QueryError
from storysearch.searcher.lexical import condition_queries
from storysearch.searcher.query import parse_query

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
SLOW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
CHINESE = st.text(alphabet=st.sampled_from(list("乡贤参与基层治理社区停车难怎么解决，。！？“”‘’（）()-:：\"  \n")), max_size=80)
ANY_TEXT = st.one_of(st.text(max_size=300), CHINESE)


@FAST
@given(st.binary(max_size=2000))
def test_any_bytes_decode_or_get_a_reason(data):
    try:
        text, encoding, unreadable = decode_page(data)
    except UnreadableFile as exc:
        assert str(exc)
    else:
        assert encoding in ("utf-8", "gb18030") and "\r" not in text
        assert (text.count("\ufffd") > data.decode(encoding, "ignore").count("\ufffd")) == bool(unreadable)


@FAST
@given(st.text(max_size=200).map(lambda t: t.encode("gbk", errors="ignore")))
def test_gbk_text_is_read_back(data):
    if not data.isascii():  # a few short byte strings are valid UTF-8 and GBK at once; UTF-8 wins those
        try:
            data.decode("utf-8")
            assume(False)
        except UnicodeDecodeError:
            pass
    try:
        text, *_ = decode_page(data)
    except UnreadableFile:
        return
    assert text.replace("\n", "") == data.decode("gb18030").replace("\r\n", "\n").replace("\r", "\n").replace("\n", "")


@FAST
@given(st.lists(st.one_of(ANY_TEXT, CHINESE, st.just(""), st.just("(张三 李四)"), st.just("图为某地。")), max_size=30))
def test_any_page_segments_and_every_line_is_accounted_for(lines):
    text = "\n".join(lines)
    result = segment_page("fuzz.txt", text)
    nonempty = {no for no, line in enumerate(text.split("\n"), 1) if line.strip()}
    used = [no for story in result.stories for no in story.lines] + [d.no for d in result.debris]
    assert sorted(used) == sorted(nonempty)
    assert len({s.id for s in result.stories}) == len(result.stories)


@FAST
@given(ANY_TEXT)
def test_any_query_parses_and_builds(text):
    parsed = parse_query(text)
    condition_queries(parsed)


@FAST
@given(st.text(min_size=1000, max_size=20000))
def test_huge_queries_are_cut(text):
    assert len(parse_query(text).text) <= 1000


@SLOW
@given(query=ANY_TEXT, mode=st.sampled_from(["keyword", "semantic", "hybrid"]))
def test_any_query_searches_or_says_why(engine, query, mode):
    try:
        hits = engine.search(query, mode, 10)
    except QueryError as exc:
        assert str(exc)
    else:
        assert all(hit.docid in engine.stories for hit in hits)


PARAMS = st.fixed_dictionaries({}, optional={
    "q": ANY_TEXT, "mode": st.one_of(st.sampled_from(["hybrid", "keyword", "semantic"]), st.text(max_size=10)),
    "k": st.one_of(st.integers(-5, 200).map(str), st.text(max_size=5)),
    "page": st.one_of(st.integers(-2, 2000).map(str), st.text(max_size=5)),
    "fusion": st.one_of(st.sampled_from(["rrf", "weighted"]), st.text(max_size=5)),
    "source": st.text(max_size=20), "author": st.text(max_size=10), "explain": st.text(max_size=3)})


@SLOW
@given(PARAMS)
def test_api_answers_any_parameters_with_results_or_a_clear_400(client, params):
    response = client.get("/api/search", query_string=params)
    data = response.get_json()
    assert response.status_code in (200, 400)
    if response.status_code == 400:
        assert data["ok"] is False and data["status"] == 400 and data["error"]
    else:
        assert isinstance(data["hits"], list)


@FAST
@given(st.one_of(st.text(max_size=40), st.sampled_from(["../../etc/passwd", "..", "%2e%2e%2f", "a/../../b",
                                                          "\x00", "000_472abf4c9f81a632-999"])))
def test_any_story_id_is_found_or_a_404(client, engine, story_id):
    for prefix in ("/api/story/", "/api/similar/", "/story/"):
        response = client.get(prefix + quote(story_id, safe=""))
        assert response.status_code in (200, 404, 400), (prefix, story_id)
        if prefix.startswith("/api/") and response.status_code != 200:
            assert response.get_json()["ok"] is False
        if response.status_code == 200:
            assert story_id in engine.stories


@SLOW
@given(st.text(max_size=300))
def test_similar_to_any_text(client, text):
    response = client.get("/api/similar", query_string={"text": text})
    assert response.status_code in (200, 400)


def test_fuzzing_lost_no_indexed_data(client, engine):
    data = client.get("/api/search", query_string={"q": "桑基鱼塘", "mode": "keyword"}).get_json()
    assert data["hits"][0]["headline"] == "筑巢引凤 助企业发展"
    assert len(engine.stories) == 38
    assert json.loads(json.dumps(data))
