"""The practice catalogue (searcher/practices.py), its pages and its API."""
from urllib.parse import quote

from storysearch.index.practices import practice_key


def test_one_practice_per_key_with_its_stories(engine):
    catalog = engine.practices
    assert len(catalog) > 20
    keys = [p.key for p in catalog.list(k=1000)]
    assert len(keys) == len(set(keys)) == len(catalog)
    stories = {key: {s.id for s in engine.stories.values() for p in s.practices if p["key"] == key} for key in keys}
    for practice in catalog.list(k=1000):
        assert set(practice.story_ids) == stories[practice.key]
        assert practice.stories == len(practice.story_ids) and practice.name in practice.names
        dates = [engine.stories[i].date for i in practice.story_ids if engine.stories[i].date]
        assert dates == sorted(dates, reverse=True)  # newest first


def test_a_practice_printed_differently_is_found_as_one(engine):
    practice = engine.practices.get("六事工作法")
    assert practice is not None
    for printed in ("“六事工作法”", "「六事工作法」", "六事工作法 "):
        assert engine.practices.get(printed.strip()) is practice
    formula = engine.practices.get("1+X+N")
    assert formula is not None
    for printed in ("“1+X+N”机制", "１＋Ｘ＋Ｎ", "1+x+n"):  # quotes, a trailing 机制, full width, case
        assert engine.practices.get(printed) is formula
    assert engine.practices.get(practice.key) is practice
    assert engine.practices.get("没有这种做法") is None and engine.practices.get("") is None


def test_api_lists_practices_by_number_of_stories(client, engine):
    data = client.get("/api/practices").get_json()
    assert data["total"] == len(engine.practices) and len(data["practices"]) == min(50, data["total"])
    counts = [(-p["stories"], p["name"]) for p in data["practices"]]
    assert counts == sorted(counts)
    first = data["practices"][0]
    assert {"name", "key", "kind", "definition", "places", "stories", "story_ids"} <= set(first)


def test_api_filters_by_place_kind_and_text(client, engine):
    hangzhou = client.get("/api/practices", query_string={"place": "杭州", "k": 1000}).get_json()
    assert 0 < hangzhou["total"] < len(engine.practices)
    for practice in hangzhou["practices"]:  # 杭州 finds 杭州市 and the places under it
        assert any("杭州市" in place["path"] for place in practice["places"])
    methods = client.get("/api/practices", query_string={"kind": "工作法", "k": 1000}).get_json()
    assert methods["total"] > 0 and {p["kind"] for p in methods["practices"]} == {"工作法"}
    found = client.get("/api/practices", query_string={"q": "六事"}).get_json()
    assert "六事工作法" in [p["name"] for p in found["practices"]]
    wide = client.get("/api/practices", query_string={"q": "１＋Ｘ＋Ｎ"}).get_json()
    assert "1+X+N" in [p["name"] for p in wide["practices"]]  # folded as the index folds
    none = client.get("/api/practices", query_string={"place": "火星"}).get_json()
    assert none["total"] == 0 and none["practices"] == []
    # words, as a search takes them: every one held, written together or apart (it was a substring)
    together = client.get("/api/practices", query_string={"q": "社区议事", "k": 1000}).get_json()
    apart = client.get("/api/practices", query_string={"q": "社区  议事", "k": 1000}).get_json()
    assert together["practices"] == apart["practices"] and together["total"] == apart["total"]
    assert together["total"] > 0 and all("社区" in p["name"] + p["definition"] and "议事" in p["name"] + p["definition"]
                                        for p in together["practices"])
    page = client.get("/practices", query_string={"q": "量子计算机"}).get_data(as_text=True)
    assert "没有符合条件的做法" in page and 'href="/similar?text=' in page  # the way on: by meaning
    nothing = client.get("/api/practices", query_string={"q": "，"})
    assert nothing.status_code == 400 and "没有可以查找的内容" in nothing.get_json()["message"]


def test_api_k_bounds_and_errors(client, engine):
    assert len(client.get("/api/practices", query_string={"k": 1}).get_json()["practices"]) == 1
    assert len(client.get("/api/practices", query_string={"k": 1000}).get_json()["practices"]) == len(engine.practices)
    for k in ("0", "1001", "ten", "-3"):
        response = client.get("/api/practices", query_string={"k": k})
        assert response.status_code == 400
        data = response.get_json()
        assert data["ok"] is False and data["status"] == 400 and data["error"] and "条数" in data["message"]


def test_api_practice_and_unknown_practice(client, engine):
    practice = engine.practices.list(k=1)[0]
    data = client.get("/api/practice/" + quote(practice.name)).get_json()
    assert data["name"] == practice.name and data["key"] == practice.key
    assert [story["id"] for story in data["story_refs"]] == practice.story_ids
    missing = client.get("/api/practice/" + quote("没有这种做法"))
    assert missing.status_code == 404
    assert missing.get_json()["ok"] is False and "没有找到" in missing.get_json()["message"]
    assert client.get("/practice/" + quote("没有这种做法")).status_code == 404


def test_practice_list_page(client, engine):
    page = client.get("/practices").get_data(as_text=True)
    assert page.count("<h1") == 1 and "做法一览" in page
    for practice in engine.practices.list(k=5):
        assert f'href="/practice/{quote(practice.name, safe="/+")}"' in page or practice.name in page
    place = client.get("/practices", query_string={"place": "庆元县"}).get_data(as_text=True)
    assert "庆元县的做法" in place and "1+X+N" in place
    assert client.get("/practices", query_string={"k": "x"}).status_code == 200  # the page lists all: no k
    bad = client.get("/api/practices", query_string={"k": "x"})
    assert bad.status_code == 400 and "条数" in bad.get_json()["message"]


def test_practice_page_has_definition_places_and_stories(client, engine):
    practice = engine.practices.get("1+X+N")
    page = client.get("/practice/1+X+N").get_data(as_text=True)
    assert page.count("<h1") == 1 and "<h1>1+X+N</h1>" in page
    assert practice.definition[:20] in page
    assert "/practices?place=" + quote("庆元县") in page and "/?place=" + quote("庆元县") in page
    for story_id in practice.story_ids:
        assert f'href="/story/{story_id}"' in page
        assert engine.stories[story_id].headline in page
    assert "别处的相似做法" in page
    elsewhere = client.get("/api/practice/1+X+N").get_json()["elsewhere"]
    assert elsewhere and all(other["place"] and other["place"] != "庆元县" for other in elsewhere)
    for other in elsewhere:
        assert other["name"] in page and f'href="/story/{other["story"]["id"]}"' in page


def test_story_page_and_hits_link_their_practices(client, engine):
    story = next(s for s in engine.stories.values() if s.practices)
    page = client.get(f"/story/{story.id}").get_data(as_text=True)
    for practice in story.practices:
        assert f'href="/practice/{quote(practice["name"], safe="/+")}"' in page
    hits = client.get("/", query_string={"q": "六事工作法", "mode": "keyword"}).get_data(as_text=True)
    assert "做法：" in hits and 'href="/practice/' in hits


def test_browse_by_place_links_the_places_practices(client):
    page = client.get("/", query_string={"q": "社区", "place": "庆元县"}).get_data(as_text=True)
    assert "该地做法" in page and "/practices?place=" + quote("庆元县") in page
    assert 'href="/practices"' in client.get("/").get_data(as_text=True)


def test_keys_are_the_index_keys():
    assert practice_key("「六事工作法」") == practice_key("六事工作法")


def test_openapi_documents_the_practice_api(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    assert {"/api/practices", "/api/practice/{name}"} <= set(paths)


def test_a_practice_of_two_places_says_what_each_place_does(client, engine):
    practice = engine.practices.get("1+3+N")
    assert len(practice.places) == 2 and len({place["definition"] for place in practice.places}) == 2
    page = client.get("/practice/1+3+N").get_data(as_text=True)
    where = page[page.index('class="where"'):page.index("</ul>", page.index('class="where"'))]
    other = next(place for place in practice.places if place["definition"] != practice.definition)
    assert other["definition"] in where
