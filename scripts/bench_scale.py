"""How cost grows with the archive: synthetic archives of 1k, 10k and 100k
stories (and 1M: ``--sizes 1000000``) built from real text, measured for
build time, the build's peak memory, index size on disk, memory of the
serving process, and query latency per mode; plus embedding throughput on
real passages.

    python scripts/bench_scale.py [--sizes 1000 10000 100000] [--queries 200]
    python scripts/bench_scale.py --end-to-end [--sizes 10000] [--ann-threshold N]

Stories recombine real paragraphs (the bundled corpus and CMRC 2018 dev)
under real headlines. So that embedding time does not dominate the run, each
synthetic passage's vector is a real passage vector (multilingual-e5-small,
from the embedding cache) with a little noise, normalised; the keyword index
is built for real. Query latency excludes query embedding: the query vectors
are real question embeddings computed beforehand. Hybrid = keyword list +
semantic list (100 each) + weighted fusion, as HybridSearcher does it.
Each story also gets a paper, a date over ten years and the places of a real
bundled story; "facets" times the facet counts (paper, year, month, place,
author) over a query's whole keyword match set, "newest-first sort" the
ordering of that whole set by date. The serving process's memory is
measured after opening the index and one hybrid search: its RSS, the part
that is file-backed (mapped index files, shared and reclaimable) and the
anonymous memory beyond the model's; once with the index's files in the page
cache as the build left them, once after dropping them from it (a server
started later, whose opening is timed: SearchEngine to a preloaded engine),
and then again after a hybrid search for each of the run's questions (the
search's working set in). ``--keep DIR`` keeps each archive
in DIR/index-SIZE; run again, it measures the kept one without building it.

``--end-to-end`` measures instead what adding one page costs: the synthetic
stories are written as page files (PAPER/DATE/NN.txt, ten stories a page), the
index is built from them by ``build_index`` (segmenting, places, practices,
Whoosh, term matrix, vectors, practice index, commit; the vectors derived as
above by a stand-in embedder, from a throw-away cache), then one new page of
ten stories is added and ``build_index`` run again: its total and its steps
(BuildReport.timings) are printed. ``--ann-threshold`` (passages above it: HNSW)
defaults to the setting.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cmrc  # noqa: E402
from benchinfo import describe, percentile  # noqa: E402

from storysearch.index import layout, settings  # noqa: E402
from storysearch.index.analysis import analyzer_settings  # noqa: E402
from storysearch.index import build as build_module  # noqa: E402
from storysearch.index.build import GenerationWriter, build_index, place_records  # noqa: E402
from storysearch.index.practice_index import write_practice_index  # noqa: E402
from storysearch.index.vectors import save_vectors, story_passage_rows  # noqa: E402
from storysearch.index.corpus import read_corpus  # noqa: E402
from storysearch.index.embedding import DEFAULT_MODEL, load_embedder  # noqa: E402
from storysearch.index.embedding_cache import EmbeddingCache, default_cache_dir, embed_with_cache  # noqa: E402
from storysearch.index.segment import split_stories  # noqa: E402
from storysearch.index.sparse import update_sparse_index  # noqa: E402
from storysearch.index.stories import Story, write_story_file  # noqa: E402
from storysearch.searcher import SearchEngine  # noqa: E402
from storysearch.searcher.filters import Filters  # noqa: E402
from storysearch.searcher.query import parse_query  # noqa: E402
from storysearch.searcher.fusion import weighted_fusion  # noqa: E402
from storysearch.searcher.hybrid import DEFAULT_WEIGHTS, FUSION_DEPTH  # noqa: E402

NOISE = 0.15
MEMORY_PROBE = """
import json, sys, time
from pathlib import Path
def rss(field='VmRSS'):
    for line in open('/proc/self/status'):
        if line.startswith(field + ':'):
            return int(line.split()[1]) // 1024
from storysearch.index.embedding import load_embedder, DEFAULT_MODEL
load_embedder(DEFAULT_MODEL).encode_queries(['warm up'])
model, model_anon = rss(), rss('RssAnon')
from storysearch.searcher import SearchEngine
started = time.perf_counter()
engine = SearchEngine(Path(sys.argv[1])).preload()
open_s = time.perf_counter() - started
def measure():
    return {'serving_mb': rss(), 'file_mb': rss('RssFile'), 'anon_beyond_model_mb': rss('RssAnon') - model_anon}
engine.search('乡贤 社区治理', 'hybrid', 10)
after_one = measure()
queries = json.loads(Path(sys.argv[2]).read_text(encoding='utf-8'))
for query in queries:
    engine.search(query, 'hybrid', 10)
print(json.dumps({'model_mb': model, 'open_s': open_s, **after_one, 'queries': len(queries),
                  'after_queries': measure()}))
"""


def evict(folder: Path) -> None:
    """Drop the folder's files from the page cache (a server started after a
    reboot, not right after the build that wrote them)."""
    for path in folder.rglob("*"):
        if path.is_file():
            descriptor = os.open(path, os.O_RDONLY)
            try:
                os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(descriptor)


def memory_probe(folder: Path, cold: bool, queries: list[str]) -> dict:
    """The serving process's memory after opening the index and one hybrid
    search, and again after a hybrid search for each of ``queries`` (query
    embedding included): what a server holds once its working set is in."""
    if cold:
        evict(folder)
    with tempfile.NamedTemporaryFile("w", suffix=".json", encoding="utf-8") as asked:
        json.dump(queries, asked, ensure_ascii=False)
        asked.flush()
        probe = subprocess.run([sys.executable, "-c", MEMORY_PROBE, str(folder), asked.name], capture_output=True,
                               text=True)
    if probe.returncode != 0:
        raise SystemExit(f"the memory probe failed:\n{probe.stderr[-2000:]}")
    return json.loads(probe.stdout.strip().splitlines()[-1])


def real_text(bundled: list[Story], cmrc_stories: list[Story]) -> tuple[list[str], list[str]]:
    """Real paragraphs (the bundled ones, and CMRC contexts three sentences at a time) and headlines."""
    paragraphs = [p for s in bundled for p in s.paragraphs]
    for story in cmrc_stories:
        sentences = [s + "。" for s in story.paragraphs[0].split("。") if s.strip()]
        paragraphs += ["".join(sentences[i:i + 3]) for i in range(0, len(sentences), 3)]
    return paragraphs, [s.headline for s in bundled if s.headline] + [p[:14] for p in paragraphs[::7]]


def real_material(embedder, bundled: list[Story]):
    """Real paragraphs, headlines, passage vectors and question vectors."""
    cmrc_stories, questions, _ = cmrc.load()
    paragraphs, headlines = real_text(bundled, cmrc_stories)
    cache_dir = default_cache_dir()
    rows = story_passage_rows(bundled + cmrc_stories)
    cache = EmbeddingCache(cache_dir, embedder.name, embedder.document_prompt, embedder.dimension, embedder.precision)
    vectors, _ = embed_with_cache([r["text"] for r in rows], embedder.encode_documents, cache)
    qcache = EmbeddingCache(cache_dir, embedder.name, embedder.query_prompt, embedder.dimension, embedder.precision)
    asked = [q for _, q in questions]
    question_vectors, _ = embed_with_cache(asked, embedder.encode_queries, qcache)
    return paragraphs, headlines, vectors, asked, question_vectors


PAGE_STORIES = 10  # a page added to the archive
PAPERS = ["浙江日报", "杭州日报", "嘉兴日报", "湖州日报", "丽水日报", "人民日报", "光明日报", "经济日报"]
FIRST_DAY = datetime.date(2015, 1, 1).toordinal()


def synthetic_archive(n: int, paragraphs, headlines, places, rng: random.Random, first: int = 0) -> list[Story]:
    """Stories of real paragraphs under real headlines, with a paper, a date
    over ten years and the places of a real bundled story; numbered from ``first``."""
    stories = []
    authors = [f"{family}{given}" for family in "张李王赵钱孙周吴郑冯" for given in "一二三四五六七八九十"]
    for i in range(first, first + n):
        body = rng.sample(paragraphs, rng.randint(2, 6))
        day = datetime.date.fromordinal(FIRST_DAY + rng.randrange(3650)).isoformat()
        stories.append(Story(f"syn-{i:06d}", f"synthetic-{i // 50:05d}.txt", i % 50, rng.choice(headlines),
                             authors=[rng.choice(authors)], paragraphs=body, paper=rng.choice(PAPERS), date=day,
                             places=rng.choice(places)))
    return stories


def derived_vectors(real_vectors: np.ndarray, count: int, rng: np.random.Generator,
                    chunk: int = 100_000) -> np.ndarray:
    """``count`` real passage vectors picked at random, each with a little
    noise, normalised; made a chunk at a time (a million stories' noise at
    once would take 7 GB)."""
    vectors = np.empty((count, real_vectors.shape[1]), dtype=np.float32)
    for first in range(0, count, chunk):
        part = vectors[first:first + chunk]
        part[:] = with_noise(real_vectors[rng.integers(len(real_vectors), size=len(part))],
                             rng.standard_normal(part.shape, dtype=np.float32))
    return vectors


def with_noise(vectors: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Real vectors moved by a little of ``noise`` (standard normal), normalised again."""
    moved = vectors + (NOISE / np.sqrt(vectors.shape[-1])) * noise
    return moved / np.linalg.norm(moved, axis=-1, keepdims=True)


def peak_rss_mb() -> tuple[int, int]:
    """The largest RSS this process had, and the largest of its ended
    children (the term matrix's process of a build in two)."""
    return (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)


def build(folder: Path, stories: list[Story], real_vectors: np.ndarray, embedder, rng) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    timings = {}
    with GenerationWriter(folder) as writer:
        generation = writer.path
        # as a build writes them: both in one pass, each story tokenized once (counted in the Whoosh column)
        from storysearch.index.keyword_store import write_keyword_side  # (here: bench_keyword_build.py, which
        # imports this module, also runs with the code of before it)
        spent = write_keyword_side(generation / layout.WHOOSH, generation / layout.SPARSE, stories)
        timings["keyword_index_s"] = spent["tokenize_s"] + spent["whoosh_s"]
        timings["term_matrix_s"] = spent["term_matrix_s"]
        timings["keyword_peak_mb"] = peak_rss_mb()
        timings["keyword_processes"] = spent.get("processes", settings.current().build_processes)
        rows = story_passage_rows(stories)
        vectors = derived_vectors(real_vectors, len(rows), np.random.default_rng(rng.randrange(1 << 30)))
        started = time.perf_counter()
        kind = save_vectors(generation, rows, vectors, embedder.dimension)
        timings["vector_index_s"] = time.perf_counter() - started
        write_practice_index(generation, stories, embedder, None)  # synthetic stories report no practices
        by_source: dict[str, list[Story]] = {}
        for story in stories:
            by_source.setdefault(story.source, []).append(story)
        write_story_file(generation / layout.STORIES, generation / layout.STORY_INDEX, list(by_source.items()))
        counts: dict[str, int] = {}
        for story in stories:
            counts[story.source] = counts.get(story.source, 0) + 1
        writer.commit({"files": {source: {"sha256": "", "stories": n} for source, n in counts.items()},
                       "counts": {"stories": len(stories), "passages": len(rows)}, "analyzer": analyzer_settings(),
                       "model": {"name": embedder.name, "precision": embedder.precision,
                                 "dimension": embedder.dimension, "vector_index": kind}})
    return {"passages": len(rows), "vector_index": kind.split(" ")[0], **timings}


def latency(engine: SearchEngine, queries: list[str], vectors: np.ndarray) -> dict:
    keyword, semantic = engine.keyword, engine.semantic
    times = {"keyword": [], "semantic": [], "hybrid": [], "facets": [], "newest": []}
    for query, vector in zip(queries, vectors):
        parsed = parse_query(query)
        found = keyword.match(parsed)
        started = time.perf_counter()
        engine.table.facets(found.matches, Filters())
        times["facets"].append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        engine.table.by_date(np.flatnonzero(found.matches), found.scores[found.matches], newest=True)[:100]
        times["newest"].append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        lists = {"keyword": keyword.search(query, FUSION_DEPTH)}
        middle = time.perf_counter()
        lists["semantic"] = semantic.search_vector(vector, FUSION_DEPTH, query)
        end = time.perf_counter()
        weighted_fusion(lists, DEFAULT_WEIGHTS, depth=10)
        fused = time.perf_counter()
        times["keyword"].append((middle - started) * 1000)
        times["semantic"].append((end - middle) * 1000)
        times["hybrid"].append((fused - started) * 1000)
    return {mode: (statistics.median(v), percentile(v, 95)) for mode, v in times.items()}


def disk_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2 ** 20


class DerivedEmbedder:
    """Stands in for the model in an end-to-end build: a text's vector is a
    real passage vector picked by the text's hash, with a little noise."""

    def __init__(self, embedder, real_vectors: np.ndarray):
        self.name, self.precision, self.runtime = "derived-" + embedder.name.rsplit("/", 1)[-1], "float32", "derived"
        self.dimension, self.real = embedder.dimension, real_vectors
        self.query_prompt, self.document_prompt = embedder.query_prompt, embedder.document_prompt

    def encode_documents(self, texts: list[str], progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for i, text in enumerate(texts):
            seed = int.from_bytes(__import__("hashlib").sha1(text.encode("utf-8")).digest()[:8], "little")
            out[i] = with_noise(self.real[seed % len(self.real)],
                                np.random.default_rng(seed).standard_normal(self.dimension).astype(np.float32))
        return out


def page_text(stories: list[Story]) -> str:
    """A page of stories as a scanned page reads: headline, byline, paragraphs."""
    return "\n\n".join(f"{story.headline}\n\n本报记者 {story.authors[0]}\n\n" + "\n\n".join(story.paragraphs)
                        for story in stories) + "\n"


def write_corpus(folder: Path, stories: list[Story], first_day: int = 0, age_s: float = 0) -> None:
    """Ten stories a page file, one page an edition: PAPER/DATE/01.txt,
    dated ``age_s`` seconds ago (an archive's pages were written long before
    they are indexed; a page written within 2 s of being read is read again
    at the next update, see index/corpus.py)."""
    for number in range(0, len(stories), PAGE_STORIES):
        day = datetime.date.fromordinal(FIRST_DAY + first_day + number // PAGE_STORIES // len(PAPERS))
        path = folder / PAPERS[number // PAGE_STORIES % len(PAPERS)] / day.isoformat() / "01.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(page_text(stories[number:number + PAGE_STORIES]), encoding="utf-8")
        if age_s:
            then = time.time_ns() - int(age_s * 1e9)
            os.utime(path, ns=(then, then))


STEPS = ("corpus", "previous", "segmenting", "stories", "keyword", "term_matrix", "vectors", "practices", "commit")


def end_to_end(sizes: list[int], ann_threshold: int | None, embedder, paragraphs, headlines, places,
               real_vectors) -> None:
    derived = DerivedEmbedder(embedder, real_vectors)
    build_module.load_embedder = lambda name, precision=None: derived
    rng = random.Random(2026)
    print(f"| stories | passages | vectors | full build | update ({PAGE_STORIES} stories added) | "
          + " | ".join(STEPS) + " |", flush=True)
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            corpus, folder, cache = Path(tmp) / "corpus", Path(tmp) / "index", Path(tmp) / "cache"
            write_corpus(corpus, synthetic_archive(size, paragraphs, headlines, places, rng), age_s=3600)
            built = build_index(corpus, folder, derived.name, cache, ann_threshold, progress=False,
                                precision="float32")
            write_corpus(corpus, synthetic_archive(PAGE_STORIES, paragraphs, headlines, places, rng, first=size),
                         first_day=5000)
            update = build_index(corpus, folder, derived.name, cache, ann_threshold, progress=False,
                                 precision="float32")
            assert update.incremental and update.added, "the update did not build on the index"
            kind = layout.read_meta(layout.current_generation(folder))["model"]["vector_index"].split(" ")[0]
            print(f"| {built.stories:,} | {built.passages:,} | {kind} | {built.seconds:.0f} s | "
                  f"{update.seconds:.2f} s | " + " | ".join(f"{update.timings.get(step, 0):.2f}" for step in STEPS)
                  + " |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--end-to-end", action="store_true",
                        help="time build_index adding one page to an index built from page files")
    parser.add_argument("--ann-threshold", type=int, default=None)
    parser.add_argument("--keep", type=Path, default=None,
                        help="build each archive in KEEP/index-SIZE and keep it; one found there is measured again, "
                             "not built")
    args = parser.parse_args()
    print(describe(), flush=True)
    embedder = load_embedder(DEFAULT_MODEL)
    bundled = [s for page in read_corpus(layout.DEFAULT_CORPUS)[0] for s in split_stories(page.source, page.text)]
    paragraphs, headlines, real_vectors, questions, question_vectors = real_material(embedder, bundled)
    places = [place_records(story) for story in bundled]
    if args.end_to_end:
        end_to_end(args.sizes, args.ann_threshold, embedder, paragraphs, headlines, places, real_vectors)
        return
    sample = story_passage_rows(bundled)
    started = time.perf_counter()
    embedder.encode_documents([row["text"] for row in sample])
    rate = len(sample) / (time.perf_counter() - started)
    print(f"embedding throughput on {len(sample)} real passages of the bundled corpus: {rate:.1f} passages/s "
          f"({embedder.runtime} {embedder.precision}, model threads: {settings.current().model_threads or 'one a core'})",
          flush=True)
    rng = random.Random(2026)
    picks = rng.sample(range(len(questions)), args.queries)
    queries, vectors = [questions[i] for i in picks], question_vectors[picks]
    current = settings.current()
    print(f"keyword side: the setting build_processes {current.build_processes} (0: chosen by the build, "
          f"in the Whoosh build column), parts of {current.build_part_stories:,} stories "
          "(STORYSEARCH_BUILD_PROCESSES, STORYSEARCH_BUILD_PART_STORIES)", flush=True)
    print("| stories | passages | vectors | Whoosh build | term matrix build | vector index build | "
          "peak RSS by the end of the keyword side (this process, since it started; the term matrix's process) | "
          "size on disk | "
          "serving RSS (model alone; file-backed; anonymous beyond the model's) | "
          "opening the index from a cold page cache | the same RSS from a cold page cache (file-backed) | "
          f"after {args.queries} hybrid queries (file-backed; anonymous beyond the model's) | "
          "keyword p50/p95 | semantic p50/p95 | hybrid p50/p95 | "
          f"facets p50/p95 | newest-first sort p50/p95 | term matrix update ({PAGE_STORIES} stories added) |",
          flush=True)
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            folder = args.keep / f"index-{size}" if args.keep else Path(tmp) / "index"
            if (folder / layout.CURRENT).is_file():
                built = None  # kept from an earlier run
            else:
                stories = synthetic_archive(size, paragraphs, headlines, places, rng)
                built = build(folder, stories, real_vectors, embedder, rng)
                del stories
            page = synthetic_archive(PAGE_STORIES, paragraphs, headlines, places, rng, first=size)
            started = time.perf_counter()
            update_sparse_index(Path(tmp) / "update", layout.current_generation(folder) / layout.SPARSE, set(), page)
            matrix_update = time.perf_counter() - started
            memory, cold = memory_probe(folder, False, queries), memory_probe(folder, True, queries)
            engine = SearchEngine(folder, embedder)
            engine.search("乡贤", "hybrid", 10)  # open everything once
            measured = latency(engine, queries, vectors)
            steady = cold["after_queries"]
            if built:
                own, child = built["keyword_peak_mb"]
                two = built["keyword_processes"] > 1
                building = (f"{built['vector_index']} | {built['keyword_index_s']:.0f} s "
                            f"({built['keyword_processes']} process{'es' if two else ''}) | "
                            f"{built['term_matrix_s']:.0f} s{' (alongside)' if two else ''} | "
                            f"{built['vector_index_s']:.0f} s | {own:,} MB; " + (f"{child:,} MB" if two else "-"))
            else:
                building = "(kept) | - | - | - | -"
            passages = layout.read_meta(layout.current_generation(folder))["counts"]["passages"]
            print(f"| {size:,} | {passages:,} | {building} | {disk_mb(folder):.0f} MB | "
                  f"{memory['serving_mb']} MB ({memory['model_mb']} MB; {memory['file_mb']} MB; "
                  f"{memory['anon_beyond_model_mb']} MB) | {cold['open_s']:.2f} s | {cold['serving_mb']} MB ({cold['file_mb']} MB) | "
                  f"{steady['serving_mb']} MB ({steady['file_mb']} MB; {steady['anon_beyond_model_mb']} MB) | "
                  + " | ".join(f"{p50:.1f} / {p95:.1f} ms" for p50, p95 in measured.values())
                  + f" | {matrix_update:.2f} s |", flush=True)


if __name__ == "__main__":
    main()
