"""The JSON API and the search page."""
import pytest


def test_api_search_has_the_cli_shape(client):
    response = client.get("/api/search", query_string={"q": "乡贤", "mode": "hybrid", "k": 5})
    assert response.status_code == 200
    data = response.get_json()
    assert {"query", "mode", "hits"} <= set(data)
    assert len(data["hits"]) == 5
    assert {"id", "headline", "source", "score", "rank", "ranks"} <= set(data["hits"][0])
    assert "乡贤" in data["hits"][0]["headline"]


def test_api_errors_have_one_shape(client):
    for params in ({"q": "x", "mode": "nope"}, {"q": "x", "k": "ten"}, {"q": "x", "k": "-1"}):
        response = client.get("/api/search", query_string=params)
        assert response.status_code == 400
        data = response.get_json()
        assert data["ok"] is False and data["status"] == 400 and data["error"]
    missing = client.get("/api/nothing-here")
    assert missing.status_code == 404 and missing.get_json()["status"] == 404


def test_search_page_shows_results_with_source_and_snippet(client):
    page = client.get("/", query_string={"q": "桑基鱼塘", "mode": "keyword"}).get_data(as_text=True)
    assert "筑巢引凤 助企业发展" in page
    assert "000_472abf4c9f81a632.txt" in page
    assert "桑基鱼塘" in page.split("筑巢引凤 助企业发展", 1)[1]
    assert 'role="search"' in page


def test_search_page_escapes_the_query(client):
    page = client.get("/", query_string={"q": "<script>alert(1)</script>"}).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page


def test_search_page_reports_a_bad_mode(client):
    response = client.get("/", query_string={"q": "乡贤", "mode": "nope"})
    assert response.status_code == 400
    assert "不认识的检索方式" in response.get_data(as_text=True)
    assert "unknown mode" in client.get("/api/search", query_string={"q": "乡贤", "mode": "nope"}).get_json()["error"]


@pytest.mark.parametrize("path, params, status, words", [
    ("/", {"q": "乡贤", "k": "abc"}, 400, "每页篇数"),
    ("/", {"q": "乡贤", "page": "9999"}, 400, "页码"),
    ("/", {"q": "乡贤", "page": "30"}, 400, "没有第 30 页"),
    ("/", {"q": "乡贤", "fusion": "zz"}, 400, "不认识的合并方式"),
    ("/", {"q": "乡贤", "sort": "best"}, 400, "不认识的排序方式"),
    ("/story/nonexistent", {}, 404, "没有找到编号为“nonexistent”的报道"),
    ("/no/such/page", {}, 404, "没有找到这个页面或这篇报道"),
])
def test_html_errors_are_in_chinese(client, path, params, status, words):
    response = client.get(path, query_string=params)
    assert response.status_code == status and words in response.get_data(as_text=True)
    assert client.post("/").status_code == 405 and "不接受这种请求方式" in client.post("/").get_data(as_text=True)


def test_results_show_headline_authors_and_source_and_link_the_story(client, engine):
    page = client.get("/", query_string={"q": "桑基鱼塘", "mode": "keyword"}).get_data(as_text=True)
    story = next(s for s in engine.stories.values() if s.headline == "筑巢引凤 助企业发展")
    assert "宋豪章" in page and story.source in page
    assert f"/story/{story.id}" in page


def test_story_page_shows_the_whole_clean_story(client, engine):
    story = next(s for s in engine.stories.values() if s.headline == "人大助力 城乡风貌美")
    page = client.get(f"/story/{story.id}").get_data(as_text=True)
    for paragraph in story.paragraphs:
        assert paragraph in page
    assert "沈璐璐" in page and "(沈璐璐)" not in page
    assert client.get(f"/api/story/{story.id}").get_json()["paragraphs"] == story.paragraphs


def test_story_page_shows_captions_and_flags(client, engine):
    story = next(s for s in engine.stories.values() if s.headline == "画好社区共建共治共享“同心圆”")
    page = client.get(f"/story/{story.id}").get_data(as_text=True)
    assert "图片由杭州市临平区崇贤街道提供" in page
    truncated = next(s for s in engine.stories.values() if s.flags.truncated)
    assert "后文不在本版" in client.get(f"/story/{truncated.id}").get_data(as_text=True)


def test_unknown_story_is_a_404(client):
    assert client.get("/story/nope").status_code == 404
    response = client.get("/api/story/..%2F..%2Fetc%2Fpasswd")
    assert response.status_code == 404 and response.get_json()["ok"] is False


def test_api_malformed_queries_answer_200_or_a_clear_400(client):
    for query in ['"乡贤', "，。！？", "x" * 10000, "乡贤\x00参与", "-"]:
        response = client.get("/api/search", query_string={"q": query, "mode": "keyword"})
        assert response.status_code in (200, 400), query
        data = response.get_json()
        assert "hits" in data if response.status_code == 200 else data["error"]
    too_long = client.get("/api/search", query_string={"q": "x" * 10001})
    assert too_long.status_code == 400 and "longer than" in too_long.get_json()["error"]


def test_search_page_marks_matches(client):
    page = client.get("/", query_string={"q": "桑基鱼塘", "mode": "keyword"}).get_data(as_text=True)
    assert "<mark>桑基鱼塘</mark>" in page


def test_invalid_percent_escapes_are_refused(client):
    for path in ("/api/search?q=%FF%FE", "/api/search?q=%E4%B9&mode=keyword", "/api/similar?text=%C0%AF"):
        response = client.get(path)
        assert response.status_code == 400, path
        data = response.get_json()
        assert data["ok"] is False and data["status"] == 400 and "UTF-8" in data["error"], path
    for path in ("/?q=%FF%FE", "/embed?q=%FF%FE", "/?q=%E4%B9%A1&mode=%FF"):
        response = client.get(path)
        assert response.status_code == 400, path
        assert "编码" in response.get_data(as_text=True) and "\ufffd" not in response.get_data(as_text=True), path
    assert client.get("/api/search?q=%E4%B9%A1%E8%B4%A4&mode=keyword").status_code == 200
