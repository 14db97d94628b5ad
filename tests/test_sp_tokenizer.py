"""The sentencepiece tokenizer (index/sp_tokenizer.py) gives exactly the ids and
attention masks of the HF tokenizer the ONNX model folder ships."""
from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from storysearch.index import layout
from storysearch.index.sp_tokenizer import SentencePieceTokenizer, sentencepiece_model

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
CMRC = SHARED / "cmrc2018"
PEOPLES_DAILY = SHARED / "peoples-daily-1998-dev" / "clean"
PROMPTS = ("query: ", "passage: ")
MAX_LENGTH = 512


@pytest.fixture(scope="session")
def tokenizer_json() -> Path:
    from storysearch.index.embedding import DEFAULT_MODEL, resolve_model_path
    from storysearch.index.onnx_model import ensure_exported

    return Path(ensure_exported(resolve_model_path(DEFAULT_MODEL))) / "tokenizer.json"


@pytest.fixture(scope="session")
def model_bytes(tokenizer_json) -> bytes:
    return sentencepiece_model(tokenizer_json)


@pytest.fixture(scope="session")
def sp(model_bytes) -> SentencePieceTokenizer:
    return SentencePieceTokenizer(model_bytes)


@pytest.fixture(scope="session")
def hf(tokenizer_json):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer_json))
    config = json.loads((tokenizer_json.parent / "tokenizer_config.json").read_text(encoding="utf-8"))
    pad = config["pad_token"]
    tok.enable_padding(pad_id=tok.token_to_id(pad), pad_token=pad)
    return tok


def hf_encode(hf, texts: list[str], max_length: int) -> tuple[np.ndarray, np.ndarray]:
    """What the HF tokenizer gives with padding=True, truncation="longest_first"."""
    hf.enable_truncation(max_length, strategy="longest_first")
    encodings = hf.encode_batch(texts)
    return (np.array([e.ids for e in encodings], dtype=np.int64).reshape(len(texts), -1),
            np.array([e.attention_mask for e in encodings], dtype=np.int64).reshape(len(texts), -1))


def mismatches(hf, sp, texts: list[str], max_length: int = MAX_LENGTH, batch: int = 32) -> list[tuple]:
    """Texts whose ids or masks differ, compared in padded batches; each as
    (text, HF ids, our ids)."""
    bad = []
    for start in range(0, len(texts), batch):
        chunk = texts[start:start + batch]
        ref_ids, ref_mask = hf_encode(hf, chunk, max_length)
        ids, mask = sp.encode_batch(chunk, max_length)
        assert ids.dtype == np.int64 and mask.dtype == np.int64
        if ids.shape == ref_ids.shape and np.array_equal(ids, ref_ids) and np.array_equal(mask, ref_mask):
            continue
        for text in chunk:  # find the culprits one by one
            (r_ids, r_mask), (o_ids, o_mask) = hf_encode(hf, [text], max_length), sp.encode_batch([text], max_length)
            if not (np.array_equal(r_ids, o_ids) and np.array_equal(r_mask, o_mask)):
                bad.append((text, r_ids[0].tolist(), o_ids[0].tolist()))
        if not bad:  # each alone agrees, so the padding of the batch differs
            bad.append((chunk, ref_ids.tolist(), ids.tolist()))
    return bad


def describe(bad: list[tuple], sp) -> str:
    lines = [f"{len(bad)} texts differ; the first ones:"]
    for text, ref, ours in bad[:8]:
        lines.append(f"  {text!r:.120}\n    HF:   {[sp.processor.id_to_piece(i) for i in ref][:40]}"
                     f"\n    ours: {[sp.processor.id_to_piece(i) for i in ours][:40]}")
    return "\n".join(lines)


def with_prompts(texts: list[str]) -> list[str]:
    return texts + [prompt + text for prompt in PROMPTS for text in texts]


# -- the samples --------------------------------------------------------------

def corpus_texts() -> list[str]:
    """Every paragraph, every line and every whole file of the bundled corpus."""
    texts = []
    for path in sorted(layout.DEFAULT_CORPUS.glob("*.txt")):
        raw = path.read_text(encoding="utf-8")
        texts.append(raw)
        texts.extend(p.strip() for p in raw.split("\n\n") if p.strip())
        texts.extend(line for line in raw.splitlines() if line.strip())
    return texts


def cmrc_texts(questions: int = 1500) -> list[str]:
    """Every CMRC 2018 paragraph (dev and trial) and a sample of its questions."""
    contexts, asked = [], []
    for name in ("cmrc2018_dev.json", "cmrc2018_trial.json"):
        data = json.loads((CMRC / name).read_text(encoding="utf-8"))
        for article in data["data"]:
            for paragraph in article["paragraphs"]:
                contexts.append(paragraph["context"])
                asked.extend(qa["question"] for qa in paragraph["qas"])
    return contexts + random.Random(2018).sample(asked, min(questions, len(asked)))


def peoples_daily_texts() -> list[str]:
    texts = []
    for path in sorted(PEOPLES_DAILY.glob("*.txt")):
        texts.extend(p.strip() for p in path.read_text(encoding="utf-8").split("\n\n") if p.strip())
    return texts


EDGE_CASES = [
    "", " ", "  ", "\t", "\n", "\n\n", " \t\n ", "\u3000", "\u3000\u3000正文", "a ", "中文 ", " 中文", "中文\n",
    "多个   空格", "制表\t符\t\t号", "换行\n\n\n段落", "a\r\nb", "\r\n", "行尾\r\n",
    # full-width ASCII, compatibility characters, ligatures, circled numbers
    "ＡＢＣ１２３，．！？", "２０２４年１２月３１日", "㈨①②③⑩⑳ﬀﬁﬂ", "㍿㎏㎡℃№™", "Ⅻⅲ‴…", "ｶﾀｶﾅ",
    # combining marks, variation selectors, joiners
    "e\u0301", "Ａ\u0301b", "ﬀ\u0301", "①\u0301\u0301", "1\ufe0f\u20e3", "Ａ\ufe0f", "\xa0\u200d", "a\u200bb\ufeffc",
    # emoji, including joined sequences and flags
    "😀😂👍", "👨‍👩‍👧", "❤️🇨🇳", "点赞👍👍",
    # other scripts
    "한국어 텍스트", "日本語のテキスト", "Русский текст", "ελληνικά", "עברית", "العربية ﷺ",
    # control characters (mapped to nothing) and characters the vocabulary lacks
    "\x01", "a\x01", "a \x01", "\x00", "a\x00\x00b", "\U000e0001", "𠀀𪚥𫝀",
    # special tokens written in a text
    "<s>", "a<s>b", "a <mask> b", "</s>x", "<pad><unk>", "< s>", "<s><s>", "文本</s> ",
    # ... and special pieces spelled by the normalization (full-width, small forms)
    "＜ｓ＞", "a＜/ｓ＞b", "＜ｍａｓｋ＞", "＜ｕｎｋ＞ ＜ｕｎｋ＞\x00", "＜ｐａｄ＞x", "﹤s﹥", "a<b>c<br/>", "1 < 2 > 0",
    # the metaspace symbol itself, ties between equal segmentations
    "\u2581", "a\u2581", "\u2581\u2581a", "哈哈哈哈哈", "谢谢谢谢", "…………", "————", "10000000000",
    "Ⅻⅲ‴…", "它看见了，看见了———", "1000000000000000000000", "ⅲⅲⅲ", "x" * 301, "哈" * 77,
    # mixed Chinese, English and digits
    "2024年GDP增长5.2%，CPI同比上涨0.3%", "iPhone 15 Pro Max售价7999元", "COVID-19疫情防控",
    "http://www.gov.cn/zhengce/2024-01/01/content_123.htm", "邮箱: test@example.com 电话：0571-88888888",
    "第十四个五年规划和2035年远景目标纲要", "hello,世界!123abc中文ABC", "A股、B股和H股",
]


def long_texts() -> list[str]:
    para = "推行“六事工作法”提升社区治理效能，Community governance 2024年第3季度。"
    return [para * 40, "a " * 600, "中" * 2000, " ".join(["word"] * 700) + " 结尾", "x" * 5000]


# -- equality -----------------------------------------------------------------

def test_bundled_corpus_paragraphs_match(hf, sp):
    texts = with_prompts(corpus_texts())
    assert len(texts) > 1000
    bad = mismatches(hf, sp, texts)
    assert not bad, describe(bad, sp)


@pytest.mark.skipif(not CMRC.is_dir(), reason=f"CMRC 2018 is not at {CMRC} (../shared/data)")
def test_cmrc2018_texts_match(hf, sp):
    texts = cmrc_texts()
    texts = texts + [PROMPTS[i % 2] + t for i, t in enumerate(texts)]
    bad = mismatches(hf, sp, texts)
    assert not bad, describe(bad, sp)


@pytest.mark.skipif(not PEOPLES_DAILY.is_dir(), reason=f"the People's Daily set is not at {PEOPLES_DAILY}")
def test_full_width_newspaper_paragraphs_match(hf, sp):
    texts = peoples_daily_texts()
    bad = mismatches(hf, sp, texts + [PROMPTS[i % 2] + t for i, t in enumerate(texts)])
    assert not bad, describe(bad, sp)


def test_edge_cases_match(hf, sp):
    texts = with_prompts(EDGE_CASES + long_texts())
    bad = mismatches(hf, sp, texts, batch=1) + mismatches(hf, sp, texts, batch=16)
    assert not bad, describe(bad, sp)


@pytest.mark.parametrize("max_length", [2, 3, 8, 64, 511, 512, 1024])
def test_truncation_and_padding_match(hf, sp, max_length):
    texts = with_prompts(EDGE_CASES[:40] + long_texts() + corpus_texts()[:40])
    bad = mismatches(hf, sp, texts, max_length=max_length, batch=24)
    assert not bad, describe(bad, sp)


def test_random_strings_of_normalized_characters_match(hf, sp, tokenizer_json):
    """Random strings of characters the charsmap rewrites, mixed with spaces,
    marks, joiners and special tokens."""
    import base64

    from storysearch.index.sp_tokenizer import _Charsmap

    config = json.loads(tokenizer_json.read_text(encoding="utf-8"))
    charsmap = _Charsmap(base64.b64decode(config["normalizer"]["normalizers"][0]["precompiled_charsmap"]))
    ruled = [chr(c) for c in range(0x20000) if not 0xD800 <= c < 0xE000 and charsmap.char_rule(chr(c)) is not None]
    assert len(ruled) > 1000
    palette = ruled + list(" \t\n\r\u3000abcXYZ019,.!?，。、中文国家人民的了𠀀😀❤\u200d\ufe0f\u0301\u20e3\u1100\u1161가한")
    palette += ["<s>", "</s>", "<mask>", "<unk>", "<pad>"]
    rng = random.Random(5)
    texts = ["".join(rng.choice(palette) for _ in range(rng.randint(0, 10))) for _ in range(3000)]
    bad = mismatches(hf, sp, texts, batch=50)
    assert not bad, describe(bad, sp)


def test_the_serving_tokenizer_agrees(tokenizer_json, sp):
    """transformers.AutoTokenizer, what the ONNX model module calls, gives the
    same arrays (so comparing with tokenizers.Tokenizer above is comparing with it)."""
    from transformers import AutoTokenizer

    auto = AutoTokenizer.from_pretrained(str(tokenizer_json.parent))
    texts = with_prompts(EDGE_CASES + long_texts() + corpus_texts()[:100])
    for start in range(0, len(texts), 32):
        chunk = texts[start:start + 32]
        ref = auto(chunk, padding=True, truncation="longest_first", max_length=MAX_LENGTH, return_tensors="np")
        ids, mask = sp.encode_batch(chunk, MAX_LENGTH)
        assert np.array_equal(ids, ref["input_ids"]), chunk
        assert np.array_equal(mask, ref["attention_mask"]), chunk


# -- the model proto and the API ------------------------------------------------

def test_the_model_proto_mirrors_the_tokenizer_json(tokenizer_json, model_bytes):
    import base64

    from sentencepiece import sentencepiece_model_pb2 as pb

    config = json.loads(tokenizer_json.read_text(encoding="utf-8"))
    vocab = config["model"]["vocab"]
    proto = pb.ModelProto()
    proto.ParseFromString(model_bytes)
    assert [p.piece for p in proto.pieces] == [piece for piece, _ in vocab]
    assert np.array_equal(np.array([p.score for p in proto.pieces], dtype=np.float32),
                          np.array([score for _, score in vocab], dtype=np.float32))
    kinds = {i: p.type for i, p in enumerate(proto.pieces) if p.type != pb.ModelProto.SentencePiece.NORMAL}
    piece = pb.ModelProto.SentencePiece
    assert kinds == {0: piece.CONTROL, 1: piece.CONTROL, 2: piece.CONTROL, 3: piece.UNKNOWN,
                     len(vocab) - 1: piece.USER_DEFINED}
    assert [proto.pieces[i].piece for i in (0, 1, 2, 3, len(vocab) - 1)] == ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    spec = proto.normalizer_spec
    assert spec.precompiled_charsmap == base64.b64decode(
        config["normalizer"]["normalizers"][0]["precompiled_charsmap"])
    assert spec.add_dummy_prefix and spec.remove_extra_whitespaces and spec.escape_whitespaces
    assert proto.trainer_spec.model_type == pb.TrainerSpec.UNIGRAM and not proto.trainer_spec.byte_fallback


def test_encode_batch_shapes(sp):
    ids, mask = sp.encode_batch(["中文", "", "a b c d e f g"], 5)
    assert ids.shape == mask.shape == (3, 5)
    assert ids[:, 0].tolist() == [sp.bos_id] * 3
    assert mask.tolist()[1] == [1, 1, 0, 0, 0] and ids[1].tolist() == [sp.bos_id, sp.eos_id] + [sp.pad_id] * 3
    assert sp.encode_batch([], 8)[0].shape == (0, 0)
    with pytest.raises(ValueError, match="max_length"):
        sp.encode_batch(["a"], 1)


def _write(tmp_path: Path, config: dict) -> Path:
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


def test_tokenizers_it_cannot_convert_are_refused(tmp_path, tokenizer_json):
    from tokenizers import Tokenizer, models, pre_tokenizers

    bpe = Tokenizer(models.BPE({"a": 0, "b": 1, "ab": 2, "<unk>": 3}, [("a", "b")], unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.Whitespace()
    bpe.save(str(tmp_path / "bpe.json"))
    with pytest.raises(ValueError, match="not Unigram"):
        sentencepiece_model(tmp_path / "bpe.json")

    (tmp_path / "garbage.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="not a readable tokenizer.json"):
        sentencepiece_model(tmp_path / "garbage.json")
    with pytest.raises(ValueError):
        sentencepiece_model(tmp_path / "missing.json")

    config = json.loads(tokenizer_json.read_text(encoding="utf-8"))
    fallback = dict(config, model=dict(config["model"], byte_fallback=True))
    with pytest.raises(ValueError, match="byte_fallback"):
        sentencepiece_model(_write(tmp_path, fallback))
    no_collapse = dict(config, normalizer=config["normalizer"]["normalizers"][0])
    with pytest.raises(ValueError, match="normalizer"):
        sentencepiece_model(_write(tmp_path, no_collapse))
    first_only = dict(config, pre_tokenizer=dict(config["pre_tokenizer"], prepend_scheme="first"))
    with pytest.raises(ValueError, match="pre-tokenizer"):
        sentencepiece_model(_write(tmp_path, first_only))


@pytest.mark.xfail(strict=False, reason="known residual: inside one word thousands of characters long, "
                                        "sentencepiece's float32 path scores can flip a near-tie that HF's "
                                        "float64 ones do not (seen on random letters, not on the real texts above)")
def test_random_letters_without_spaces(hf, sp):
    rng = random.Random(7)
    texts = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(3000)) for _ in range(100)]
    bad = mismatches(hf, sp, texts, max_length=MAX_LENGTH, batch=10)
    assert not bad, describe(bad, sp)


def test_long_spaced_texts_match(hf, sp):
    """Thousands of short words: encoded in groups, the float32 sums stay small."""
    rng = random.Random(11)
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789中国人民的了"
    texts = [" ".join("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 30))) for _ in range(300))
             for _ in range(60)]
    bad = mismatches(hf, sp, texts, max_length=100_000, batch=10)
    assert not bad, describe(bad, sp)
