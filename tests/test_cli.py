"""The storysearch command, run in-process."""
import json

from storysearch.cli import main
from storysearch.index import layout


def test_search_json_has_the_documented_shape(corpus_index, engine, capsys):
    assert main(["search", "乡贤", "--index", str(corpus_index), "--mode", "hybrid", "-k", "3", "--json"]) == 0
    response = json.loads(capsys.readouterr().out)
    assert {"query", "mode", "hits"} <= set(response)
    assert response["query"] == "乡贤" and response["mode"] == "hybrid"
    assert len(response["hits"]) == 3
    for hit in response["hits"]:
        assert {"id", "headline", "source", "score", "rank", "ranks"} <= set(hit)
        assert set(hit["ranks"]) == {"keyword", "semantic"}
    assert [h["rank"] for h in response["hits"]] == [1, 2, 3]


def test_index_folder_from_environment(corpus_index, engine, capsys, monkeypatch):
    monkeypatch.setenv("STORYSEARCH_INDEX", str(corpus_index))
    assert main(["search", "桑基鱼塘", "--mode", "keyword", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["hits"][0]["headline"] == "筑巢引凤 助企业发展"


def test_missing_index_is_a_clear_message_not_a_traceback(tmp_path, capsys):
    assert main(["search", "乡贤", "--index", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err
    assert "run" not in err.lower() or "storysearch index" in err
    assert "storysearch index" in err and "Traceback" not in err


def test_index_if_missing_keeps_an_existing_index(corpus_index, capsys):
    assert main(["index", "--index", str(corpus_index), "--if-missing"]) == 0
    assert "index exists" in capsys.readouterr().out


def test_index_if_missing_rebuilds_an_index_of_an_older_format(tmp_path, embedder, capsys):
    corpus, folder = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    (corpus / "p.txt").write_text("社区推行“六事工作法”\n\n近日,某社区推行“六事工作法”,居民参与踊跃。\n", encoding="utf-8")
    assert main(["index", "--index", str(folder), "--corpus", str(corpus)]) == 0
    meta_path = layout.current_generation(folder) / layout.META
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta_path.write_text(json.dumps({**meta, "format_version": layout.FORMAT_VERSION - 1}), encoding="utf-8")
    capsys.readouterr()
    assert main(["index", "--index", str(folder), "--corpus", str(corpus), "--if-missing"]) == 0
    assert "index exists" not in capsys.readouterr().out
    assert layout.read_meta(layout.current_generation(folder))["format_version"] == layout.FORMAT_VERSION


def test_an_empty_query_asks_for_one_or_a_filter_and_a_filter_alone_lists(corpus_index, engine, capsys):
    assert main(["search", "  ", "--index", str(corpus_index)]) == 2
    assert "give a query, or a filter" in capsys.readouterr().err
    assert main(["search", "--place", "临平区", "--index", str(corpus_index)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("stories let through by the filters, newest first") and "score" not in lines[1]
    assert main(["search", "乡贤", "--paper", "萧山党建", "--index", str(corpus_index)]) == 0
    assert capsys.readouterr().out.startswith("nothing found among the stories the filters let through (")
