"""The Milvus form of an index: written (exported from a committed
generation), opened and read here only. pymilvus is imported when a Milvus
index is used, never by the embedded default.

One generation is four collections named after it (``storysearch_stories_gen000007``,
``…_passages_…``, ``…_terms_…``, ``…_meta_…``), never changed once written.
The alias ``storysearch`` points at the live generation's meta collection,
which names the other three: readers resolve that one alias, so moving it is
the one atomic switch (Milvus moves an alias in one call) and plays the part
of ``CURRENT``. An export writes, flushes, indexes and loads every
collection before it moves the alias, so a half-written export is never
visible; it then drops every generation but the live one and the one live
before it.

Keyword ranking is the embedded backend's BM25 to the float: each story
holds a sparse vector of BM25 document weights over our own analyzer's
tokens (``bm25``: tf / (tf + k1 (1 - b + b len / avglen)), with the term
matrix's k1, b and average length), and the query vector holds each token's
idf from the document frequencies kept in the terms collection, so their
inner product is the term matrix's score. A second sparse vector
(``held``: 1 per token the story holds) counts the query tokens a story
holds (the coordination bonus) and tells which stories hold all of a
term's bigrams (the match rule).
"""
from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import layout, sparse
from .stories import Story, StoryStore
from .vectors import PassageStore, open_vectors

log = logging.getLogger(__name__)

PREFIX = "storysearch"
ALIAS = PREFIX  # the live generation's meta collection
PARTS = ("stories", "passages", "terms", "meta")
MAX_VARCHAR = 65535  # bytes: Milvus's longest VARCHAR
MAX_LIST = 4096  # values in an ARRAY field
INSERT_BATCH = 512
READ_BATCH = 4096
# Milvus Standalone and Distributed return at most 16,384 results per search
# (Milvus Lite more): a token held by more stories than that ranks only its
# best 16,384 (see README, "Serving from Milvus").
MAX_LIMIT = 16384


class MilvusUnavailable(RuntimeError):
    """Milvus cannot be reached, or holds no storysearch index: a 503 for a request."""


def collection_name(part: str, generation: str) -> str:
    return f"{PREFIX}_{part}_{generation.replace('-', '')}"


def connect(uri: str):
    """A client of the Milvus at ``uri`` (a Milvus Lite ``.db`` file, or
    ``http://host:19530``); MilvusUnavailable when it cannot be reached."""
    try:
        from pymilvus import MilvusClient
    except ImportError:
        raise MilvusUnavailable("the Milvus backend needs pymilvus and milvus-lite: "
                                "pip install 'pymilvus==3.0.2' 'milvus-lite==3.2.2'") from None
    if uri.endswith(".db"):
        # Milvus Lite runs its gRPC server in this process and logs a traceback for each call it does
        # not implement (AllocTimestamp, asked by every query iterator, which then uses the client's clock)
        logging.getLogger("grpc._server").setLevel(logging.CRITICAL)
        parent = Path(uri).expanduser().resolve().parent
        if not parent.is_dir():
            raise MilvusUnavailable(f"cannot open the Milvus Lite file {uri}: the folder {parent} does not exist")
    try:
        return MilvusClient(uri)
    except Exception as exc:  # noqa: BLE001 - grpc, OSError, MilvusException: all mean "not reachable"
        raise MilvusUnavailable(f"cannot reach Milvus at {uri}: {_reason(exc)}") from None


def _reason(exc: Exception) -> str:
    return (getattr(exc, "message", None) or str(exc) or type(exc).__name__).splitlines()[0]


# ---------------------------------------------------------------------------- writing

def _schemas():
    from pymilvus import DataType, MilvusClient

    def schema(description: str):
        return MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False, description=description)

    stories = schema("storysearch stories: filter fields, records, BM25 sparse vectors")
    stories.add_field("row", DataType.INT64, is_primary=True)  # the term matrix's row (the stories' file order)
    stories.add_field("story_id", DataType.VARCHAR, max_length=1024)
    stories.add_field("source", DataType.VARCHAR, max_length=4096)
    stories.add_field("paper", DataType.VARCHAR, max_length=1024)
    stories.add_field("date", DataType.INT64)  # yyyymmdd, 0 when unknown
    stories.add_field("authors", DataType.ARRAY, element_type=DataType.VARCHAR, max_capacity=MAX_LIST,
                      max_length=1024)
    stories.add_field("places", DataType.ARRAY, element_type=DataType.VARCHAR, max_capacity=MAX_LIST,
                      max_length=1024)  # every name on the paths of its places
    stories.add_field("outline", DataType.VARCHAR, max_length=MAX_VARCHAR)  # the record without its text (JSON)
    stories.add_field("record", DataType.VARCHAR, max_length=MAX_VARCHAR)  # the whole record (JSON)
    stories.add_field("bm25", DataType.SPARSE_FLOAT_VECTOR)
    stories.add_field("held", DataType.SPARSE_FLOAT_VECTOR)

    terms = schema("storysearch vocabulary and document frequencies")
    terms.add_field("id", DataType.INT64, is_primary=True)  # the token's number in the sparse vectors
    terms.add_field("token", DataType.VARCHAR, max_length=1024)
    terms.add_field("df", DataType.INT64)
    terms.add_field("unused", DataType.FLOAT_VECTOR, dim=2)  # Milvus wants a vector field in every collection

    meta = schema("storysearch generation: its collections, BM25 parameters, the build's meta.json")
    meta.add_field("key", DataType.VARCHAR, is_primary=True, max_length=64)
    meta.add_field("value", DataType.VARCHAR, max_length=MAX_VARCHAR)
    meta.add_field("unused", DataType.FLOAT_VECTOR, dim=2)
    return stories, terms, meta


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _fits(text: str, what: str) -> str:
    size = len(text.encode("utf-8"))
    if size > MAX_VARCHAR:
        raise ValueError(f"{what} is {size:,} bytes; a Milvus VARCHAR holds {MAX_VARCHAR:,}")
    return text


def _sparse_rows(matrix: sparse.TermMatrix) -> tuple[list[dict[int, float]], list[dict[int, float]]]:
    """Each row's BM25 document weights and held tokens, by token number."""
    numbers, weights = [[] for _ in range(matrix.size)], [[] for _ in range(matrix.size)]
    average = matrix.average_length
    for segment, at in matrix.segments:
        columns = np.array([matrix.vocabulary[token] for token in segment.tokens], dtype=np.int64)
        entry_columns = np.repeat(columns, np.diff(np.asarray(segment.indptr)))
        rows = at[np.asarray(segment.rows)]
        live = rows >= 0
        rows, entry_columns = rows[live], entry_columns[live]
        counts = np.asarray(segment.counts)[live]
        norm = sparse.K1 * (1 - sparse.B + sparse.B * matrix.lengths[rows] / average)
        values = (counts / (counts + norm)).astype(np.float32)
        for row, column, value in zip(rows.tolist(), entry_columns.tolist(), values.tolist()):
            numbers[row].append(column)
            weights[row].append(value)
    bm25 = [dict(zip(n, w)) for n, w in zip(numbers, weights)]
    held = [dict.fromkeys(n, 1.0) for n in numbers]
    return bm25, held


def _story_rows(store: StoryStore, outline: list[Story], matrix: sparse.TermMatrix) -> Iterator[dict]:
    """The stories collection's rows: each story of ``store`` (read in file
    order, as ``outline`` lists them) with its outline and sparse vectors."""
    bm25, held = _sparse_rows(matrix)
    for row, (brief, story) in enumerate(zip(outline, store.values(), strict=True)):
        places = list(dict.fromkeys(name for place in story.places for name in place["path"]))
        yield {"row": row, "story_id": story.id, "source": story.source, "paper": story.paper or "",
               "date": int(story.date.replace("-", "")) if story.date else 0,
               "authors": list(dict.fromkeys(story.authors))[:MAX_LIST], "places": places[:MAX_LIST],
               "outline": _fits(_json(brief.to_dict()), f"the outline of story {story.id}"),
               "record": _fits(_json(story.to_dict()), f"the record of story {story.id}"),
               # a story without tokens: one zero weight (a sparse vector may not be empty), found by no query
               "bm25": bm25[row] or {0: 0.0}, "held": held[row] or {0: 0.0}}


def _passage_rows(vectors, passages: PassageStore, row_of: dict[str, int]) -> Iterator[dict]:
    pids = np.sort(vectors.ids())
    for pid, story_id in zip(pids.tolist(), passages.stories(pids)):
        yield {"id": pid, "row": row_of[story_id], "story_id": story_id,
               "text": _fits(passages.text(pid), f"passage {pid}"), "vector": vectors.reconstruct(pid).tolist()}


def _insert(client, name: str, rows: Iterator[dict]) -> int:
    batch, count = [], 0
    for row in rows:
        batch.append(row)
        if len(batch) == INSERT_BATCH:
            client.insert(name, batch)
            count, batch = count + len(batch), []
    if batch:
        client.insert(name, batch)
        count += len(batch)
    client.flush(name)
    return count


def export_generation(generation: Path, uri: str) -> str:
    """Copy the committed ``generation`` into new collections at ``uri`` and
    make them live by moving the alias; returns the generation's name. A
    failure before the alias moves leaves the live generation as it was
    (the next export drops what it left)."""
    from pymilvus import DataType, MilvusClient

    generation = Path(generation)
    meta = layout.verify_generation(generation, deep=True)
    client = connect(uri)
    name = generation.name
    names = {part: collection_name(part, name) for part in PARTS}
    previous = live_generation(client)
    if previous == name:  # exported already (the corpus has not changed since)
        client.close()
        return name
    for collection in names.values():  # left by an export of this generation that failed
        if client.has_collection(collection):
            client.drop_collection(collection)
    store = StoryStore(generation / layout.STORIES)
    outline = list(store.take_outline())
    story_ids = [story.id for story in outline]
    matrix = sparse.open_term_matrix(generation / layout.SPARSE, story_ids)
    stories_schema, terms_schema, meta_schema = _schemas()

    index = client.prepare_index_params()
    index.add_index("bm25", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
    index.add_index("held", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
    client.create_collection(names["stories"], schema=stories_schema, index_params=index)
    _insert(client, names["stories"], _story_rows(store, outline, matrix))

    vectors = open_vectors(generation)
    passages = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False,
                                          description="storysearch passages and their vectors")
    passages.add_field("id", DataType.INT64, is_primary=True)
    passages.add_field("row", DataType.INT64)
    passages.add_field("story_id", DataType.VARCHAR, max_length=1024)
    passages.add_field("text", DataType.VARCHAR, max_length=MAX_VARCHAR)
    passages.add_field("vector", DataType.FLOAT_VECTOR, dim=vectors.d)
    index = client.prepare_index_params()
    # FLAT: exact inner products, as the embedded flat index (the vectors are normalized: IP is cosine)
    index.add_index("vector", index_type="FLAT", metric_type="IP")
    client.create_collection(names["passages"], schema=passages, index_params=index)
    row_of = {story_id: row for row, story_id in enumerate(story_ids)}
    _insert(client, names["passages"], _passage_rows(vectors, PassageStore(generation, story_ids, row_of), row_of))

    index = client.prepare_index_params()
    index.add_index("unused", index_type="FLAT", metric_type="L2")
    client.create_collection(names["terms"], schema=terms_schema, index_params=index)
    counts = matrix.row_counts()
    _insert(client, names["terms"], ({"id": number, "token": token, "df": int(counts[number]), "unused": [0.0, 0.0]}
                                     for token, number in matrix.vocabulary.items()))

    index = client.prepare_index_params()
    index.add_index("unused", index_type="FLAT", metric_type="L2")
    client.create_collection(names["meta"], schema=meta_schema, index_params=index)
    values = {"generation": name, "collections": names, "stories": matrix.size,
              "average_length": matrix.average_length, "k1": sparse.K1, "b": sparse.B,
              "dimension": vectors.d, "passages": int(vectors.ntotal), "meta": meta}
    _insert(client, names["meta"], ({"key": key, "value": _fits(_json(value), f"meta {key}"), "unused": [0.0, 0.0]}
                                    for key, value in values.items()))
    for collection in names.values():
        client.load_collection(collection)
    _switch(client, names["meta"])
    _drop_old(client, {name, previous})
    client.close()
    return name


def _switch(client, meta_collection: str) -> None:
    """Point the alias at ``meta_collection``: the one atomic step that makes a generation live."""
    if ALIAS in client.list_aliases().get("aliases", []):
        client.alter_alias(meta_collection, ALIAS)
    else:
        client.create_alias(meta_collection, ALIAS)


def live_generation(client) -> str | None:
    """The generation the alias points at, or None."""
    if ALIAS not in client.list_aliases().get("aliases", []):  # (describing a missing alias logs a traceback)
        return None
    return _generation_of(client.describe_alias(ALIAS)["collection_name"])


def _generation_of(collection: str) -> str | None:
    head, _, number = collection.rpartition("_gen")
    if not head.startswith(PREFIX + "_") or not number.isdigit():
        return None
    return "gen-" + number


def _drop_old(client, keep: set[str | None]) -> None:
    """Drop the collections of every generation but ``keep`` (the live one
    and the one live before it, which running servers may still read; not
    a failed export's leftovers, whatever their number)."""
    for collection in client.list_collections():
        generation = _generation_of(collection)
        if generation and generation not in keep:
            client.drop_collection(collection)
            log.info("dropped %s", collection)


# ---------------------------------------------------------------------------- reading

@dataclass
class MilvusIndex:
    """The live generation at ``uri``: its client, collections and meta."""

    client: object
    uri: str
    generation: str
    collections: dict[str, str]
    values: dict  # the meta collection's rows: stories, average_length, k1, b, dimension, passages, meta

    def call(self, method: str, *args, **kwargs):
        """A client call; MilvusUnavailable when Milvus fails to answer."""
        try:
            return getattr(self.client, method)(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - grpc errors, MilvusException, a closed client
            raise MilvusUnavailable(f"Milvus at {self.uri} did not answer: {_reason(exc)}") from None

    def read(self, part: str, fields: list[str], filter: str = "") -> Iterator[dict]:
        """Every row of a collection (an iterator: large collections read in batches)."""
        iterator = self.call("query_iterator", self.collections[part], batch_size=READ_BATCH, filter=filter,
                             output_fields=fields)
        try:
            while True:
                try:
                    batch = iterator.next()
                except Exception as exc:  # noqa: BLE001
                    raise MilvusUnavailable(f"Milvus at {self.uri} did not answer: {_reason(exc)}") from None
                if not batch:
                    return
                yield from batch
        finally:
            iterator.close()


def open_index(uri: str, client=None) -> MilvusIndex:
    """The live generation at ``uri``; MilvusUnavailable when Milvus cannot be
    reached or holds no storysearch index."""
    client = client or connect(uri)
    generation = live_generation(client)
    if generation is None:
        raise MilvusUnavailable(f"Milvus at {uri} holds no storysearch index; "
                                f"build one with `storysearch index --backend milvus --milvus-uri {uri}`")
    index = MilvusIndex(client, uri, generation, {}, {})
    # loaded collections stay loaded in Milvus Standalone, not in Milvus Lite once its file is reopened
    index.call("load_collection", collection_name("meta", generation))
    rows = index.call("query", collection_name("meta", generation), filter='key != ""',
                      output_fields=["key", "value"])
    index.values = {row["key"]: json.loads(row["value"]) for row in rows}
    index.collections = index.values["collections"]
    for collection in index.collections.values():
        index.call("load_collection", collection)
    return index
