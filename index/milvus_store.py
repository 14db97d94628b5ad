"""The Milvus form of an index: written (exported from a committed
generation), opened and read here only. pymilvus is imported when a Milvus
index is used, never by the embedded default.

One generation is seven collections named after it and the export's
FORMAT (``storysearch2_stories_gen000007``, ``…_passages_…``,
``…_passage_texts_…``, ``…_terms_…``, ``…_practices_…``,
``…_practice_terms_…``, ``…_meta_…``), never changed once written. The alias ``storysearch`` points at the live generation's meta
collection, which names the others: readers resolve that one alias, so
moving it is the one atomic switch (Milvus moves an alias in one call) and
plays the part of ``CURRENT``. An export writes, flushes, indexes and loads
every collection before it moves the alias, so a half-written export is
never visible; it then drops every generation but the live one and the one
live before it.

Keyword ranking is the embedded backend's BM25 to the float: each story
holds a sparse vector of BM25 document weights over our own analyzer's
tokens (``bm25``: tf / (tf + k1 (1 - b + b len / avglen)), with the term
matrix's k1, b and average length), and the query vector holds each token's
idf from the document frequencies kept in the terms collection, so their
inner product is the term matrix's score. A second sparse vector
(``held``: 1 per token the story holds) counts the query tokens a story
holds (the coordination bonus) and tells which stories hold all of a
term's bigrams (the match rule). The practices (index/practice_index.py)
are stored alike: a row per practice of a story with its vector and the
sparse vectors of its name and definition, and their own vocabulary.

The filter fields (source, paper, date, authors, places) are in the stories
collection and, copied onto each passage, in the passages collection, so a
filtered search sends its filter with the search (searcher/milvus.py). The
passages collection holds nothing else but the vector and the story's row:
Milvus Lite's search takes longer the more fields a collection has (a
search of 400 of CMRC's 1,983 passages: 40 ms with the texts and no filter
fields, 52 ms with both, 43 ms with the filter fields alone), so the texts
are a collection of their own.
"""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import layout, sparse
from .practice_index import matrix_folder, matrix_id, open_practice_vectors, read_rows
from .stories import Story, StoryStore
from .vectors import PassageStore, open_vectors

log = logging.getLogger(__name__)

PREFIX = "storysearch"
ALIAS = PREFIX  # the live generation's meta collection
# What the collections hold and how: 2 added the passages' filter fields (their
# texts moved to passage_texts) and the practices. A server reads only its own format; `index --backend milvus`
# exports the live generation again when Milvus holds it in another.
FORMAT = 2
PARTS = ("stories", "passages", "passage_texts", "terms", "practices", "practice_terms", "meta")
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
    return f"{PREFIX}{FORMAT}_{part}_{generation.replace('-', '')}"


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

def _schema(description: str, key: str, key_type: str, fields: list[tuple]):
    """A collection's schema: its primary ``key`` and ``fields`` (name, DataType name, options)."""
    from pymilvus import DataType, MilvusClient

    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False, description=description)
    schema.add_field(key, getattr(DataType, key_type), is_primary=True,
                     **({"max_length": 64} if key_type == "VARCHAR" else {}))
    for name, kind, options in fields:
        schema.add_field(name, getattr(DataType, kind), **options)
    return schema


def _vector(dimension: int) -> tuple:
    return "vector", "FLOAT_VECTOR", {"dim": dimension}


UNUSED = ("unused", "FLOAT_VECTOR", {"dim": 2})  # Milvus wants a vector field in every collection


def _text(length: int = 1024) -> tuple[str, dict]:
    return "VARCHAR", {"max_length": length}


def _names() -> tuple[str, dict]:
    from pymilvus import DataType

    return "ARRAY", {"element_type": DataType.VARCHAR, "max_capacity": MAX_LIST, "max_length": 1024}


def _filter_fields() -> list[tuple]:
    """What filters read (searcher/milvus.py filter_expression), in the stories' and the passages' collections."""
    return [("source", *_text(4096)), ("paper", *_text()), ("date", "INT64", {}),  # date: yyyymmdd, 0 when unknown
            ("authors", *_names()), ("places", *_names())]  # places: every name on the paths of its places


SPARSE = [("bm25", "SPARSE_FLOAT_VECTOR", {}), ("held", "SPARSE_FLOAT_VECTOR", {})]
TERMS = [("token", *_text()), ("df", "INT64", {})]  # key: the token's number in the sparse vectors


def _filter_values(story: Story) -> dict:
    places = list(dict.fromkeys(name for place in story.places for name in place["path"]))
    return {"source": story.source, "paper": story.paper or "",
            "date": int(story.date.replace("-", "")) if story.date else 0,
            "authors": list(dict.fromkeys(story.authors))[:MAX_LIST], "places": places[:MAX_LIST]}


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _fits(text: str, what: str) -> str:
    size = len(text.encode("utf-8"))
    if size > MAX_VARCHAR:
        raise ValueError(f"{what} is {size:,} bytes; a Milvus VARCHAR holds {MAX_VARCHAR:,}")
    return text


def _sparse_rows(matrix: sparse.TermMatrix) -> list[dict]:
    """Each row's BM25 document weights and held tokens, by token number
    (``{"bm25": …, "held": …}``); a row without tokens holds one zero weight
    (a sparse vector may not be empty), found by no query."""
    numbers, weights = [[] for _ in range(matrix.size)], [[] for _ in range(matrix.size)]
    average = matrix.average_length
    for segment, at in matrix.segments:
        columns = matrix.vocabulary.numbers(segment.tokens)
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
    return [{"bm25": dict(zip(n, w)) or {0: 0.0}, "held": dict.fromkeys(n, 1.0) or {0: 0.0}}
            for n, w in zip(numbers, weights)]


def _term_rows(matrix: sparse.TermMatrix) -> Iterator[dict]:
    counts = matrix.row_counts()
    return ({"id": number, "token": token, "df": int(counts[number]), "unused": [0.0, 0.0]}
            for token, number in matrix.vocabulary.items())


def _story_rows(store: StoryStore, outline: list[Story], matrix: sparse.TermMatrix) -> Iterator[dict]:
    """The stories collection's rows: each story of ``store`` (read in file
    order, as ``outline`` lists them) with its outline and sparse vectors."""
    for row, (brief, story, vectors) in enumerate(zip(outline, store.values(), _sparse_rows(matrix), strict=True)):
        yield {"row": row, "story_id": story.id, **_filter_values(brief), **vectors,
               "outline": _fits(_json(brief.to_dict()), f"the outline of story {story.id}"),
               "record": _fits(_json(story.to_dict()), f"the record of story {story.id}")}


def _passage_rows(vectors, passages: PassageStore, outline: list[Story], row_of: dict[str, int]) -> Iterator[dict]:
    """Each passage with its story's row and filter fields."""
    pids = np.sort(vectors.ids())
    for pid, story_id in zip(pids.tolist(), passages.stories(pids)):
        row = row_of[story_id]
        yield {"id": pid, "row": row, **_filter_values(outline[row]), "vector": vectors.reconstruct(pid).tolist()}


def _passage_texts(vectors, passages: PassageStore) -> Iterator[dict]:
    for pid in np.sort(vectors.ids()).tolist():
        yield {"id": pid, "text": _fits(passages.text(pid), f"passage {pid}"), "unused": [0.0, 0.0]}


def _practice_rows(generation: Path) -> tuple[Iterator[dict], sparse.TermMatrix]:
    """The practices collection's rows (index/practice_index.py's, with their
    vectors and sparse vectors) and their term matrix."""
    rows = read_rows(generation)
    vectors = open_practice_vectors(generation)
    matrix = sparse.open_term_matrix(matrix_folder(generation), [matrix_id(row) for row in rows])
    return ({**row, **weights, "vector": vectors.reconstruct(row["id"]).tolist()}
            for row, weights in zip(rows, _sparse_rows(matrix), strict=True)), matrix


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


def _create(client, name: str, schema, indexes: dict[str, str], rows: Iterator[dict]) -> int:
    """A collection of ``rows`` (written and flushed), then an index asked for
    on each named vector field (FLAT: exact inner products, as the embedded
    flat index: the vectors are normalized, so IP is cosine;
    SPARSE_INVERTED_INDEX for the sparse ones). pymilvus would wait half a
    second for each index, however small: ``_wait_indexed`` waits for them all."""
    client.create_collection(name, schema=schema)
    count = _insert(client, name, rows)
    index = client.prepare_index_params()
    for field, kind in indexes.items():
        index.add_index(field, index_type=kind, metric_type="L2" if field == "unused" else "IP")
    client.create_index(name, index, sync=False)
    return count


def _wait_indexed(client, names: Iterable[str]) -> None:
    """Until every index of the collections ``names`` is built."""
    pause = 0.01
    for name in names:
        for field in client.list_indexes(name):
            while (state := client.describe_index(name, field)["state"]) != "Finished":
                if state == "Failed":
                    raise RuntimeError(f"Milvus could not index {field} of {name}")
                time.sleep(pause)
                pause = min(1.0, pause * 2)


def export_generation(generation: Path, uri: str) -> str:
    """Copy the committed ``generation`` into new collections at ``uri`` and
    make them live by moving the alias once each is written, flushed,
    indexed and loaded; returns the generation's name. A failure before the
    alias moves leaves the live generation as it was (the next export drops
    what it left)."""
    generation = Path(generation)
    meta = layout.verify_generation(generation, deep=True)
    client = connect(uri)
    name = generation.name
    names = {part: collection_name(part, name) for part in PARTS}
    if _alias_target(client) == names["meta"]:  # exported already (the corpus has not changed since)
        client.close()
        return name
    previous = live_generation(client)
    for collection in names.values():  # left by an export of this generation that failed
        if client.has_collection(collection):
            client.drop_collection(collection)
    store = StoryStore(generation / layout.STORIES)
    outline = list(store.take_outline())
    story_ids = [story.id for story in outline]
    row_of = {story_id: row for row, story_id in enumerate(story_ids)}
    matrix = sparse.open_term_matrix(generation / layout.SPARSE, story_ids)
    vectors = open_vectors(generation)
    sparse_indexes = {"bm25": "SPARSE_INVERTED_INDEX", "held": "SPARSE_INVERTED_INDEX"}

    _create(client, names["stories"], _schema(
        "storysearch stories: filter fields, records, BM25 sparse vectors", "row", "INT64",  # row: the term matrix's
        [("story_id", *_text()), *_filter_fields(), ("outline", *_text(MAX_VARCHAR)),  # outline: the record less its text
         ("record", *_text(MAX_VARCHAR)), *SPARSE]), sparse_indexes, _story_rows(store, outline, matrix))
    passages = PassageStore(generation, story_ids, row_of)
    _create(client, names["passages"], _schema(
        "storysearch passages: their vectors, their stories' rows and filter fields", "id", "INT64",
        [("row", "INT64", {}), *_filter_fields(), _vector(vectors.d)]), {"vector": "FLAT"},
        _passage_rows(vectors, passages, outline, row_of))
    _create(client, names["passage_texts"], _schema(
        "storysearch passages' texts", "id", "INT64", [("text", *_text(MAX_VARCHAR)), UNUSED]), {"unused": "FLAT"},
        _passage_texts(vectors, passages))
    terms = _schema("storysearch vocabulary and document frequencies", "id", "INT64", [*TERMS, UNUSED])
    _create(client, names["terms"], terms, {"unused": "FLAT"}, _term_rows(matrix))
    practices, practice_matrix = _practice_rows(generation)
    count = _create(client, names["practices"], _schema(
        "storysearch practices: a row per practice of a story, its vector and sparse vectors", "id", "INT64",
        [("story", *_text()), ("key", *_text()), ("name", *_text()), ("place", *_text()), _vector(vectors.d),
         *SPARSE]), {"vector": "FLAT", **sparse_indexes}, practices)
    _create(client, names["practice_terms"], terms, {"unused": "FLAT"}, _term_rows(practice_matrix))
    values = {"generation": name, "format": FORMAT, "collections": names, "stories": matrix.size,
              "average_length": matrix.average_length, "k1": sparse.K1, "b": sparse.B,
              "dimension": vectors.d, "passages": int(vectors.ntotal), "practices": count, "meta": meta}
    _create(client, names["meta"], _schema(
        "storysearch generation: its collections, BM25 parameters, the build's meta.json", "key", "VARCHAR",
        [("value", *_text(MAX_VARCHAR)), UNUSED]), {"unused": "FLAT"},
        ({"key": key, "value": _fits(_json(value), f"meta {key}"), "unused": [0.0, 0.0]} for key, value in values.items()))
    _wait_indexed(client, names.values())
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


def _alias_target(client) -> str | None:
    """The meta collection the alias points at, or None."""
    if ALIAS not in client.list_aliases().get("aliases", []):  # (describing a missing alias logs a traceback)
        return None
    return client.describe_alias(ALIAS)["collection_name"]


def live_generation(client) -> str | None:
    """The generation the alias points at, or None."""
    target = _alias_target(client)
    return target and _generation_of(target)


def _generation_of(collection: str) -> str | None:
    """The generation a collection of any format belongs to (``gen-000007``), or None."""
    head, _, number = collection.rpartition("_gen")
    if not head.startswith(PREFIX) or not number.isdigit():
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
    meta = _alias_target(client)
    if meta is None:
        raise MilvusUnavailable(f"Milvus at {uri} holds no storysearch index; "
                                f"build one with `storysearch index --backend milvus --milvus-uri {uri}`")
    generation = _generation_of(meta)
    index = MilvusIndex(client, uri, generation, {}, {})
    # loaded collections stay loaded in Milvus Standalone, not in Milvus Lite once its file is reopened
    index.call("load_collection", meta)
    rows = index.call("query", meta, filter='key != ""', output_fields=["key", "value"])
    index.values = {row["key"]: json.loads(row["value"]) for row in rows}
    if index.values.get("format", 1) != FORMAT:
        raise MilvusUnavailable(f"Milvus at {uri} holds {generation} in export format {index.values.get('format', 1)}; "
                                f"this version reads format {FORMAT}: export it again with "
                                f"`storysearch index --backend milvus --milvus-uri {uri}`")
    index.collections = index.values["collections"]
    for collection in index.collections.values():
        index.call("load_collection", collection)
    return index
