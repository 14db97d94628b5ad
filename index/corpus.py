"""Reading corpus files: every ``*.txt`` of a folder, decoded whatever its
encoding, with unreadable files reported by name instead of stopping the run."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

# UTF-8 first (strict, so GBK bytes never pass as mojibake), then GB18030,
# the superset of GBK and GB2312 that Chinese Windows tools write.
ENCODINGS = ("utf-8-sig", "gb18030")
MAX_CONTROL_RATIO = 0.01


@dataclass(frozen=True)
class Page:
    source: str  # file name, relative to the corpus folder
    text: str
    encoding: str
    sha256: str = ""  # of the file's bytes: what incremental indexing compares


@dataclass(frozen=True)
class SkippedFile:
    source: str
    reason: str


class UnreadableFile(ValueError):
    """A corpus file that cannot be read as text; the message says why."""


def decode_page(data: bytes) -> tuple[str, str]:
    """Return (text, encoding) with newlines normalized to ``\\n``."""
    if not data.strip():
        raise UnreadableFile("the file is empty")
    if b"\x00" in data:
        raise UnreadableFile("the file is binary (it contains NUL bytes)")
    for encoding in ENCODINGS:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        break
    else:
        raise UnreadableFile("the file is neither UTF-8 nor GB18030/GBK text")
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\r\n\t\f")
    if controls > MAX_CONTROL_RATIO * len(text):
        raise UnreadableFile("the file is binary (too many control characters)")
    return text.replace("\r\n", "\n").replace("\r", "\n"), encoding.replace("-sig", "")


def read_corpus(folder: Path) -> tuple[list[Page], list[SkippedFile]]:
    """Read every ``*.txt`` file below ``folder`` in name order."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"corpus folder {folder} does not exist")
    pages, skipped = [], []
    for path in sorted(folder.rglob("*.txt")):
        source = path.relative_to(folder).as_posix()
        try:
            data = path.read_bytes()
            text, encoding = decode_page(data)
        except UnreadableFile as exc:
            skipped.append(SkippedFile(source, str(exc)))
            continue
        except OSError as exc:
            skipped.append(SkippedFile(source, f"cannot be read: {exc.strerror or exc}"))
            continue
        pages.append(Page(source, text, encoding, hashlib.sha256(data).hexdigest()))
    return pages, skipped
