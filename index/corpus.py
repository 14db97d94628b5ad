"""Reading corpus files: every ``*.txt`` of a folder, decoded whatever its
encoding, with unreadable files reported by name instead of stopping the run."""
from __future__ import annotations

import codecs
import hashlib
import os
import re
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

# UTF-8 first (strict, so GBK bytes never pass as mojibake), then GB18030,
# the superset of GBK and GB2312 that Chinese Windows tools write.
ENCODINGS = ("utf-8-sig", "gb18030")
# UTF-16 and UTF-32 (Windows Notepad's "Unicode") are read when a byte-order
# mark says which; UTF-32's marks first, since UTF-32-LE's begins like UTF-16-LE's.
BYTE_ORDER_MARKS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                    (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
MAX_CONTROL_RATIO = 0.01
# A page that is UTF-8 text but for a few runs of stray bytes (a transfer
# that cut a character, a byte flipped on disk) is read with each of them
# replaced by U+FFFD and reported, rather than lost whole: at most one run in
# 500 bytes (and always four) and one in ten characters, else it is not UTF-8
# text. (GBK read as UTF-8 is an error a character; UTF-8 Chinese read as
# GB18030 is mojibake with few errors, so GB18030 is read strictly only.)
MAX_UNREADABLE_SHARE = 0.002
MIN_UNREADABLE = 4
CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f]")  # below 32, less \t \n \f \r (counted in C, not char by char)


RACY_NS = 2_000_000_000  # a file changed this recently may change again within its timestamp's precision


class Decoded(NamedTuple):
    text: str
    encoding: str
    unreadable: str = ""  # what could not be read, replaced with U+FFFD: "" when every byte was text


@dataclass(frozen=True)
class Page:
    source: str  # file name, relative to the corpus folder
    text: str
    encoding: str
    sha256: str = ""  # of the file's bytes: what incremental indexing compares
    # The file as found before it was read: size, modification time (None
    # when too recent to vouch for the bytes later) and inode; read=False:
    # not read, because they are those recorded with ``sha256`` (text is "").
    size: int = 0
    mtime_ns: int | None = None
    inode: int = 0
    read: bool = True
    unreadable: str = ""  # Decoded.unreadable

    def stat_record(self) -> dict:
        """What meta.json records of the file besides its hash, for the next update."""
        return {"size": self.size, "mtime_ns": self.mtime_ns, "inode": self.inode,
                **({"unreadable": self.unreadable} if self.unreadable else {})}


@dataclass(frozen=True)
class SkippedFile:
    source: str
    reason: str


class UnreadableFile(ValueError):
    """A corpus file that cannot be read as text; the message says why."""


def _looks_like_utf16(data: bytes) -> bool:
    """UTF-16 text without its byte-order mark: the bytes decode as UTF-16 of
    one order into text that is nearly all letters, CJK, punctuation and
    spaces (binary data decodes into unassigned and control characters)."""
    sample = data[:65536]
    sample = sample[:len(sample) - len(sample) % 2]
    for encoding in ("utf-16-le", "utf-16-be"):
        text = sample.decode(encoding, errors="replace")
        if not text:
            continue
        texty = sum(1 for ch in text if ch.isprintable() and unicodedata.category(ch)[0] in "LNPSZ" or ch in "\r\n\t")
        if texty >= 0.95 * len(text):
            return True
    return False


def _decode(data: bytes) -> Decoded:
    for mark, encoding in BYTE_ORDER_MARKS:
        if data.startswith(mark):
            try:
                return Decoded(data.decode(encoding), encoding)
            except UnicodeDecodeError:
                raise UnreadableFile(f"the file starts with a {encoding.upper()} byte-order mark "
                                     f"but is not {encoding.upper()} text") from None
    if b"\x00" in data:
        if _looks_like_utf16(data):
            raise UnreadableFile("the file looks like UTF-16 without a byte-order mark, which is not "
                                 "supported; save it as UTF-8")
        raise UnreadableFile("the file is binary (it contains NUL bytes)")
    for encoding in ENCODINGS:
        try:
            return Decoded(data.decode(encoding), encoding.replace("-sig", ""))
        except UnicodeDecodeError:
            continue
    return _utf8_with_stray_bytes(data)


REPLACED = re.compile("\ufffd+")


def _utf8_with_stray_bytes(data: bytes) -> Decoded:
    """UTF-8 text with a few runs of stray bytes (MAX_UNREADABLE_SHARE), each
    byte replaced by U+FFFD; UnreadableFile when it is not UTF-8 text."""
    text = data.decode("utf-8-sig", errors="replace")
    runs = len(REPLACED.findall(text)) - len(REPLACED.findall(data.decode("utf-8-sig", errors="ignore")))
    if runs > max(MIN_UNREADABLE, MAX_UNREADABLE_SHARE * len(data)) or runs > 0.1 * len(text):
        raise UnreadableFile("the file is neither UTF-8 nor GB18030/GBK text")
    try:
        data.decode("utf-8")  # (a byte-order mark is UTF-8 too: the position counts from the file's start)
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
    return Decoded(text, "utf-8", f"{runs} run{'s' if runs > 1 else ''} of bytes that are not UTF-8 text, "
                                  f"each byte replaced with \ufffd (the first on line {line})")


def decode_page(data: bytes) -> Decoded:
    """The text (newlines normalized to ``\\n``), its encoding and what of it could not be read."""
    if not data.strip():
        raise UnreadableFile("the file is empty")
    text, encoding, unreadable = _decode(data)
    if not text.strip():  # str.strip knows the ideographic space and other Unicode blanks
        raise UnreadableFile("the file is empty (it holds only whitespace)")
    controls = len(CONTROL.findall(text))
    if controls > MAX_CONTROL_RATIO * len(text):
        raise UnreadableFile("the file is binary (too many control characters)")
    return Decoded(text.replace("\r\n", "\n").replace("\r", "\n"), encoding, unreadable)


def read_corpus(folder: Path, known: dict[str, dict] | None = None) -> tuple[list[Page], list[SkippedFile]]:
    """Read every ``*.txt`` file below ``folder`` in name order. ``known``
    (meta.json's record of each file, by name): a file whose size,
    modification time and inode are the ones recorded with its sha256 is
    not read (Page.read is False), as git trusts its index: an update then
    costs the files that changed, not the archive. A file changed within
    RACY_NS of being read is read again next time."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"corpus folder {folder} does not exist")
    pages, skipped = [], []
    known = known or {}
    for path in sorted(folder.rglob("*.txt")):
        source = path.relative_to(folder).as_posix()
        if not _utf8_name(source):  # its ids, records and meta could not be written
            skipped.append(SkippedFile(os.fsencode(source).decode("utf-8", "backslashreplace"),
                                       "its name is not UTF-8 text (rename the file)"))
            continue
        recorded = known.get(source)
        if recorded and recorded.get("mtime_ns") is not None:
            try:
                status = path.stat()
            except OSError:
                status = None
            if status is not None and (status.st_size, status.st_mtime_ns, status.st_ino) == (
                    recorded.get("size"), recorded["mtime_ns"], recorded.get("inode")) and recorded.get("sha256"):
                pages.append(Page(source, "", "", recorded["sha256"], status.st_size, status.st_mtime_ns,
                                  status.st_ino, read=False, unreadable=recorded.get("unreadable", "")))
                continue
        try:
            pages.append(read_page(folder, source))
        except UnreadableFile as exc:
            skipped.append(SkippedFile(source, str(exc)))
        except OSError as exc:
            skipped.append(SkippedFile(source, f"cannot be read: {exc.strerror or exc}"))
    return pages, skipped


def _utf8_name(source: str) -> bool:
    """Whether a file's path is text: a name's bytes that are not UTF-8
    come out of the file system as lone surrogates."""
    try:
        source.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def read_page(folder: Path, source: str) -> Page:
    """One corpus file, read and decoded; UnreadableFile or OSError when it cannot be."""
    path = Path(folder) / source
    status = path.stat()
    data = path.read_bytes()
    text, encoding, unreadable = decode_page(data)
    fresh = status.st_mtime_ns > time.time_ns() - RACY_NS
    return Page(source, text, encoding, hashlib.sha256(data).hexdigest(), status.st_size,
                None if fresh else status.st_mtime_ns, status.st_ino, unreadable=unreadable)
