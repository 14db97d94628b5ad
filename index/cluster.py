"""Indexing on a Ray cluster (``storysearch index --ray auto|ADDRESS``).

The work of a build that grows with the archive fans out to Ray workers:
the pages read now are segmented and given their metadata by tasks over
chunks of pages, the stories' places and practices found by tasks over
chunks of stories, and the passages missing from the embedding cache
embedded by actors that each load the model once and take batches of
texts. Results come back in order, so everything else stays where it is:
the build process reads the corpus, holds the writer lock and the
embedding cache, and writes the generation as it does without Ray
(index/build.py). A task whose worker dies is run again, an actor that
dies is restarted and its batch sent again (``RETRIES`` times each).

Ray is imported here only, and only by ``connect``: the default build
never loads it.
"""
from __future__ import annotations

import logging
import socket
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from importlib import metadata

import numpy as np

from . import settings
from .failpoints import failpoint, worker_environment

log = logging.getLogger(__name__)

LOCAL = "auto"  # --ray auto: a Ray started on this machine for the build, stopped after it
ITEMS_PER_TASK = 16  # pages or stories: a task costs about a millisecond of scheduling
TASKS_IN_FLIGHT_PER_CPU = 4  # bounds what waits in the object store, keeps every worker busy
TEXTS_PER_CALL = 32  # passages per call to an embedding worker: about two seconds of one core
RETRIES = 3


class ClusterError(RuntimeError):
    """The Ray cluster cannot be reached, or lost work it could not do again."""


@dataclass(frozen=True)
class Cluster:
    """A connected Ray cluster and how many embedding workers a build starts
    on it (each loads the model and computes on one CPU)."""

    address: str
    workers: int

    def with_workers(self, workers: int) -> "Cluster":
        return replace(self, workers=workers)

    def map(self, function: Callable, items: Sequence) -> Iterator:
        """``function(item)`` for each item, computed by Ray tasks over chunks
        of ``ITEMS_PER_TASK`` items, yielded in the items' order."""
        import ray

        task = ray.remote(_map_chunk).options(max_retries=RETRIES, **_options())
        pending: deque = deque()
        limit = max(1, TASKS_IN_FLIGHT_PER_CPU * self.workers)
        try:
            for start in range(0, len(items), ITEMS_PER_TASK):
                pending.append(task.remote(function, items[start:start + ITEMS_PER_TASK]))
                if len(pending) >= limit:
                    yield from ray.get(pending.popleft())
            while pending:
                yield from ray.get(pending.popleft())
        except ray.exceptions.RayError as exc:
            raise _lost("a task", exc) from exc

    @contextmanager
    def embedder(self, model_name: str, precision: str) -> Iterator["ClusterEmbedder"]:
        """The model (run by the setting ``model_runtime``) on this cluster's
        embedding workers; they are stopped on leaving."""
        embedder = ClusterEmbedder(model_name, precision, settings.current().model_runtime, self.workers)
        try:
            yield embedder
        finally:
            embedder.stop()


def _options() -> dict:
    """Ray options every task and actor of a build gets: the failpoint
    variables of this process (index/failpoints.py) when a test set them."""
    environment = worker_environment()
    return {"runtime_env": {"env_vars": environment}} if environment else {}


def _map_chunk(function: Callable, items: Sequence) -> list:
    failpoint("ray-task")
    return [function(item) for item in items]


def _lost(what: str, exc: Exception) -> ClusterError:
    return ClusterError(f"the Ray cluster lost {what} {RETRIES + 1} times, or it failed there: {_cause(exc)}; "
                        f"nothing was written, the index is as it was")


class EmbeddingWorker:
    """One copy of the model in a Ray actor, computing on one thread (the
    onnx runtime runs each text alone, so one worker a CPU uses them all)."""

    def __init__(self, model_name: str, precision: str, runtime: str):
        from .embedding import Embedder

        loaded = settings.current()
        settings.use(replace(loaded, values={**loaded.values, "model_threads": 1}))
        self.embedder = Embedder(model_name, precision, runtime)

    def identity(self) -> dict:
        """What the vectors depend on, besides the model's files."""
        embedder = self.embedder
        return {"storysearch": metadata.version("storysearch"), "name": embedder.name,
                "precision": embedder.precision, "runtime": embedder.runtime, "dimension": embedder.dimension,
                "query_prompt": embedder.query_prompt, "document_prompt": embedder.document_prompt}

    def encode(self, texts: list[str]) -> np.ndarray:
        failpoint("ray-embed")
        return self.embedder.encode_documents(texts)


class ClusterEmbedder:
    """The build's embedder (what index/vectors.py and index/practice_index.py
    use of index/embedding.py's Embedder) with its passages embedded by Ray
    actors: one is started at once to say what the model is (the embedding
    cache is named after it), the others when texts are first missing from
    the cache. Texts are run alone, so a vector does not depend on the
    worker or the batch: it is the one this process would compute."""

    def __init__(self, model_name: str, precision: str, runtime: str, workers: int):
        import ray

        self._arguments, self._wanted = (model_name, precision, runtime), max(1, workers)
        self._remote = ray.remote(EmbeddingWorker).options(num_cpus=1, max_restarts=RETRIES,
                                                           max_task_retries=RETRIES, **_options())
        self._actors = [self._remote.remote(*self._arguments)]
        identity = self._identity(self._actors[0])
        self.name, self.precision, self.runtime = identity["name"], identity["precision"], identity["runtime"]
        self.dimension = identity["dimension"]
        self.query_prompt, self.document_prompt = identity["query_prompt"], identity["document_prompt"]
        self._expected = identity

    def _identity(self, actor) -> dict:
        import ray

        try:
            identity = ray.get(actor.identity.remote())
        except ray.exceptions.RayError as exc:
            raise ClusterError(f"an embedding worker could not load the model: {_cause(exc)}") from exc
        here = metadata.version("storysearch")
        if identity["storysearch"] != here:
            raise ClusterError(f"a Ray worker runs storysearch {identity['storysearch']}, this machine {here}: "
                               f"install the same version on every machine of the cluster")
        return identity

    def encode_documents(self, texts: list[str], progress: bool = False) -> np.ndarray:
        import ray
        from ray.util import ActorPool

        if not texts:
            return np.zeros((0, self.dimension), np.float32)
        if len(self._actors) < self._wanted:
            self._actors += [self._remote.remote(*self._arguments) for _ in range(self._wanted - len(self._actors))]
            for actor in self._actors[1:]:
                identity = self._identity(actor)
                if identity != self._expected:
                    raise ClusterError(f"the Ray workers do not load the same model: {identity} against "
                                       f"{self._expected}")
        batches = [texts[start:start + TEXTS_PER_CALL] for start in range(0, len(texts), TEXTS_PER_CALL)]
        results: Iterable = ActorPool(self._actors).map(lambda actor, batch: actor.encode.remote(batch), batches)
        if progress:
            from tqdm import tqdm

            results = tqdm(results, total=len(batches), desc="embedding", unit="batch")
        log.info("embedding %d passages on %d Ray workers", len(texts), len(self._actors))
        try:
            return np.vstack(list(results)).astype(np.float32)
        except ray.exceptions.RayError as exc:
            raise _lost("an embedding worker", exc) from exc

    def stop(self) -> None:
        import ray

        for actor in self._actors:
            ray.kill(actor)
        self._actors = []


def _cause(exc: Exception) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return lines[-1].strip() if lines else type(exc).__name__


@contextmanager
def connect(address: str, cpus: int | None = None) -> Iterator[Cluster]:
    """The Ray cluster at ``address`` (host:port of a head started by ``ray
    start --head``), or with ``auto`` a Ray started on this machine with
    ``cpus`` CPUs (all of them unless given) and stopped on leaving.
    ClusterError, at once, when the address cannot be reached (Ray itself
    would retry for minutes)."""
    try:
        import ray
    except ImportError as exc:
        raise ClusterError(f"--ray needs Ray, which cannot be imported here ({exc}); "
                           f"`pip install -e .` installs it") from exc
    if address != LOCAL:
        _check_reachable(address)
    quiet = {"log_to_driver": False, "logging_level": logging.WARNING}
    try:
        if address == LOCAL:
            ray.init(address="local", num_cpus=cpus, include_dashboard=False, **quiet)
        else:
            ray.init(address=address, **quiet)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        hint = "" if address == LOCAL else (
            " (a cluster whose head has a token, ~/.ray/auth_token, is joined with RAY_AUTH_MODE=token "
            "in the environment and the same file here)")
        raise ClusterError(f"cannot join the Ray cluster at {address}: {_cause(exc)}{hint}") from exc
    try:
        workers = int(ray.cluster_resources().get("CPU", 0))
        if workers < 1:
            raise ClusterError(f"the Ray cluster at {address} has no CPU to work on")
        log.info("Ray cluster %s: %d CPUs, machines: %d", address, workers,
                 sum(1 for node in ray.nodes() if node["Alive"]))
        yield Cluster(address, workers)
    finally:
        ray.shutdown()


def _check_reachable(address: str) -> None:
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise ClusterError(f"--ray {address!r}: give auto, or the host:port of a Ray cluster's head "
                           f"(port 6379 unless `ray start --head --port` said otherwise)")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=5).close()
    except OSError as exc:
        raise ClusterError(f"cannot reach a Ray cluster at {address} ({exc.strerror or exc}): start its head "
                           f"there with `ray start --head`, or use --ray auto for a Ray on this machine") from exc
