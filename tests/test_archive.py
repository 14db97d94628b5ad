"""An archive of dated pages: filters, the query's filter fields, date sorting
over every match, exact totals and facets (issue 12)."""
import pytest
from conftest import PAPERS

from storysearch.searcher.engine import MAX_RESULTS, QueryError
from storysearch.searcher.filters import Filters
from storysearch.web.records import search_response


def test_totals_count_every_match_not_a_top_cut(archive):
    engine, _ = archive
    response = search_response(engine, "垃圾分类", "keyword", 10)
    assert response["total"] == 130 and response["ranked"] == MAX_RESULTS
    assert search_response(engine, "垃圾分类 source:浙江日报", "keyword", 10)["total"] == 70


def test_date_filters_take_years_months_and_days_inclusively(archive):
    engine, dates = archive
    def dates_of(filters, query="垃圾分类"):
        return {engine.stories[h.docid].date for h in engine.search(query, "keyword", 100, filters)}

    assert dates_of({"date_from": "2024"}) == {d for d in dates if d >= "2024"}
    assert dates_of({"date_from": "2022-03", "date_to": "2022-05"}) == {d for d in dates if "2022-03" <= d <= "2022-05-31"}
    assert dates_of({"date_to": dates[0]}) == {dates[0]}
    assert dates_of({}, "垃圾分类 date:2023") == {d for d in dates if d.startswith("2023")}
    assert dates_of({}, "垃圾分类 日期:2022-03..2023-02") == {d for d in dates if "2022-03" <= d <= "2023-02-28"}
    assert dates_of({"date_from": "2023"}, "垃圾分类 date:2022..2023") == {d for d in dates if d.startswith("2023")}


def test_paper_author_and_source_filters(archive):
    engine, _ = archive
    for filters, query in (({"paper": "杭州日报"}, "社区治理"), ({}, "社区治理 报纸:杭州日报")):
        hits = engine.search(query, "keyword", 100, filters)
        assert len(hits) == 60 and {engine.stories[h.docid].paper for h in hits} == {"杭州日报"}
    assert {engine.stories[h.docid].authors[0] for h in engine.search("社区治理 author:赵四", "keyword", 100)} == {"赵四"}
    assert search_response(engine, "社区治理 -paper:杭州日报", "keyword", 10)["total"] == 70


def test_bad_filters_are_clear_errors(archive, embedder):
    engine, _ = archive
    for filters, message in (({"date_from": "2024-13"}, "not a date that exists"), ({"date_from": "昨天"}, "is not a date"),
                             ({"date_from": "2024", "date_to": "2023"}, "is after"), ({"city": "杭州"}, "unknown filter")):
        with pytest.raises(QueryError, match=message):
            engine.search("社区", "keyword", 10, filters)
    for query in ("社区 date:2024..2023", "社区 日期:2024-05..2024-04", "社区 -date:2024..2023"):  # as the parameters
        with pytest.raises(QueryError, match="starts at 2024.*after it ends") as refused:
            engine.search(query, "keyword", 10)
        assert "晚于截止日期" in refused.value.chinese


def test_sorting_by_date_covers_every_match(archive):
    engine, dates = archive
    newest = engine.search("垃圾分类", "keyword", 100, sort="newest")
    assert [engine.stories[h.docid].date for h in newest][:10] == [max(dates)] * 10
    relevance = engine.search("垃圾分类", "keyword", 100)
    assert {engine.stories[h.docid].date for h in relevance[:10]} != {max(dates)}  # not just the top by relevance
    oldest = engine.search("垃圾分类", "hybrid", 10, sort="oldest")
    assert {engine.stories[h.docid].date for h in oldest} == {min(dates)}
    scores = [h.score for h in newest[:10]]
    assert scores == sorted(scores, reverse=True)  # one date: the more relevant first


def test_facets_are_exact_and_leave_their_own_filter_out(archive):
    engine, dates = archive
    facets = search_response(engine, "垃圾分类", "keyword", 10, {"paper": "浙江日报"})["facets"]
    assert facets["paper"] == [{"value": "浙江日报", "count": 70}, {"value": "杭州日报", "count": 60}]
    expected_years: dict[str, int] = {}
    for i, date in enumerate(dates):
        if PAPERS[i % 2] == "浙江日报":
            expected_years[date[:4]] = expected_years.get(date[:4], 0) + 10
    assert {e["value"]: e["count"] for e in facets["year"]} == expected_years
    assert facets["month"] and all(len(entry["value"]) == 7 for entry in facets["month"])
    assert {e["value"]: e["count"] for e in facets["author"]}["张一"] == 7
    narrowed = search_response(engine, "垃圾分类", "keyword", 10, {"date_from": "2024"})["facets"]
    assert sum(e["count"] for e in narrowed["year"]) == 130  # the date facet ignores the date filter
    assert sum(e["count"] for e in narrowed["paper"]) == 30  # the others apply it


def test_the_api_takes_filters_sort_and_returns_facets(archive):
    from storysearch.web.app import create_app

    engine, dates = archive
    client = create_app(engine).test_client()
    body = client.get("/api/search", query_string={"q": "垃圾分类", "mode": "keyword", "paper": "杭州日报",
                                                   "date_from": "2023", "sort": "oldest"}).get_json()
    assert body["filters"] == {"paper": "杭州日报", "date_from": "2023"} and body["sort"] == "oldest"
    assert body["hits"][0]["date"] == min(d for i, d in enumerate(dates) if i % 2 and d >= "2023")
    assert {"paper", "year", "author"} <= set(body["facets"])
    bad = client.get("/api/search", query_string={"q": "垃圾分类", "date_to": "2024-02-30"})
    assert bad.status_code == 400 and "not a date" in bad.get_json()["error"]
    page = client.get("/", query_string={"q": "垃圾分类", "date_to": "2024-02-30"})
    assert page.status_code == 400 and "这个日期不存在" in page.get_data(as_text=True)
    assert "sort=oldest" in body["next_url"]


def test_typed_filters_echo_only_what_narrows():
    assert Filters.from_mapping({"paper": " ", "date_from": "2024-3"}).active == {"date_from": "2024-03-01"}


# ------------------------------------------------------------ places on the bundled corpus
def ids_about(engine, place_name):
    return {i for i, s in engine.stories.items() if any(place_name in p["path"] for p in s.places)}


def test_records_carry_places_main_first(engine, client):
    story = engine.stories["001_b59fd8846a464d7b-000"]
    assert story.places[0]["path"] == ["浙江省", "杭州市", "临平区", "崇贤街道"]
    assert {"name", "level", "path", "from", "reason"} <= set(story.places[0])
    hit = search_response(engine, "崇贤", "keyword", 1)["hits"][0]
    assert hit["places"][0] == {"name": "崇贤街道", "level": "town", "path": ["浙江省", "杭州市", "临平区", "崇贤街道"]}
    assert client.get("/api/story/001_b59fd8846a464d7b-000").get_json()["places"][0]["name"] == "崇贤街道"


def test_a_place_filter_finds_the_places_inside_it(engine):
    in_hangzhou = ids_about(engine, "杭州市")
    assert ids_about(engine, "临平区") < in_hangzhou
    for filters, query in (({"place": "杭州市"}, "社区"), ({"place": "杭州"}, "社区"), ({}, "社区 地区:杭州市")):
        found = {h.docid for h in engine.search(query, "keyword", 100, filters)}
        assert found and found <= in_hangzhou, (filters, query)
    assert {h.docid for h in engine.search("", "keyword", 100, {"place": "临平区"})} == ids_about(engine, "临平区")
    facets = search_response(engine, "社区", "keyword", 10, {"place": "嘉兴市"})["facets"]
    assert {"杭州市", "嘉兴市", "秀洲区"} <= {entry["value"] for entry in facets["place"]}  # its own filter left out


def test_browsing_by_place_without_a_query(client):
    body = client.get("/api/search", query_string={"place": "临平区"}).get_json()
    assert body["total"] == len(body["hits"]) >= 3
    page = client.get("/", query_string={"place": "临平区"}).get_data(as_text=True)
    assert "怎么查" not in page and "已筛选" in page and "临平区" in page
    # the order the list is in is the one said: newest first, in the answer and the sort menu; no match badge
    assert body["sort"] == "newest" and [h["date"] for h in body["hits"]] == sorted(
        (h["date"] for h in body["hits"]), reverse=True)
    # (the menu keeps what was asked, so a query typed next is ranked by relevance: the default reads 最新在前)
    assert 'value="relevance" selected>默认（最新在前）' in page and 'class="badge' not in page
    asked = client.get("/api/search", query_string={"place": "临平区", "sort": "oldest"}).get_json()
    assert asked["sort"] == "oldest"


def test_a_filter_that_leaves_nothing_says_so_and_how_many_without_it(client):
    body = client.get("/api/search", query_string={"q": "乡贤", "paper": "萧山党建"}).get_json()
    whole = client.get("/api/search", query_string={"q": "乡贤"}).get_json()
    assert body["total"] == body["related"] == 0 and whole["total"]
    assert body["without_filters"] == whole["total"] + whole["related"] and whole["without_filters"] is None
    page = client.get("/", query_string={"q": "乡贤", "paper": "萧山党建"}).get_data(as_text=True)
    assert f"在所选筛选条件下没有找到与“乡贤”相关的报道（不加筛选有 {body['without_filters']} 篇）" in page
    assert "已筛选" in page  # the filter to take off is shown, though nothing was found
    assert f"去掉筛选条件</a>，有 {body['without_filters']} 篇" in page and "错别字" not in page


def test_no_result_advice_offers_meaning_only_where_the_search_did_not_use_it(client):
    advice = "按意思查找，不要求字面相同"
    assert advice not in client.get("/", query_string={"q": "量子计算机"}).get_data(as_text=True)  # hybrid
    assert advice in client.get("/", query_string={"q": "量子计算机", "mode": "keyword"}).get_data(as_text=True)
