"""End-to-end tests in a real headless Chromium (Debian's, driven by
Playwright): search, switch mode, page, open a story and its similar
practices, and /embed inside a portal page that is allowed to frame it and
one that is not; keyboard, phone and an axe-core accessibility check (vendored
in tests/vendor/axe-core/). Screenshots go to docs/screenshots/."""
import http.server
import os
import shutil
import threading
from pathlib import Path

import pytest

from storysearch.web.app import create_app
from storysearch.web.server import create_server
from storysearch.web.settings import WebSettings
from conftest import stop_server

CHROMIUM = os.environ.get("STORYSEARCH_CHROMIUM") or shutil.which("chromium")
if CHROMIUM is None:
    pytest.skip("no Chromium here: `make test` installs Debian's chromium when it runs as root with apt-get",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install '.[test]')")

SHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


def serve_in_thread(server):
    thread = threading.Thread(target=server.serve_forever if hasattr(server, "serve_forever") else server.run,
                              daemon=True)
    thread.start()
    return thread


@pytest.fixture(scope="module")
def portal():
    """A stand-in intranet portal on its own port: /portal.html frames the app's /embed."""
    app_url = {}

    class Portal(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server API
            body = ("<!doctype html><meta charset=utf-8><title>门户</title><h1>单位门户</h1>"
                    f"<iframe id=search src=\"{app_url['url']}/embed?q=乡贤\" width=900 height=600 "
                    "onload=\"this.dataset.loaded='1'\"></iframe>").encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Portal)
    serve_in_thread(server)
    yield app_url, server.server_address[1]
    server.shutdown()


@pytest.fixture(scope="module")
def live(engine, portal):
    app_url, portal_port = portal
    allowed = f"http://127.0.0.1:{portal_port}"
    app = create_app(engine, WebSettings(frame_ancestors=(allowed,), embed_target="_blank"))
    server = create_server(app, "127.0.0.1", 0, threads=4)
    serve_in_thread(server)
    app_url["url"] = f"http://127.0.0.1:{server.effective_port}"
    yield app_url["url"], allowed, f"http://localhost:{portal_port}"
    stop_server(server)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1100, "height": 900}, locale="zh-CN")
    yield context.new_page()
    context.close()


def test_search_switch_mode_page_open_story_and_similar(live, page):
    base, _, _ = live
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(base + "/")
    page.fill("#q", "社区治理")
    page.press("#q", "Enter")
    page.wait_for_selector("ol.results li")
    assert "共" in page.inner_text("p.count")
    assert page.locator("ol.results li mark").count() > 0
    page.screenshot(path=str(SHOTS / "search.png"))

    page.check("input[name=mode][value=semantic]")  # the script re-runs the search
    page.wait_for_url("**mode=semantic**")
    assert "篇内容相近的报道" in page.inner_text("p.count") and page.locator("ol.results li").count() >= 1

    page.fill("#q", "社区")
    page.check("input[name=mode][value=keyword]")
    page.wait_for_url("**mode=keyword**")
    assert page.locator("ol.results li").count() == 10
    page.click("a[rel=next]")
    page.wait_for_url("**page=2**")
    assert "第 11–" in page.inner_text("p.count")
    assert page.is_checked("input[name=mode][value=keyword]") and page.input_value("#q") == "社区"

    page.click("ol.results li h2 a >> nth=0")
    page.wait_for_selector("article.story h1")
    headline = page.inner_text("article.story h1")
    page.screenshot(path=str(SHOTS / "story.png"), full_page=True)

    page.click("#similar ol.similar-stories li a >> nth=0")
    page.wait_for_selector("article.story h1")
    assert page.inner_text("article.story h1") != headline
    assert "/story/" in page.url


def test_query_is_shown_as_text_not_run(live, page):
    base, _, _ = live
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(base + "/?q=" + "<script>alert(1)</script>")
    assert page.input_value("#q") == "<script>alert(1)</script>"
    assert dialogs == []


def test_embed_is_framed_by_the_allowed_portal_only(live, page):
    _, allowed, refused = live
    page.goto(allowed + "/portal.html")
    frame = page.frame_locator("iframe#search")
    frame.locator("ol.results li").first.wait_for()
    assert frame.locator("form[role=search]").count() == 1
    assert frame.locator("ol.results li h2 a").first.get_attribute("target") == "_blank"
    page.screenshot(path=str(SHOTS / "embed.png"))

    messages = []
    page.on("console", lambda message: messages.append(message.text))
    page.goto(refused + "/portal.html")
    page.wait_for_function("document.querySelector('iframe#search').dataset.loaded === '1'")
    assert page.inner_text("h1") == "单位门户"  # the portal itself loaded
    assert page.frame_locator("iframe#search").locator("form[role=search]").count() == 0
    assert any("frame-ancestors" in text for text in messages), messages


@pytest.fixture(scope="module")
def archive_site(archive):
    engine, dates = archive
    server = create_server(create_app(engine, WebSettings()), "127.0.0.1", 0, threads=4)
    serve_in_thread(server)
    yield f"http://127.0.0.1:{server.effective_port}", dates
    stop_server(server)


def test_facets_date_range_sort_and_timeline(archive_site, page):
    base, dates = archive_site
    page.goto(base + "/?q=垃圾分类&mode=keyword")
    assert "共 130 篇" in page.inner_text("p.count")
    bars = page.locator("figure.timeline svg a")
    assert bars.count() == len(set(d[:7] for d in dates))  # one bar a month with matches, gaps left empty
    assert page.locator("figure.timeline table").count() == 1  # the same figures for screen readers
    page.screenshot(path=str(SHOTS / "archive.png"), full_page=True)
    page.click("nav.facets a:has-text('杭州日报')")
    page.wait_for_url("**paper=**")
    assert "共 60 篇" in page.inner_text("p.count")
    page.fill("input[name=date_from]", "2023")
    page.select_option("select[name=sort]", "oldest")
    page.press("input[name=date_from]", "Enter")
    page.wait_for_url("**sort=oldest**")
    first = min(d for i, d in enumerate(dates) if i % 2 and d >= "2023")
    assert page.locator("ol.results li time").first.get_attribute("datetime") == first
    assert "已筛选" in page.inner_text("p.active-filters")
    page.locator("figure.timeline svg a").first.click()
    page.wait_for_url("**date_to=**")
    assert page.input_value("input[name=date_from]") == page.input_value("input[name=date_to]")
    page.goto(base + "/embed?q=垃圾分类")
    assert page.locator("select[name=sort]").count() == 1 and page.locator("input[name=date_from]").count() == 1


@pytest.fixture()
def phone(browser):
    context = browser.new_context(locale="zh-CN", **PHONE)
    yield context.new_page()
    context.close()


def story_with_similar(engine) -> str:
    return next(iter(engine.stories))


@pytest.mark.parametrize("path", ["/?q=社区治理", "/", "/story/{story}", "/story/{story}/similar", "/embed?q=乡贤",
                                  "/story/no-such-story", "/practices", "/practices?place=杭州&kind=机制",
                                  "/practice/1+X+N"])
@pytest.mark.parametrize("device", [{"viewport": {"width": 1100, "height": 900}}, PHONE], ids=["desktop", "phone"])
def test_no_serious_or_critical_accessibility_violations(live, browser, engine, path, device):
    """axe-core's WCAG 2.2 AA and best-practice rules; the CSP is bypassed only to inject axe itself."""
    base, _, _ = live
    context = browser.new_context(locale="zh-CN", bypass_csp=True, **device)
    page = context.new_page()
    page.goto(base + path.format(story=story_with_similar(engine)))
    if "q=" in path:
        assert page.locator("ol.results li").count() > 0
    if path.startswith("/?q="):
        assert page.locator("nav.facets a").count() > 0
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    violations = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})"
                               ".then(r => r.violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length})))",
                               AXE_TAGS)
    context.close()
    assert [v for v in violations if v["impact"] in ("serious", "critical")] == []
    assert violations == [], violations  # none of lesser impact either, today


@pytest.mark.parametrize("path", ["/", "/?q=乡贤", "/story/{story}", "/story/{story}/similar", "/embed?q=乡贤",
                                  "/story/no-such-story", "/?q=乡贤&page=50", "/practices", "/practice/1+X+N",
                                  "/practice/no-such-practice"])
def test_one_h1_on_every_page(live, page, engine, path):
    base, _, _ = live
    page.goto(base + path.format(story=story_with_similar(engine)))
    assert page.locator("h1").count() == 1


def test_focus_starts_in_the_search_box(live, page):
    base, _, _ = live
    page.goto(base + "/")
    assert page.evaluate("document.activeElement.id") == "q"


def test_badges_are_not_part_of_the_headline(live, page):
    base, _, _ = live
    page.goto(base + "/?q=乡贤")
    heading = page.get_by_role("heading", level=2).filter(has=page.locator("a")).first
    assert "关键词" not in heading.inner_text() and "语义" not in heading.inner_text()
    assert page.locator("ol.results li .badge").first.inner_text().startswith("命中方式")  # its hidden label


def test_arrow_keys_on_the_mode_switch_do_not_search(live, page):
    base, _, _ = live
    page.goto(base + "/?q=乡贤&mode=hybrid")
    url = page.url
    page.focus("input[name=mode][value=hybrid]")
    page.keyboard.press("ArrowRight")
    page.wait_for_timeout(500)
    assert page.url == url and page.is_checked("input[name=mode][value=keyword]")
    page.keyboard.press("Enter")
    page.wait_for_url("**mode=keyword**")
    page.check("input[name=mode][value=semantic]")  # a click still searches at once
    page.wait_for_url("**mode=semantic**")


TAPPABLE = ("a:visible, button:visible, select:visible, summary:visible, input:not([type=radio]):not([type=hidden]):visible,"
            " fieldset.modes label:visible")


def test_phone_layout_touch_targets_and_screenshots(live, phone, engine):
    base, _, _ = live
    phone.goto(base + "/?q=社区治理")
    phone.wait_for_selector("ol.results li")
    small = phone.evaluate("""selector => [...document.querySelectorAll('main, header, footer')]
        .flatMap(part => [...part.querySelectorAll(selector.replaceAll(':visible', ''))])
        .filter(e => e.offsetParent !== null && !e.closest('.visually-hidden, svg'))
        .map(e => [e.textContent.trim().slice(0, 20), e.getBoundingClientRect().height])
        .filter(([, height]) => height < 44)""", TAPPABLE)
    assert small == []  # the timeline's bars are left out: its table offers the same links
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.screenshot(path=str(SHOTS / "search-phone.png"))
    phone.goto(base + f"/story/{story_with_similar(engine)}")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.screenshot(path=str(SHOTS / "story-phone.png"))


def test_similar_panel_links_the_full_list(live, page, engine):
    base, _, _ = live
    page.goto(base + f"/story/{story_with_similar(engine)}")
    assert page.locator("#similar ol.practice-answers li").count() == 5
    assert page.locator("#similar ol.similar-stories li").count() == 5
    page.click("#similar a:has-text('查看更多相似做法')")
    page.wait_for_url("**/similar")
    assert page.locator("ol.practice-answers li").count() > 5
    assert page.locator("ol.similar-stories li").count() > 5
    page.click("ol.practice-answers li a >> nth=0")
    page.wait_for_selector("article.practice h1")


def test_practice_list_filter_and_practice_page(live, browser):
    """From the header to the practice list, filtered by kind, to one practice
    and a story that mentions it; axe finds nothing on the practice page (the
    CSP is bypassed only to inject axe itself)."""
    base, _, _ = live
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1100, "height": 900}, locale="zh-CN", bypass_csp=True)
    page = context.new_page()
    page.goto(base + "/")
    page.click("header.site a.nav")
    page.wait_for_selector("ol.practices li")
    assert page.inner_text("h1") == "做法一览"
    page.select_option("#practice-kind", "工作法")
    page.click("form.practice-filter button")
    page.wait_for_url("**kind=**")
    assert page.locator("ol.practices li").count() > 0
    assert all("工作法" in meta for meta in page.locator("ol.practices li p.meta").all_inner_texts())
    page.click("ol.practices li h2 a >> nth=0")
    page.wait_for_selector("article.practice h1")
    assert page.locator("h1").count() == 1
    assert page.locator("ol.practice-stories li a").count() >= 1
    assert "是什么" in page.inner_text("article.practice")
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    violations = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})"
                               ".then(r => r.violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length})))",
                               AXE_TAGS)
    assert violations == [], violations
    page.goto(base + "/practice/1+X+N")
    page.wait_for_selector("article.practice h1")
    page.screenshot(path=str(SHOTS / "practice.png"), full_page=True)
    elsewhere = page.locator("ol.practice-answers li > span.meta")
    assert elsewhere.count() >= 3 and all("庆元县" not in text for text in elsewhere.all_inner_texts())
    page.click("ul.where a >> nth=0")  # 该地做法
    page.wait_for_url("**place=**")
    assert "的做法" in page.inner_text("h1")
    page.goto(base + "/practice/1+X+N")
    page.click("ol.practice-stories li a >> nth=0")
    page.wait_for_selector("article.story h1")
    assert page.locator("div.practices a", has_text="1+X+N").count() == 1
    context.close()
