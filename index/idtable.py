"""Ids numbered by row, held compactly: what a server keeps of every story's
id (the story table's rows, the story store's lines, the term matrix's rows).

As Python objects, an id and its row cost some 60 to 100 bytes in each
list or dict that holds them, and a server held them four times over (the
story table's list and dict, the story store's dict, each term matrix
segment's list): at a million stories they and the sources' strings were
300 of the 853 MB the process held beyond the model. Here the ids sit in
one marisa trie, which shares their common prefixes, and two int32 arrays
number them: row -> the trie's key id and back.
"""
from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence

import marisa_trie
import numpy as np


class DuplicateIds(ValueError):
    """The same id given for two rows."""


# marisa keeps keys as C strings of UTF-8: an id holding NUL or a lone
# surrogate (a file name's undecodable byte) cannot be one, nor be asked for.
NUL = "\x00"
UNSTORABLE = "an id holds the character NUL or a lone surrogate (not UTF-8 text)"


class IdTable(Sequence):
    """``ids[row]`` is the id of a row (an int: no slices); ``ids.row[id]``
    (a Mapping) its row."""

    def __init__(self, ids: Iterable[str]):
        ids = ids if isinstance(ids, list) else list(ids)
        if any(NUL in value for value in ids):
            raise ValueError(UNSTORABLE)
        try:
            self._trie = marisa_trie.Trie(ids)
        except UnicodeEncodeError:
            raise ValueError(UNSTORABLE) from None
        if len(self._trie) != len(ids):
            repeated = [value for value, count in Counter(ids).items() if count > 1]
            raise DuplicateIds(f"{len(repeated)} ids given twice or more, as {repeated[0]!r}")
        # (Python arrays: one id or row is read from them as an int without
        # numpy's scalar; numpy views of them serve the lookups of many)
        self._key_of_row = array("i", map(self._trie.__getitem__, ids))
        self._row_of_key = array("i", bytes(4 * len(ids)))
        np.frombuffer(self._row_of_key, dtype=np.int32)[self._key_of_row] = np.arange(len(ids), dtype=np.int32)
        self._restore = self._trie.restore_key
        self.row = _Rows(self._trie, self._row_of_key)

    def __len__(self) -> int:
        return len(self._key_of_row)

    def __getitem__(self, row: int) -> str:
        return self._restore(self._key_of_row[row])

    def __iter__(self) -> Iterator[str]:
        return map(self._restore, self._key_of_row)

    def __contains__(self, value: object) -> bool:
        return value in self.row

    def rows(self, ids: Iterable[str], missing: int = -1) -> np.ndarray:
        """The row of each of ``ids`` (``missing`` for one not in the table)."""
        keys = np.fromiter(map(self.row.key, ids), dtype=np.int64)
        rows = np.full(len(keys), missing, dtype=np.int64)
        found = keys >= 0
        rows[found] = np.frombuffer(self._row_of_key, dtype=np.int32)[keys[found]]
        return rows


class _Rows(Mapping):
    """An id table as a Mapping from id to row (holding the trie and the
    numbering, not the table: no reference cycle to wait for the collector)."""

    def __init__(self, trie: marisa_trie.Trie, row_of_key: array):
        self._trie, self._row_of_key = trie, row_of_key

    def key(self, value: object) -> int:
        """The trie's key id of ``value``; -1 if not an id of the table."""
        if not isinstance(value, str) or NUL in value:
            return -1
        try:
            return self._trie.get(value, -1)
        except UnicodeEncodeError:
            return -1

    def __getitem__(self, value: str) -> int:
        key = self.key(value)
        if key < 0:
            raise KeyError(value)
        return self._row_of_key[key]

    def __contains__(self, value: object) -> bool:
        return self.key(value) >= 0

    def __iter__(self) -> Iterator[str]:
        return map(self._trie.restore_key, np.argsort(np.frombuffer(self._row_of_key, dtype=np.int32)).tolist())

    def __len__(self) -> int:
        return len(self._row_of_key)
