"""Passage embedding on Ray (index/cluster.py) against one process, in one run.

    python scripts/bench_ray.py [--passages 300] [--repeat 2] [--precision int8] [--data …/cmrc2018_dev.json]

Real passages (CMRC 2018 dev paragraphs cut as a build cuts stories, the
first ``--passages`` of them) are embedded by: this process, as
``storysearch index`` embeds them (the model on one thread a core, texts
side by side); a local Ray with 1 embedding worker; the same Ray with 2
workers (each worker an actor that loaded the model once and computes on
one thread). Passages/s is the median over ``--repeat`` rounds, the three
taking turns so that a busy machine slows them alike; the workers' start
(loading the model) is timed apart, it is paid once a build. The vectors of
each way are compared with this process's.

What a machine added to the cluster should bring: its cores times the
passages/s of one worker (the passages are independent: nothing is shared
between workers but the batches sent and the vectors returned), until the
build process, which looks every passage up in the embedding cache and
stores its vector there, is the limit: its cost per passage is measured here
too.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cmrc  # noqa: E402
from benchinfo import describe  # noqa: E402

from storysearch.index.cluster import connect  # noqa: E402
from storysearch.index.embedding import DEFAULT_MODEL, load_embedder  # noqa: E402
from storysearch.index.embedding_cache import EmbeddingCache, embed_with_cache  # noqa: E402
from storysearch.index.settings import current as current_settings  # noqa: E402
from storysearch.index.vectors import story_passage_rows  # noqa: E402


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def driver_cost(texts: list[str], vectors, embedder) -> float:
    """Seconds per passage the build process spends on the embedding cache:
    every passage looked up, the missing ones stored (here all of them)."""
    with tempfile.TemporaryDirectory() as folder:
        cache = EmbeddingCache(Path(folder), embedder.name, embedder.document_prompt, embedder.dimension,
                               embedder.precision)
        started = time.perf_counter()
        embed_with_cache(texts, lambda missing: vectors[:len(missing)], cache)
        cache.close()
        return (time.perf_counter() - started) / len(texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passages", type=int, default=300, help="passages embedded (default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=2, help="rounds (default: %(default)s)")
    parser.add_argument("--precision", default=current_settings().model_precision,
                        help="the model's precision (default: the setting model_precision, %(default)s)")
    parser.add_argument("--data", type=Path, default=cmrc.DEFAULT)
    args = parser.parse_args()
    import onnxruntime

    print(describe())
    print(f"ray {metadata.version('ray')}; onnxruntime {onnxruntime.__version__}; precision {args.precision}")
    print(f"load average (1, 5, 15 min) at the start: {load_average()}")
    stories, _, _ = cmrc.load(args.data)
    texts = [row["text"] for row in story_passage_rows(stories)][:args.passages]
    print(f"{len(texts)} CMRC 2018 dev passages, {statistics.mean(map(len, texts)):.0f} characters on average")

    here = load_embedder(DEFAULT_MODEL, args.precision)
    here.encode_documents(texts[:4])  # warm-up
    rates: dict[str, list[float]] = {"this process": [], "Ray, 1 worker": [], "Ray, 2 workers": []}
    vectors = {}
    # 3 logical CPUs: the 1-worker and the 2-worker pools exist side by side and take turns (an idle
    # worker computes nothing), so a round measures the three ways within seconds of each other
    with connect("auto", cpus=3) as cluster, ExitStack() as stack:
        starts, embedders = {}, {"this process": here}
        for workers in (1, 2):
            started = time.perf_counter()
            embedder = stack.enter_context(cluster.with_workers(workers).embedder(DEFAULT_MODEL, args.precision))
            embedder.encode_documents(texts[:4])  # starts the other worker, warms them up
            starts[workers] = time.perf_counter() - started
            embedders[f"Ray, {workers} worker{'s' * (workers > 1)}"] = embedder
        names = list(rates)
        for number in range(args.repeat):
            for name in names[number % len(names):] + names[:number % len(names)]:
                started = time.perf_counter()
                vectors[name] = embedders[name].encode_documents(texts)
                rates[name].append(len(texts) / (time.perf_counter() - started))

    print(f"load average at the end: {load_average()}")
    print(f"\n{len(texts)} passages, {args.repeat} rounds taking turns; median passages/s")
    print("| | passages/s | against this process | largest difference to this process's vectors |")
    print("| --- | --- | --- | --- |")
    base = statistics.median(rates["this process"])
    for name, found in rates.items():
        rate = statistics.median(found)
        print(f"| {name} | {rate:.1f} | {rate / base:.2f}x | {abs(vectors[name] - vectors['this process']).max():.1e} |")
    print(f"workers started (model loaded) in: 1 worker {starts[1]:.1f} s, 2 workers {starts[2]:.1f} s")
    one = statistics.median(rates["Ray, 1 worker"])
    two = statistics.median(rates["Ray, 2 workers"])
    cost = driver_cost(texts, vectors["this process"], here)
    print(f"2 workers against 1: {two / one:.2f}x on {os.cpu_count()} cores")
    print(f"the build process's embedding-cache work: {cost * 1000:.2f} ms a passage, so it keeps up with "
          f"about {1 / cost:,.0f} passages/s of workers")
    print(f"expected per added machine of n cores: about n x {one:.0f} passages/s (one worker a core, "
          f"at this machine's per-core speed), up to that limit")


if __name__ == "__main__":
    main()
