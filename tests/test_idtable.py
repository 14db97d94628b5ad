"""The id table answers as the list and dict it replaces do."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from storysearch.index.idtable import DuplicateIds, IdTable


ID_TEXT = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)))


@given(st.lists(ID_TEXT, unique=True), st.lists(st.text()))
def test_an_id_table_answers_as_a_list_and_a_dict(ids, asked):
    table = IdTable(ids)
    position = {value: row for row, value in enumerate(ids)}
    assert len(table) == len(ids) and list(table) == ids
    assert [table[row] for row in range(len(ids))] == ids
    assert dict(table.row) == position and len(table.row) == len(ids)
    for value in ids + asked:
        assert (value in table) == (value in position) == (value in table.row)
        assert table.row.get(value, -1) == position.get(value, -1)
    assert table.rows(asked, missing=-2).tolist() == [position.get(value, -2) for value in asked]


def test_an_id_table_numbers_real_story_ids_and_refuses_a_repeated_one():
    ids = ["人民日报~1998-01-01~01-001", "人民日报~1998-01-01~01-002", "syn-000001"]
    table = IdTable(iter(ids))
    assert table[-1] == "syn-000001" and table.row["人民日报~1998-01-01~01-002"] == 1
    assert table.rows([]).dtype == np.int64 and len(IdTable([]).rows(["x"])) == 1
    with pytest.raises(KeyError):
        table.row["人民日报"]
    with pytest.raises(DuplicateIds, match="syn-000001"):
        IdTable(ids + ["syn-000001"])
    # marisa reads a key as a C string: "syn-000001\x00" must not find syn-000001, nor "\x00" be an id
    assert "syn-000001\x00" not in table and table.row.get("syn-000001\x00") is None
    for unstorable in ("a\x00", "\udcff.txt"):  # (a file name's undecodable byte is a lone surrogate)
        with pytest.raises(ValueError, match="NUL or a lone surrogate"):
            IdTable([unstorable])
