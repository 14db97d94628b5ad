"""The Flask app: search, story and embed pages, each with a JSON twin.

Every URL is built with ``url_for`` so the app works under a URL prefix
(behind a reverse proxy that sends ``X-Forwarded-Prefix``, or mounted at a
sub-path); URLs are relative unless the ``public_url`` setting gives the
absolute one (web/urls.py), so no request header can point them elsewhere.
Framing is refused unless frame ancestors are configured; CORS on ``/api/*``
only for configured origins.
"""
from __future__ import annotations

import logging
import time
from collections import Counter
from urllib.parse import quote, unquote_to_bytes

from flask import Flask, g, jsonify, redirect, render_template, request, url_for
from flask_cors import CORS
from werkzeug.exceptions import HTTPException, NotFound

from storysearch.index.embedding import ModelBusy
from storysearch.index.layout import IndexDamaged
from storysearch.index.milvus_store import MilvusUnavailable
from storysearch.searcher import SearchEngine
from storysearch.searcher.engine import MAX_K, QueryError, check_fusion, check_mode, check_sort
from storysearch.searcher.filters import Filters
from storysearch.searcher.practices import DEFAULT_PRACTICES, MAX_PRACTICES, PRACTICE_KINDS
from storysearch.searcher.query import parse_query
from storysearch.searcher.snippets import highlight_paragraphs, snippet

from . import records, urls
from .openapi import openapi_spec
from .settings import WebSettings

MODE_LABELS = {"hybrid": "综合", "keyword": "关键词", "semantic": "语义"}
SORT_LABELS = {"relevance": "相关度", "newest": "最新", "oldest": "最早"}
# What answers without the index, so it still answers while the index is refused (its 503 page's styling).
WITHOUT_ENGINE = frozenset({"static", "opensearch", "api_openapi"})
ARG_LABELS = {"k": "每页篇数（k）", "page": "页码（page）"}
HTTP_MESSAGES = {404: "没有找到这个页面或这篇报道：链接可能有误，或报道已不在索引里。",
                 405: "这个地址不接受这种请求方式。", 400: "请求的参数有误，请检查后再试。",
                 500: "服务器内部错误，请稍后再试。", 503: "服务暂时不可用，请稍后再试。"}
OTHER_HTTP_MESSAGE = "请求无法完成，请检查地址后再试。"
EXAMPLES = [("乡贤", "一个词"), ("老旧小区停车难怎么解决", "一个问题"), ('"小马拉大车"', "确切短语"),
            ("电动自行车 -疫情", "排除一个词"), ("author:俞琳", "某位作者")]
DEFAULT_K = 10
MAX_PAGE = 1000
SIMILAR_ON_STORY_PAGE = 5
MAX_PRACTICE_QUERY_CHARS = 100  # a practice's name or a few words of its definition
SIMILAR_ON_LIST_PAGE = 50
PRACTICES_ON_SEARCH_PAGE = 3  # places whose practices answer the query, above its stories
MAX_QUERY_CHARS = 10_000
MAX_AUTHOR_CHOICES = 300
FILTER_PARAMETERS = ("source", "author", "paper", "place", "date_from", "date_to")
DAMAGED_MESSAGE = "索引文件已损坏，暂时无法完成这项请求。请联系管理员运行 storysearch check --repair 修复。"
BUSY_MESSAGE = "语义检索正忙，请稍后再试；关键词检索不受影响。"
UNAVAILABLE_MESSAGE = "检索服务暂时无法连接索引库，请稍后再试。"
BAD_ENCODING_MESSAGE = "链接中的查询参数编码无效（不是 UTF-8），无法检索。请重新输入检索词。"
access_log = logging.getLogger("storysearch.access")
URL_SAFE = "/:@!$&'()*+,;=~?"


class PracticeNotFound(NotFound):
    """A 404 that names the practice, in English and (``chinese``) for a page."""

    def __init__(self, name: str):
        super().__init__(f"no practice named {name!r}")
        self.chinese = f"没有找到名为“{name}”的做法：链接可能有误，或它已不在索引里。"


class StoryNotFound(NotFound):
    """A 404 that names the story id, in English and (``chinese``) for a page."""

    def __init__(self, story_id: str):
        super().__init__(f"no story with id {story_id!r}")
        self.chinese = f"没有找到编号为“{story_id}”的报道：链接可能有误，或报道已不在索引里。"


def _error(error: str, status: int, message: str):
    """The API's one error shape: ``error`` for programs, ``message`` in Chinese for people."""
    response = jsonify({"ok": False, "error": error, "message": message, "status": status})
    response.status_code = status
    return response


def _int_arg(name: str, default: int, low: int, high: int, label: str | None = None) -> int:
    label = label or ARG_LABELS.get(name, name)
    raw = request.args.get(name, "")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise QueryError(f"{name} must be a whole number from {low} to {high}, not {raw!r}",
                         f"{label}必须是 {low} 到 {high} 之间的整数，不能是“{raw}”。") from None
    if not low <= value <= high:
        raise QueryError(f"{name} must be a whole number from {low} to {high}, not {value}",
                         f"{label}必须是 {low} 到 {high} 之间的整数，不能是 {value}。")
    return value


def _text_arg(name: str) -> str:
    value = request.args.get(name, "")
    if len(value) > MAX_QUERY_CHARS:
        raise QueryError(f"the {name} is longer than {MAX_QUERY_CHARS} characters",
                         f"检索内容太长：最多 {MAX_QUERY_CHARS} 个字。")
    return value


def _search_args() -> dict:
    """The search request's parameters, validated; QueryError otherwise."""
    mode = check_mode(request.args.get("mode") or "hybrid")
    fusion = request.args.get("fusion") or None
    if fusion is not None:
        check_fusion(fusion)
    filters = {name: request.args.get(name, "").strip() for name in FILTER_PARAMETERS}
    filters = {name: value for name, value in filters.items() if value}
    Filters.from_mapping(filters)  # checked here, so that a bad date is a 400 before anything runs
    return {"q": _text_arg("q"), "mode": mode, "k": _int_arg("k", DEFAULT_K, 1, MAX_K),
            "page": _int_arg("page", 1, 1, MAX_PAGE), "fusion": fusion,
            "sort": check_sort(request.args.get("sort") or "relevance"), "filters": filters}


def _page_url(endpoint: str, args: dict, page: int) -> str:
    params = {"q": args["q"], "mode": args["mode"], "page": page, **args["filters"]}
    if args["sort"] != "relevance":
        params["sort"] = args["sort"]
    if args["k"] != DEFAULT_K:
        params["k"] = args["k"]
    if args["fusion"]:
        params["fusion"] = args["fusion"]
    return url_for(endpoint, **params)


def _choices(engine: SearchEngine) -> dict[str, list[str]]:
    """Source files, papers, places (down to counties) and the most frequent
    authors, for the filter inputs."""
    authors = Counter(a for story in engine.stories.values() for a in story.authors)
    return {"sources": sorted({story.source for story in engine.stories.values()}),
            "papers": sorted({story.paper for story in engine.stories.values() if story.paper}),
            "places": sorted({name for story in engine.stories.values() for place in story.places
                              for name in place["path"][:3]}),
            "authors": [name for name, _ in authors.most_common(MAX_AUTHOR_CHOICES)]}


def timeline(facets: dict) -> tuple[str, list[dict]]:
    """("month" or "year", every bin from the first to the last with matches,
    empty ones included) for the timeline; months when the facets have them."""
    unit = "month" if facets.get("month") else "year"
    found = {entry["value"]: entry["count"] for entry in facets.get(unit, [])}
    if not found:
        return unit, []
    first, last = min(found), max(found)
    if unit == "year":
        values = [str(year) for year in range(int(first), int(last) + 1)]
    else:
        months = range(int(first[:4]) * 12 + int(first[5:]) - 1, int(last[:4]) * 12 + int(last[5:]))
        values = [f"{m // 12:04d}-{m % 12 + 1:02d}" for m in months]
    return unit, [{"value": value, "count": found.get(value, 0)} for value in values]


def search_url(endpoint: str | None = None, **changes) -> str:
    """This search's URL with some parameters changed (``None`` removes one):
    what facet links, the timeline's bars and the sort switch point at. A
    change of anything but the page goes back to the first page."""
    params = {name: value for name, value in request.args.items() if value}
    params.pop("page", None)
    for name, value in changes.items():
        if value is None:
            params.pop(name, None)
        else:
            params[name] = value
    return url_for(endpoint or request.endpoint, **params)


def create_app(source, settings: WebSettings | None = None) -> Flask:
    """``source``: a SearchEngine, or a LiveEngine whose ``current`` engine
    changes when a new index generation goes live; each request uses the
    engine that is current when it starts."""
    settings = settings or WebSettings.load()
    app = Flask(__name__)
    app.json.ensure_ascii = False
    app.url_map.merge_slashes = False  # "/api/story//x" is a 404, not a redirect
    app.extensions["storysearch"] = source
    choices: dict[str, dict[str, list[str]]] = {}
    app.wsgi_app = urls.wrap(app.wsgi_app, settings)
    external = settings.public_url is not None  # absolute URLs only from the setting, never from headers
    if settings.cors_origins:
        CORS(app, resources={r"/api/*": {"origins": list(settings.cors_origins)}}, methods=["GET", "OPTIONS"],
             max_age=600, vary_header=True)

    @app.before_request
    def start_clock():
        g.started = time.perf_counter()

    @app.after_request
    def log_access(response):
        """One line a request, NCSA common log format with the duration in ms added."""
        if settings.access_log != "off":
            target = quote(request.script_root + request.path, safe=URL_SAFE)  # as sent, and no '"' or newline
            if settings.access_log == "query" and request.query_string:
                target += "?" + quote(request.query_string, safe=URL_SAFE + "%")
            access_log.info('%s - - [%s] "%s %s %s" %d %s %dms', request.remote_addr or "-",
                            time.strftime("%d/%b/%Y:%H:%M:%S %z"), request.method, target,
                            request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"), response.status_code,
                            response.content_length if response.content_length is not None else "-",
                            round((time.perf_counter() - g.get("started", time.perf_counter())) * 1000))
        return response

    @app.before_request
    def pin_engine():
        if request.endpoint in WITHOUT_ENGINE:
            return
        try:
            g.engine = source.current
        except IndexDamaged:  # the index is refused whole (searcher/live.py): logged once, by the watcher
            g.refused = True
            raise

    @app.before_request
    def refuse_undecodable_query():
        """A query string that is not UTF-8 once percent-decoded (``%FF%FE``)
        would otherwise be searched with replacement characters."""
        try:
            unquote_to_bytes(request.query_string).decode("utf-8")
        except UnicodeDecodeError:
            if request.path.startswith("/api/"):
                return _error("the query string is not valid UTF-8 once percent-decoded; "
                              "encode the parameters as UTF-8", 400, BAD_ENCODING_MESSAGE)
            return render_template("error.html", status=400, message=BAD_ENCODING_MESSAGE), 400
        return None

    def engine() -> SearchEngine:
        return g.engine

    @app.context_processor
    def template_globals():
        current = g.get("engine")
        if current is None:  # (a request refused before it had an engine: the index is damaged)
            return {"modes": MODE_LABELS, "sorts": SORT_LABELS, "sources": [], "papers": [], "places": [],
                    "authors": [], "warnings": [], "search_url": search_url}
        key = current.generation.name
        if key not in choices:
            try:
                made = _choices(current)
            except MilvusUnavailable:  # the page (the 503 page itself) renders, without the filter choices
                made = {"sources": [], "papers": [], "places": [], "authors": []}
            else:
                choices.clear()
                choices[key] = made
        else:
            made = choices[key]
        return {"modes": MODE_LABELS, "sorts": SORT_LABELS, **made,
                "warnings": [warning.chinese for warning in current.warnings], "search_url": search_url}

    @app.after_request
    def security_headers(response):
        ancestors = " ".join(settings.frame_ancestors) or "'none'"
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            f"base-uri 'self'; form-action 'self'; frame-ancestors {ancestors}")
        if not settings.frame_ancestors:
            response.headers["X-Frame-Options"] = "DENY"
        if settings.cors_origins and request.path.startswith("/api/"):
            response.vary.add("Origin")  # CORS headers depend on it, for one allowed origin too
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        return response

    def search_context(endpoint: str) -> dict:
        """Everything a search page shows, and its JSON twin returns."""
        context = {"query": request.args.get("q", ""), "mode": request.args.get("mode") or "hybrid",
                   "filters": {}, "results": [], "total": 0, "related": 0, "ranked": 0, "facets": {},
                   "sort": "relevance", "page": 1, "error": None, "last_page_url": None, "next_url": None,
                   "prev_url": None, "first": 0, "last": 0, "timeline_unit": "year", "timeline": [],
                   "did_you_mean": None, "without_filters": None, "listed_sort": "relevance"}
        try:
            args = _search_args()
            context.update(query=args["q"], mode=args["mode"], filters=args["filters"], page=args["page"],
                           sort=args["sort"])
            offset = (args["page"] - 1) * args["k"]
            if args["q"].strip() or args["filters"]:
                response = records.search_response(engine(), args["q"], args["mode"], args["k"], args["filters"],
                                                  offset, explain=True, fusion=args["fusion"], sort=args["sort"])
                context.update(total=response["total"], related=response["related"], ranked=response["ranked"],
                               facets=response["facets"], listed_sort=response["sort"],
                               without_filters=response["without_filters"])
                if response["did_you_mean"]:  # the same request with the corrected query
                    context["did_you_mean"] = {**response["did_you_mean"],
                                               "url": search_url(endpoint, q=response["did_you_mean"]["query"])}
                context["timeline_unit"], context["timeline"] = timeline(response["facets"])
                if offset and offset >= response["ranked"]:
                    if not response["ranked"]:
                        raise QueryError(f"page {args['page']}: nothing was found",
                                         f"没有第 {args['page']} 页：没有找到结果。")
                    last_page = -(-response["ranked"] // args["k"])
                    context["last_page_url"] = _page_url(endpoint, args, last_page)
                    raise QueryError(f"page {args['page']} is past the last page of results ({last_page})",
                                     f"没有第 {args['page']} 页：结果只有 {last_page} 页。")
                parsed = parse_query(args["q"])
                for hit in response["hits"]:
                    hit["snippet"] = snippet(engine().stories[hit["id"]].body, parsed)
                    context["results"].append(hit)
                context["first"], context["last"] = offset + 1, offset + len(context["results"])
                if offset + args["k"] < context["ranked"]:
                    context["next_url"] = _page_url(endpoint, args, args["page"] + 1)
                if args["page"] > 1:
                    context["prev_url"] = _page_url(endpoint, args, args["page"] - 1)
        except QueryError as exc:
            context["error"] = exc
        return context

    def render_search(template: str, endpoint: str, practices=lambda context: None):
        context = search_context(endpoint)
        context["json_url"] = url_for("api_search", **request.args)
        status = 400 if context["error"] else 200
        return render_template(template, examples=EXAMPLES, embed_target=settings.embed_target,
                               answering=practices(context), **context), status

    @app.get("/")
    def search_page():
        """The search page; a query searched by meaning (hybrid, semantic) with
        no filter also gets the practices that answer it, above its stories."""
        return render_search("search.html", "search_page", practices_answering)

    def practices_answering(context: dict) -> dict | None:
        parsed = parse_query(context["query"])
        text = " ".join(parsed.positive_texts)
        if (context["error"] or not text.strip() or context["mode"] == "keyword" or context["filters"]
                or context["page"] != 1 or parsed.fields):
            return None
        try:  # the practices only: the similar stories would be the search's own results again
            answers = [records.practice_answer_record(answer, engine().stories)
                       for answer in engine().similar_practices(text=text, k=PRACTICES_ON_SEARCH_PAGE)]
        except QueryError:
            return None
        return {"practices": answers, "more_url": url_for("similar_text_page", text=text)} if answers else None

    @app.get("/embed")
    def embed_page():
        return render_search("embed.html", "embed_page")

    @app.get("/api/search")
    def api_search():
        context = search_context("api_search")
        if context["error"]:
            return _error(str(context["error"]), 400, context["error"].chinese)
        explain = request.args.get("explain", "") in ("1", "true", "yes")
        for hit in context["results"]:
            hit["snippet"] = str(hit["snippet"])
            if not explain:
                hit.pop("explain")
        return jsonify({"query": context["query"], "mode": context["mode"], "filters": context["filters"],
                        "sort": context["listed_sort"], "total": context["total"], "related": context["related"],
                        "without_filters": context["without_filters"], "ranked": context["ranked"],
                        "facets": context["facets"], "page": context["page"],
                        "offset": max(context["first"] - 1, 0), "hits": context["results"],
                        "next_url": context["next_url"], "prev_url": context["prev_url"],
                        "did_you_mean": context["did_you_mean"], "warnings": engine().warnings})

    @app.get("/api/suggest")
    def api_suggest():
        """Completions for the search box: headline words and byline names beginning with ``q``."""
        prefix = request.args.get("q", "")
        try:
            return jsonify(records.completions_response(prefix, engine().completions(prefix)))
        except QueryError as exc:
            return _error(str(exc), 400, exc.chinese)

    @app.before_request
    def follow_joined_parts():
        """A continuation joined to the story it continues (index/jumps.py) lives on under that story's id."""
        story_id = (request.view_args or {}).get("story_id")
        joined = engine().joined_into.get(story_id) if story_id else None
        if joined:
            return redirect(url_for(request.endpoint, **{**request.view_args, "story_id": joined}, **request.args),
                            code=301)
        return None

    def find_story(story_id: str):
        story = engine().stories.get(story_id)
        if story is None:
            raise StoryNotFound(story_id)
        return story

    @app.get("/story/<story_id>")
    def story_page(story_id: str):
        story, query = find_story(story_id), request.args.get("q", "")[:MAX_QUERY_CHARS]
        parsed = parse_query(query)
        paragraphs = highlight_paragraphs(story.paragraphs, parsed)
        try:
            similar = records.similar_response(engine(), story_id=story_id, k=SIMILAR_ON_STORY_PAGE)
            similar_error = None
        except IndexDamaged:
            app.logger.exception("the similar panel of %s could not be made", story_id)
            similar, similar_error = {"practices": [], "hits": []}, DAMAGED_MESSAGE
        more = (url_for("similar_page", story_id=story_id)
                if SIMILAR_ON_STORY_PAGE in (len(similar["hits"]), len(similar["practices"])) else None)
        return render_template("story.html", story=story, query=query, paragraphs=paragraphs, similar=similar,
                               similar_error=similar_error, more_similar_url=more,
                               json_url=url_for("api_story", story_id=story_id))

    @app.get("/similar")
    def similar_text_page():
        """Practices and stories that answer a question typed in: the page of /api/similar?text=."""
        try:
            text = _text_arg("text")
            similar = records.similar_response(engine(), text=text, k=SIMILAR_ON_LIST_PAGE)
        except QueryError as exc:
            return render_template("error.html", status=400, message=exc.chinese), 400
        return render_template("similar.html", story=None, text=text, similar=similar,
                               json_url=url_for("api_similar_text", text=text, k=SIMILAR_ON_LIST_PAGE))

    @app.get("/story/<story_id>/similar")
    def similar_page(story_id: str):
        story = find_story(story_id)
        similar = records.similar_response(engine(), story_id=story_id, k=SIMILAR_ON_LIST_PAGE)
        return render_template("similar.html", story=story, similar=similar,
                               json_url=url_for("api_similar_story", story_id=story_id, k=SIMILAR_ON_LIST_PAGE))

    @app.get("/api/story/<story_id>")
    def api_story(story_id: str):
        return jsonify(find_story(story_id).to_dict())

    @app.get("/api/similar/<story_id>")
    def api_similar_story(story_id: str):
        find_story(story_id)
        try:
            return jsonify(records.similar_response(engine(), story_id=story_id, k=_int_arg("k", DEFAULT_K, 1, MAX_K)))
        except QueryError as exc:
            return _error(str(exc), 400, exc.chinese)

    @app.get("/api/similar")
    def api_similar_text():
        try:
            return jsonify(records.similar_response(engine(), text=_text_arg("text"), k=_int_arg("k", DEFAULT_K, 1, MAX_K)))
        except QueryError as exc:
            return _error(str(exc), 400, exc.chinese)

    def practice_args(with_k: bool = True) -> dict:
        """The practice list's parameters, validated (``k`` only for the API:
        the page lists every match); QueryError otherwise."""
        q, kind = _text_arg("q").strip(), request.args.get("kind", "").strip()
        if len(q) > MAX_PRACTICE_QUERY_CHARS:
            raise QueryError(f"q is longer than {MAX_PRACTICE_QUERY_CHARS} characters",
                             f"查找做法的文字太长：最多 {MAX_PRACTICE_QUERY_CHARS} 个字。")
        if kind and kind not in PRACTICE_KINDS:
            raise QueryError(f"unknown kind {kind!r}; use one of: {', '.join(PRACTICE_KINDS)}",
                             f"没有“{kind}”这个类别：可用{'、'.join(PRACTICE_KINDS)}。")
        return {"q": q, "place": request.args.get("place", "").strip(), "kind": kind,
                "k": _int_arg("k", DEFAULT_PRACTICES, 1, MAX_PRACTICES, "条数（k）") if with_k else MAX_PRACTICES}

    def find_practice(name: str):
        practice = engine().practices.get(name)
        if practice is None:
            raise PracticeNotFound(name)
        return practice

    @app.get("/practices")
    def practices_page():
        error, response = None, None
        try:
            args = practice_args(with_k=False)
            response = records.practices_response(engine(), **args)
        except QueryError as exc:
            args, error = {"q": "", "place": "", "kind": "", "k": DEFAULT_PRACTICES}, exc
        catalog = engine().practices
        return render_template("practices.html", args=args, response=response, error=error,
                               kinds=catalog.kinds, practice_places=catalog.places,
                               json_url=url_for("api_practices", **request.args)), 400 if error else 200

    @app.get("/practice/<path:name>")
    def practice_page(name: str):
        practice = find_practice(name)
        return render_template("practice.html", practice=records.practice_record(practice, engine()),
                               json_url=url_for("api_practice", name=practice.name))

    @app.get("/api/practices")
    def api_practices():
        try:
            return jsonify(records.practices_response(engine(), **practice_args()))
        except QueryError as exc:
            return _error(str(exc), 400, exc.chinese)

    @app.get("/api/practice/<path:name>")
    def api_practice(name: str):
        return jsonify(records.practice_record(find_practice(name), engine()))

    @app.get("/api/openapi.json")
    def api_openapi():
        return jsonify(openapi_spec(url_for("search_page", _external=external).rstrip("/") or "/"))

    @app.get("/opensearch.xml")
    def opensearch():
        body = render_template("opensearch.xml", search_url=url_for("search_page", _external=external),
                               api_url=url_for("api_search", _external=external))
        return app.response_class(body, mimetype="application/opensearchdescription+xml")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        message = getattr(exc, "chinese", None) or HTTP_MESSAGES.get(exc.code, OTHER_HTTP_MESSAGE)
        if request.path.startswith("/api/"):
            return _error(exc.description or exc.name, exc.code or 500, message)
        return render_template("error.html", status=exc.code, message=message), exc.code

    @app.errorhandler(IndexDamaged)
    def damaged_index(exc: IndexDamaged):
        if not g.get("refused"):
            app.logger.error("%s", exc)
        if request.path.startswith("/api/"):
            return _error(f"the index is damaged ({exc.path.name}); the administrator has to run "
                          f"`storysearch check --repair`", 503, DAMAGED_MESSAGE)
        return render_template("error.html", status=503, message=DAMAGED_MESSAGE), 503

    @app.errorhandler(MilvusUnavailable)
    def milvus_unavailable(exc: MilvusUnavailable):
        app.logger.error("%s", exc)
        if request.path.startswith("/api/"):
            response = _error(f"the search backend is unavailable: {exc}", 503, UNAVAILABLE_MESSAGE)
        else:
            response = app.make_response((render_template("error.html", status=503, message=UNAVAILABLE_MESSAGE),
                                          503))
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(ModelBusy)
    def model_busy(exc: ModelBusy):
        if request.path.startswith("/api/"):
            response = _error("the embedding model is busy with other searches; try again in a moment "
                              "(keyword mode does not need it)", 503, BUSY_MESSAGE)
        else:
            response = app.make_response((render_template("error.html", status=503, message=BUSY_MESSAGE), 503))
        response.headers["Retry-After"] = "1"
        return response

    @app.errorhandler(Exception)
    def unexpected_error(exc: Exception):
        app.logger.exception("unexpected error on %s", request.path)
        if request.path.startswith("/api/"):
            return _error("internal error; the server log has the details", 500, HTTP_MESSAGES[500])
        return render_template("error.html", status=500, message=HTTP_MESSAGES[500]), 500

    return app
