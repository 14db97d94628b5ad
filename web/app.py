"""The Flask app: search and story pages and their JSON twins."""
from __future__ import annotations

from flask import Flask, abort, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from searcher import MODES, SearchEngine
from searcher.engine import MAX_K, QueryError
from searcher.hybrid import FUSIONS
from searcher.query import parse_query
from searcher.snippets import highlight_all, snippet

MODE_LABELS = {"hybrid": "综合", "keyword": "关键词", "semantic": "语义"}
DEFAULT_K = 10
SIMILAR_ON_STORY_PAGE = 5
MAX_QUERY_CHARS = 10_000


def _error(message: str, status: int):
    response = jsonify({"ok": False, "error": message, "status": status})
    response.status_code = status
    return response


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name, "")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise QueryError(f"{name} must be a whole number from {low} to {high}, not {raw!r}") from None
    if not low <= value <= high:
        raise QueryError(f"{name} must be a whole number from {low} to {high}, not {value}")
    return value


def _text_arg(name: str) -> str:
    value = request.args.get(name, "")
    if len(value) > MAX_QUERY_CHARS:
        raise QueryError(f"the {name} is longer than {MAX_QUERY_CHARS} characters")
    return value


def _filters() -> dict[str, str]:
    return {name: request.args.get(name, "").strip() for name in ("source", "author") if request.args.get(name)}


def _search_args() -> dict:
    """The search request's parameters, validated; QueryError otherwise."""
    mode = request.args.get("mode", "hybrid")
    if mode not in MODES:
        raise QueryError(f"unknown mode {mode!r}; use one of: {', '.join(MODES)}")
    fusion = request.args.get("fusion") or None
    if fusion is not None and fusion not in FUSIONS:
        raise QueryError(f"unknown fusion {fusion!r}; use one of: {', '.join(FUSIONS)}")
    k = _int_arg("k", DEFAULT_K, 1, MAX_K)
    page = _int_arg("page", 1, 1, 1000)
    return {"query": _text_arg("q"), "mode": mode, "k": k, "offset": (page - 1) * k, "fusion": fusion,
            "filters": _filters()}


def create_app(engine: SearchEngine, config: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(**(config or {}))
    app.json.ensure_ascii = False
    app.extensions["storysearch"] = engine

    @app.get("/")
    def search_page():
        error, results, args = None, [], {"query": request.args.get("q", ""), "mode": "hybrid"}
        try:
            args = _search_args()
            hits = engine.search(args["query"], args["mode"], args["k"], args["filters"], args["offset"],
                                 args["fusion"])
        except QueryError as exc:
            error, hits = str(exc), []
        parsed = parse_query(args["query"])
        for hit in hits:
            record = engine.hit_record(hit, explain=True)
            record["snippet"] = snippet(engine.stories[hit.docid].body, parsed)
            results.append(record)
        return render_template("search.html", query=args["query"], mode=args["mode"], modes=MODE_LABELS,
                               results=results, error=error, warnings=engine.warnings), (400 if error else 200)

    @app.get("/api/search")
    def api_search():
        try:
            args = _search_args()
            explain = request.args.get("explain", "") in ("1", "true", "yes")
            return jsonify(engine.search_response(args["query"], args["mode"], args["k"], args["filters"],
                                                  args["offset"], explain, args["fusion"]))
        except QueryError as exc:
            return _error(str(exc), 400)

    def find_story(story_id: str):
        story = engine.stories.get(story_id)
        if story is None:
            abort(404, description=f"no story with id {story_id!r}")
        return story

    @app.get("/story/<story_id>")
    def story_page(story_id: str):
        story, query = find_story(story_id), request.args.get("q", "")
        parsed = parse_query(query)
        paragraphs = [highlight_all(p, parsed) for p in story.paragraphs]
        similar = engine.similar_response(story_id=story_id, k=SIMILAR_ON_STORY_PAGE)["hits"]
        return render_template("story.html", story=story, query=query, paragraphs=paragraphs, similar=similar)

    @app.get("/api/story/<story_id>")
    def api_story(story_id: str):
        return jsonify(find_story(story_id).to_dict())

    @app.get("/api/similar/<story_id>")
    def api_similar_story(story_id: str):
        find_story(story_id)
        try:
            return jsonify(engine.similar_response(story_id=story_id, k=_int_arg("k", DEFAULT_K, 1, MAX_K)))
        except QueryError as exc:
            return _error(str(exc), 400)

    @app.get("/api/similar")
    def api_similar_text():
        try:
            return jsonify(engine.similar_response(text=_text_arg("text"), k=_int_arg("k", DEFAULT_K, 1, MAX_K)))
        except QueryError as exc:
            return _error(str(exc), 400)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if request.path.startswith("/api/"):
            return _error(exc.description or exc.name, exc.code or 500)
        return exc

    @app.errorhandler(Exception)
    def unexpected_error(exc: Exception):
        app.logger.exception("unexpected error on %s", request.path)
        if request.path.startswith("/api/"):
            return _error("internal error; the server log has the details", 500)
        return render_template("search.html", query="", mode="hybrid", modes=MODE_LABELS,
                               results=[], error="服务器内部错误，请稍后再试。", warnings=[]), 500

    return app
