"""The web app: pages and their JSON twins, URL prefix, framing, CORS,
OpenSearch and OpenAPI."""
import json
import logging
import re

import pytest
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.test import Client

from storysearch.index import settings as settings_table
from storysearch.index.embedding import ModelBusy
from storysearch.web.app import create_app
from storysearch.web.settings import SettingsError, WebSettings

PORTAL = "https://portal.example.gov.cn"
CJK = re.compile(r"[\u4e00-\u9fff]")
ACCESS_LINE = re.compile(r'127\.0\.0\.1 - - \[\d{2}/\w{3}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\] '
                         r'"(GET|POST) (\S+) HTTP/1\.1" (\d{3}) (\d+|-) (\d+)ms')


@pytest.fixture(scope="module")
def portal_app(engine):
    return create_app(engine, WebSettings(frame_ancestors=(PORTAL,), cors_origins=(PORTAL,), embed_target="_parent"))


def test_empty_query_shows_help_and_examples(client):
    page = client.get("/").get_data(as_text=True)
    assert "怎么查" in page and "老旧小区停车难怎么解决" in page
    assert 'role="search"' in page and '<label for="q">' in page


def test_no_results_suggest_the_semantic_mode(client):
    page = client.get("/", query_string={"q": "量子计算机", "mode": "keyword"}).get_data(as_text=True)
    assert "没有找到" in page and "mode=semantic" in page


def test_result_count_is_announced_politely(client):
    page = client.get("/", query_string={"q": "乡村振兴"}).get_data(as_text=True)
    data = client.get("/api/search", query_string={"q": "乡村振兴"}).get_json()
    assert data["total"] and data["related"]
    assert 'aria-live="polite"' in page
    assert f"共 {data['total']} 篇含检索词的报道，另有 {data['related']} 篇内容相近" in page


def test_badges_say_where_a_hit_came_from(client):
    page = client.get("/", query_string={"q": "乡贤 教育基金", "k": 40}).get_data(as_text=True)
    assert "关键词+语义</span>" in page and "语义</span>" in page


def test_pagination_keeps_query_mode_and_filters(client):
    page = client.get("/", query_string={"q": "社区", "mode": "hybrid", "author": "", "page": 1}).get_data(as_text=True)
    assert 'rel="next"' in page and "page=2" in page
    data = client.get("/api/search", query_string={"q": "社区", "mode": "keyword", "source": "001_b59fd8846a464d7b.txt",
                                                   "k": 2}).get_json()
    assert "page=2" in data["next_url"] and "mode=keyword" in data["next_url"] and "source=001" in data["next_url"]
    following = client.get(data["next_url"]).get_json()
    assert following["page"] == 2 and following["prev_url"] and [h["rank"] for h in following["hits"]] == [3, 4]
    last = client.get("/api/search", query_string={"q": "社区", "k": 100}).get_json()
    assert last["next_url"] is None and last["prev_url"] is None


def test_every_page_has_a_json_twin(client, engine):
    page = client.get("/", query_string={"q": "乡贤"}).get_data(as_text=True)
    assert 'rel="alternate" type="application/json" href="/api/search?q=' in page
    story = next(iter(engine.stories))
    page = client.get(f"/story/{story}").get_data(as_text=True)
    assert f'type="application/json" href="/api/story/{story}"' in page
    assert client.get(f"/api/story/{story}").get_json()["id"] == story


def test_framing_is_refused_unless_configured(client, portal_app):
    response = client.get("/embed")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    allowed = portal_app.test_client().get("/embed")
    assert f"frame-ancestors {PORTAL}" in allowed.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in allowed.headers


def test_embed_is_compact_and_links_open_as_configured(client, portal_app):
    page = client.get("/embed", query_string={"q": "乡贤"}).get_data(as_text=True)
    assert '<header class="site">' not in page and 'target="_blank"' in page
    # a hit's places filter the embed view itself, never load the whole site into the frame
    places = re.findall(r'href="([^"]*place=[^"]*)"', page)
    page = portal_app.test_client().get("/embed", query_string={"q": "乡贤"}).get_data(as_text=True)
    assert 'target="_parent"' in page and 'action="/embed"' in page
    assert places and all(link.startswith("/embed?") for link in places)
    refused = client.get("/embed?q=%CF%E7%CF%CD")  # 乡贤 in GBK, as an old portal may send it
    text = refused.get_data(as_text=True)
    assert refused.status_code == 400 and '<header class="site">' not in text and 'href="/embed"' in text


def test_cors_only_for_configured_origins_on_the_api(client, portal_app):
    assert "Access-Control-Allow-Origin" not in client.get("/api/search?q=x", headers={"Origin": PORTAL}).headers
    portal = portal_app.test_client()
    response = portal.get("/api/search?q=乡贤", headers={"Origin": PORTAL})
    assert response.headers["Access-Control-Allow-Origin"] == PORTAL
    assert "Origin" in response.headers["Vary"]
    other = portal.get("/api/search?q=乡贤", headers={"Origin": "https://evil.example.com"})
    assert "Access-Control-Allow-Origin" not in other.headers
    preflight = portal.options("/api/search", headers={"Origin": PORTAL, "Access-Control-Request-Method": "GET"})
    assert preflight.status_code == 200 and preflight.headers["Access-Control-Allow-Origin"] == PORTAL
    assert "GET" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Origin" not in portal.get("/", headers={"Origin": PORTAL}).headers


def links(html):
    import re
    return re.findall(r'(?:href|action|src)="([^"]+)"', html)


@pytest.mark.parametrize("via", ["proxy header", "mounted"])
def test_the_app_works_under_a_url_prefix(engine, via):
    if via == "proxy header":
        app = create_app(engine, WebSettings(behind_proxy=True))
        client = app.test_client()
        headers = {"X-Forwarded-Prefix": "/search", "X-Forwarded-Host": "portal.example.gov.cn",
                   "X-Forwarded-Proto": "https"}
        get = lambda path, **kw: client.get(path, headers=headers, **kw)  # noqa: E731
    else:
        app = create_app(engine, WebSettings())
        client = Client(DispatcherMiddleware(lambda e, s: s("404 Not Found", []) or [b""], {"/search": app}))
        get = lambda path, **kw: client.get("/search" + path, **kw)  # noqa: E731
    for path in ("/", "/?q=乡贤&page=1", "/embed?q=乡贤", f"/story/{next(iter(engine.stories))}"):
        response = get(path)
        assert response.status_code == 200, path
        local = [link for link in links(response.get_data(as_text=True)) if not link.startswith(("http", "#"))]
        assert local and all(link.startswith("/search/") for link in local), (path, local)
    data = json.loads(get("/api/search?q=乡贤&k=2").get_data(as_text=True))
    assert data["next_url"].startswith("/search/api/search?")
    opensearch = get("/opensearch.xml").get_data(as_text=True)
    assert 'template="/search/?q={searchTerms}"' in opensearch
    assert json.loads(get("/api/openapi.json").get_data(as_text=True))["servers"] == [{"url": "/search"}]


def test_the_host_header_sets_no_url(client):
    headers = {"Host": "evil.example", "X-Forwarded-Host": "evil.example"}
    opensearch = client.get("/opensearch.xml", headers=headers).get_data(as_text=True)
    assert "evil" not in opensearch and 'template="/?q={searchTerms}"' in opensearch
    assert 'template="/api/search?q={searchTerms}"' in opensearch
    assert client.get("/api/openapi.json", headers=headers).get_json()["servers"] == [{"url": "/"}]


@pytest.mark.parametrize("prefix", ["//evil.example", "https://evil.example", "/search\\evil.example",
                                    "/search\x01", "javascript:alert(1)", "/search, //evil.example", "/a//b"])
def test_a_forwarded_prefix_must_be_a_path(engine, caplog, prefix):
    client = create_app(engine, WebSettings(behind_proxy=True)).test_client()
    environ = {"HTTP_X_FORWARDED_PREFIX": prefix, "HTTP_X_FORWARDED_HOST": "portal.example.gov.cn"}
    with caplog.at_level("WARNING", logger="storysearch.web.urls"):
        page = client.get("/?q=乡贤", environ_overrides=environ).get_data(as_text=True)
    local = [link for link in links(page) if not link.startswith("#")]
    assert local and all(link.startswith("/") and not link.startswith(("//", "/\\")) for link in local), local
    assert "evil" not in page
    assert "X-Forwarded-Prefix" in caplog.text
    opensearch = client.get("/opensearch.xml", environ_overrides=environ).get_data(as_text=True)
    assert 'template="/?q={searchTerms}"' in opensearch


def test_the_public_url_setting_sets_absolute_urls_and_the_prefix(engine):
    app = create_app(engine, WebSettings(public_url="https://news.example.gov.cn/search", behind_proxy=True))
    client = app.test_client()
    environ = {"HTTP_HOST": "evil.example", "HTTP_X_FORWARDED_HOST": "evil.example",
               "HTTP_X_FORWARDED_PREFIX": "/elsewhere"}
    opensearch = client.get("/opensearch.xml", environ_overrides=environ).get_data(as_text=True)
    assert 'template="https://news.example.gov.cn/search/?q={searchTerms}"' in opensearch
    assert 'template="https://news.example.gov.cn/search/api/search?q={searchTerms}"' in opensearch
    spec = client.get("/api/openapi.json", environ_overrides=environ).get_json()
    assert spec["servers"] == [{"url": "https://news.example.gov.cn/search"}]
    local = links(client.get("/?q=乡贤", environ_overrides=environ).get_data(as_text=True))
    assert local and all(link.startswith(("/search/", "#")) for link in local), local


def test_opensearch_description_and_autodiscovery(client):
    response = client.get("/opensearch.xml")
    assert response.mimetype == "application/opensearchdescription+xml"
    body = response.get_data(as_text=True)
    assert "<ShortName>报纸档案检索</ShortName>" in body and "{searchTerms}" in body
    assert 'rel="search" type="application/opensearchdescription+xml"' in client.get("/").get_data(as_text=True)


def test_openapi_description_is_valid_and_complete(client, app):
    from openapi_spec_validator import validate

    spec = client.get("/api/openapi.json").get_json()
    validate(spec)
    routes = {re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule) for rule in app.url_map.iter_rules()}
    for path in spec["paths"]:
        assert path in routes
    assert {"/api/search", "/api/story/{story_id}", "/api/similar/{story_id}", "/api/similar"} <= set(spec["paths"])


def test_html_errors_are_pages_and_api_errors_json(client):
    page = client.get("/story/../../etc/passwd")
    assert page.status_code == 404 and "返回检索" in page.get_data(as_text=True)
    assert client.get("/api/story/..%2F..%2Fetc%2Fpasswd").get_json()["status"] == 404
    assert client.post("/api/search").get_json() == {"ok": False, "error": "The method is not allowed for the "
                                                     "requested URL.", "message": "这个地址不接受这种请求方式。",
                                                     "status": 405}


def test_settings_from_environment_and_file(tmp_path):
    env = {"STORYSEARCH_FRAME_ANCESTORS": "https://a.example.org  http://10.0.0.1:8080",
           "STORYSEARCH_CORS_ORIGINS": "https://a.example.org", "STORYSEARCH_BEHIND_PROXY": "1"}
    settings = WebSettings.load(environ=env)
    assert settings.frame_ancestors == ("https://a.example.org", "http://10.0.0.1:8080")
    assert settings.cors_origins == ("https://a.example.org",) and settings.behind_proxy
    path = tmp_path / "storysearch.toml"
    path.write_text('frame_ancestors = ["https://b.example.org"]\nembed_target = "_top"\n', encoding="utf-8")
    from_file = WebSettings.load(path, environ={})
    assert from_file.frame_ancestors == ("https://b.example.org",) and from_file.embed_target == "_top"
    assert WebSettings.load(path, environ={"STORYSEARCH_FRAME_ANCESTORS": ""}).frame_ancestors == ()
    with pytest.raises(SettingsError, match="not an origin"):
        WebSettings.load(environ={"STORYSEARCH_CORS_ORIGINS": "*"})
    with pytest.raises(SettingsError, match="embed_target"):
        WebSettings.load(environ={"STORYSEARCH_EMBED_TARGET": "_new"})
    assert WebSettings.load(environ={"STORYSEARCH_PUBLIC_URL": "https://news.example.gov.cn/search/"}).public_url \
        == "https://news.example.gov.cn/search"
    path.write_text('public_url = "http://10.0.0.5:8080"\n', encoding="utf-8")
    assert WebSettings.load(path, environ={}).public_url == "http://10.0.0.5:8080"
    assert WebSettings.load(environ={}).public_url is None
    for bad in ("//news.example.gov.cn", "ftp://news.example.gov.cn", "https://news.example.gov.cn/a?b=1",
                "https://user@news.example.gov.cn", "https://news.example.gov.cn//evil", "javascript:alert(1)",
                "https://news.example.gov.cn/a b", "https://news.example.gov.cn/a\\b"):
        with pytest.raises(SettingsError, match="public_url"):
            WebSettings.load(environ={"STORYSEARCH_PUBLIC_URL": bad})
    path.write_text("frame_ancestors = [", encoding="utf-8")
    with pytest.raises(SettingsError, match="cannot read"):
        WebSettings.load(path, environ={})
    for bad in ('"ALL"', "true"):  # a value outside a setting's choices, from the file as from the environment
        path.write_text(f"check_on_open = {bad}\n", encoding="utf-8")
        with pytest.raises(SettingsError, match="check_on_open must be one of changed, all"):
            WebSettings.load(path, environ={})
    with pytest.raises(SettingsError, match="STORYSEARCH_CHECK_ON_OPEN must be one of changed, all"):
        WebSettings.load(environ={"STORYSEARCH_CHECK_ON_OPEN": "ALL"})
    path.write_text('check_on_open = "all"\n', encoding="utf-8")
    assert settings_table.load({}, path).check_on_open == "all"


def test_every_setting_is_in_one_table_and_shown(capsys, monkeypatch):
    from storysearch.index import settings
    from storysearch.cli import main

    monkeypatch.setenv("STORYSEARCH_ANN_THRESHOLD", "5000")
    assert main(["settings", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert set(rows) == {s.name for s in settings.SETTINGS}
    assert rows["ann_threshold"]["value"] == "5000" and rows["ann_threshold"]["from"] == "STORYSEARCH_ANN_THRESHOLD"
    assert all(row["help"] and row["environment"].startswith("STORYSEARCH_") for row in rows.values())
    monkeypatch.setenv("STORYSEARCH_ANN_THRESHOLD", "many")
    assert main(["settings"]) == 2 and "must be a whole number" in capsys.readouterr().err
    monkeypatch.setenv("STORYSEARCH_ANN_THRESHOLD", "5000")
    monkeypatch.setenv("STORYSEARCH_MODEL_THREADS", "-1")
    assert main(["settings"]) == 2 and "STORYSEARCH_MODEL_THREADS must be 0 or more" in capsys.readouterr().err


def test_only_the_settings_module_reads_the_environment():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    # test hooks; HF's offline flag; pypinyin's switch for its phrase dictionary
    allowed = {"index/settings.py", "index/failpoints.py", "index/embedding.py", "searcher/suggest.py"}
    readers = {path.relative_to(root).as_posix() for folder in ("index", "searcher", "web", "storysearch")
               for path in (root / folder).rglob("*.py") if "os.environ" in path.read_text(encoding="utf-8")}
    assert readers <= allowed, readers - allowed


def visible_words(html: str) -> set[str]:
    """The runs of Latin letters a person reads on a page (not in tags, scripts, lists of choices or the URL box)."""
    html = re.sub(r"<(script|style|datalist|title)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return set(re.findall(r"[A-Za-z]{2,}", re.sub(r"<[^>]+>", " ", html)))


def failing(exc: Exception):
    def search_response(*args, **kwargs):
        raise exc
    return search_response


@pytest.mark.parametrize("url, status", [
    ("/?q=乡贤&page=abc", 400), ("/?q=乡贤&page=50", 400), ("/?q=，。！？", 400), ("/?q=乡贤&k=0", 400),
    ("/?q=乡贤&date_from=去年", 400), ("/?q=%FF", 400), ("/story/nope", 404), ("/no/such/page", 404),
    ("/embed?q=乡贤&page=abc", 400), ("/embed?q=。", 400), ("/?q=量子计算机&mode=keyword", 200),
    ("/embed?q=量子计算机&mode=keyword", 200),
])
def test_html_errors_and_empty_states_are_in_chinese(client, url, status):
    response = client.get(url)
    page = response.get_data(as_text=True)
    assert response.status_code == status and page.count("<h1") == 1
    typed = set(re.findall(r"[A-Za-z]{2,}", url.split("?")[-1]))  # what the user typed is shown back as typed
    assert visible_words(page) <= {"JSON", "API", "page", "UTF"} | typed, visible_words(page)


def test_a_page_past_the_end_says_so_and_links_the_last_page(client):
    pages = -(-client.get("/api/search", query_string={"q": "社区"}).get_json()["ranked"] // 10)
    assert pages > 1
    page = client.get("/", query_string={"q": "社区", "page": 50}).get_data(as_text=True)
    assert "第 491" not in page and f"没有第 50 页：结果只有 {pages} 页" in page
    assert re.search(rf'<a href="/\?q=%E7%A4%BE%E5%8C%BA&amp;mode=hybrid&amp;page={pages}">转到最后一页</a>', page)
    data = client.get("/api/search", query_string={"q": "社区", "page": 50}).get_json()
    assert data["status"] == 400 and data["message"] == f"没有第 50 页：结果只有 {pages} 页。"
    none = client.get("/api/search", query_string={"q": "量子计算机", "page": 2}).get_json()
    assert none["status"] == 400 and none["message"] == "没有第 2 页：没有找到结果。"  # (not 结果只有 1 页)


def test_every_api_error_has_a_chinese_message(client, engine):
    story = next(iter(engine.stories))
    for method, path, status in [
        ("get", "/api/search?q=乡贤&page=abc", 400), ("get", "/api/search?q=乡贤&page=50", 400),
        ("get", "/api/search?q=，。！？", 400), ("get", "/api/search?q=x&mode=nope", 400),
        ("get", "/api/search?q=%FF", 400), ("get", "/api/story/nope", 404), ("get", "/api/nothing", 404),
        ("post", "/api/search", 405), ("get", f"/api/similar/{story}?k=0", 400), ("get", "/api/similar?text=x&k=a", 400),
    ]:
        response = getattr(client, method)(path)
        data = response.get_json()
        assert response.status_code == status and set(data) == {"ok", "error", "message", "status"}, path
        assert data["ok"] is False and data["status"] == status and CJK.search(data["message"]), path
    schema = client.get("/api/openapi.json").get_json()["components"]["schemas"]["Error"]
    assert set(schema["required"]) == {"ok", "error", "message", "status"}


@pytest.mark.parametrize("exc, status, words", [(RuntimeError("boom"), 500, "服务器内部错误"),
                                                (ModelBusy(), 503, "语义检索正忙")])
def test_server_errors_are_in_chinese_too(engine, monkeypatch, exc, status, words):
    from storysearch.web import records

    monkeypatch.setattr(records, "search_response", failing(exc))
    client = create_app(engine).test_client()
    page = client.get("/", query_string={"q": "乡贤"})
    assert page.status_code == status and words in page.get_data(as_text=True)
    assert visible_words(page.get_data(as_text=True)) <= {"JSON", "API"}
    data = client.get("/api/search", query_string={"q": "乡贤"}).get_json()
    assert data["status"] == status and words in data["message"]


def test_the_story_page_links_a_longer_list_of_similar_practices(client, engine):
    story = next(iter(engine.stories))
    page = client.get(f"/story/{story}").get_data(as_text=True)
    assert page.count('<p class="reason">') == 5 and f'href="/story/{story}/similar">查看更多相似做法' in page
    listing = client.get(f"/story/{story}/similar").get_data(as_text=True)
    assert f'type="application/json" href="/api/similar/{story}?k=50"' in listing
    data = client.get(f"/api/similar/{story}", query_string={"k": 50}).get_json()
    shown = re.findall(r'<li>\s*<a href="/story/([^"]+)">', listing)
    assert len(shown) > 5 and shown == [hit["id"] for hit in data["hits"]]
    assert listing.count("<h1") == 1 and f'href="/story/{story}">← 返回报道' in listing
    assert client.get("/story/nope/similar").status_code == 404


def test_access_log_a_line_a_request_without_the_query_unless_asked(engine, caplog):
    for setting, logged in (("on", "/"), ("query", "/?q=%E4%B9%A1%E8%B4%A4&mode=keyword"), ("off", None)):
        client = create_app(engine, WebSettings(access_log=setting)).test_client()
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="storysearch.access"):
            client.get("/?q=乡贤&mode=keyword")
            client.get("/story/nope")
            client.post("/api/search")
            client.get('/story/a"b%0Ac')  # quoted, so it cannot end the request line or start a new one
        lines = [record.getMessage() for record in caplog.records if record.name == "storysearch.access"]
        if logged is None:
            assert lines == []
            continue
        fields = [ACCESS_LINE.fullmatch(line).groups() for line in lines]
        assert [(method, path, status) for method, path, status, _, _ in fields] == [
            ("GET", logged, "200"), ("GET", "/story/nope", "404"), ("POST", "/api/search", "405"),
            ("GET", "/story/a%22b%0Ac", "404")]
        assert all(size.isdigit() and int(ms) >= 0 for _, _, _, size, ms in fields)


def test_access_log_setting_and_what_serve_shows(tmp_path, capsys):
    from storysearch.web.server import show_access_log

    assert WebSettings.load(environ={}).access_log == "on"
    assert WebSettings.load(environ={"STORYSEARCH_ACCESS_LOG": "query"}).access_log == "query"
    path = tmp_path / "storysearch.toml"
    path.write_text("access_log = false\n", encoding="utf-8")
    assert WebSettings.load(path, environ={}).access_log == "off"
    with pytest.raises(SettingsError, match="access_log"):
        WebSettings.load(environ={"STORYSEARCH_ACCESS_LOG": "loud"})
    access = logging.getLogger("storysearch.access")
    show_access_log()
    try:
        access.info('127.0.0.1 - - [21/Nov/2026:21:00:00 +0000] "GET / HTTP/1.1" 200 10 3ms')
    finally:
        access.removeHandler(access.handlers[-1])
        access.setLevel(logging.NOTSET)
        access.propagate = True
    assert capsys.readouterr().err == '127.0.0.1 - - [21/Nov/2026:21:00:00 +0000] "GET / HTTP/1.1" 200 10 3ms\n'
