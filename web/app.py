"""The Flask app: a search page and its JSON twin."""
from __future__ import annotations

from flask import Flask, abort, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from searcher import MODES, SearchEngine
from searcher.engine import MAX_K, QueryError
from searcher.query import parse_query
from searcher.snippets import highlight_all, snippet

MODE_LABELS = {"hybrid": "综合", "keyword": "关键词", "semantic": "语义"}
DEFAULT_K = 10
MAX_QUERY_CHARS = 10_000


def _error(message: str, status: int):
    response = jsonify({"ok": False, "error": message, "status": status})
    response.status_code = status
    return response


def _filters() -> dict[str, str]:
    return {name: request.args.get(name, "").strip() for name in ("source", "author") if request.args.get(name)}


def _search_args() -> tuple[str, str, int]:
    """Query, mode and k from the request, validated; QueryError otherwise."""
    query = request.args.get("q", "")
    if len(query) > MAX_QUERY_CHARS:
        raise QueryError(f"the query is longer than {MAX_QUERY_CHARS} characters")
    mode = request.args.get("mode", "hybrid")
    if mode not in MODES:
        raise QueryError(f"unknown mode {mode!r}; use one of: {', '.join(MODES)}")
    raw_k = request.args.get("k", str(DEFAULT_K))
    try:
        k = int(raw_k)
    except ValueError:
        raise QueryError(f"k must be a whole number from 1 to {MAX_K}, not {raw_k!r}") from None
    if not 1 <= k <= MAX_K:
        raise QueryError(f"k must be a whole number from 1 to {MAX_K}, not {k}")
    return query, mode, k


def create_app(engine: SearchEngine, config: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(JSON_AS_ASCII=False, **(config or {}))
    app.json.ensure_ascii = False
    app.extensions["storysearch"] = engine

    @app.get("/")
    def search_page():
        error, results = None, []
        query, mode, k = request.args.get("q", ""), request.args.get("mode", "hybrid"), DEFAULT_K
        try:
            query, mode, k = _search_args()
            hits = engine.search(query, mode, k, _filters())
        except QueryError as exc:
            error, hits = str(exc), []
        parsed = parse_query(query)
        for hit in hits:
            record = engine.hit_record(hit)
            record["snippet"] = snippet(engine.stories[hit.docid].body, parsed)
            results.append(record)
        return render_template("search.html", query=query, mode=mode, modes=MODE_LABELS, results=results,
                               error=error, warnings=engine.warnings), (400 if error else 200)

    @app.get("/api/search")
    def api_search():
        try:
            query, mode, k = _search_args()
            return jsonify(engine.search_response(query, mode, k, _filters()))
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
        return render_template("story.html", story=story, query=query, paragraphs=paragraphs)

    @app.get("/api/story/<story_id>")
    def api_story(story_id: str):
        return jsonify(find_story(story_id).to_dict())

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
                               results=[], error="服务器内部错误，请稍后再试。"), 500

    return app
