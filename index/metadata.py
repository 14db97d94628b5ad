"""Where and when a page was printed: paper, date, page (版次), page name, URL.

Three sources, in this order of precedence, each value recording which one
gave it:

1. a manifest at the corpus root, ``manifest.csv`` (UTF-8, header row) or
   ``manifest.jsonl``: columns ``file`` (path relative to the corpus root),
   ``paper``, ``date`` (``YYYY-MM-DD``), ``page`` (as printed: ``3``,
   ``A03``, ``第3版``), ``page_name`` (版名), ``url``; other columns are kept
   as ``extra``. Rows naming missing files, bad dates or unknown columns get
   a warning with the row number; nothing is dropped silently.
2. the path: ``PAPER/YYYY-MM-DD/PAGE.txt``, ``PAPER/YYYY/MM/DD/PAGE.txt``,
   ``YYYY-MM-DD_PAGE.txt``, ``YYYYMMDD-PAGE.txt``, at any depth (PAGE is
   digits, optionally with a letter: ``A03``);
3. the page itself: a source line (``来源:萧山党建``) gives the paper, a
   timestamp line (``2024-12-10 07:03:12``) the date.

Nothing is invented: a value no source gives stays empty.
"""
from __future__ import annotations

import csv
import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

METADATA_VERSION = 1
MANIFESTS = ("manifest.csv", "manifest.jsonl")
FIELDS = ("paper", "date", "page", "page_name", "url")
PAGE = r"(?P<page>[A-Za-z]?\d{1,3}[A-Za-z]?)"
PATH_PATTERNS = [re.compile(pattern + r"\.txt$") for pattern in (
    rf"(?:^|/)(?P<paper>[^/]+)/(?P<y>\d{{4}})-(?P<m>\d{{2}})-(?P<d>\d{{2}})/{PAGE}",
    rf"(?:^|/)(?P<paper>[^/]+)/(?P<y>\d{{4}})/(?P<m>\d{{2}})/(?P<d>\d{{2}})/{PAGE}",
    rf"(?:^|/)(?P<y>\d{{4}})-(?P<m>\d{{2}})-(?P<d>\d{{2}})_{PAGE}",
    rf"(?:^|/)(?P<y>\d{{4}})(?P<m>\d{{2}})(?P<d>\d{{2}})-{PAGE}",
)]
SOURCE_LINE = re.compile(r"^\s*来源[:：]\s*(?P<paper>\S.{0,39}?)\s*$", re.MULTILINE)
TIMESTAMP_LINE = re.compile(r"^\s*(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})\s+\d{1,2}:\d{2}(?::\d{2})?\s*$", re.MULTILINE)


@dataclass(frozen=True)
class PageMetadata:
    paper: str = ""
    date: str = ""  # YYYY-MM-DD
    page: str = ""  # as printed
    page_name: str = ""
    url: str = ""
    extra: dict = field(default_factory=dict)  # the manifest's other columns
    origin: dict = field(default_factory=dict)  # field -> "manifest", "path" or "page"

    def to_dict(self) -> dict:
        return asdict(self)

    def fingerprint(self) -> str:
        """Changes when anything here changes: the index re-processes the page then.
        (The fields read directly, as to_dict gives them: asdict's deep copy
        cost 0.4 ms a page, for every page of the archive at each update.)"""
        values = {name: getattr(self, name) for name in self.__dataclass_fields__}
        return hashlib.sha256(json.dumps(values, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


def iso_date(year: str, month: str, day: str) -> str:
    """``YYYY-MM-DD`` for a real calendar date, else ``""``."""
    try:
        return date(int(year), int(month), int(day)).isoformat()
    except ValueError:
        return ""


def from_path(source: str) -> dict[str, str]:
    for pattern in PATH_PATTERNS:
        match = pattern.search(source)
        if match and (day := iso_date(match["y"], match["m"], match["d"])):
            values = {"date": day, "page": match["page"]}
            if "paper" in match.groupdict() and match["paper"]:
                values["paper"] = match["paper"]
            return values
    return {}


def from_page(text: str) -> dict[str, str]:
    values = {}
    if source := SOURCE_LINE.search(text):
        values["paper"] = source["paper"]
    for stamp in TIMESTAMP_LINE.finditer(text):
        if day := iso_date(stamp["y"], stamp["m"], stamp["d"]):
            values["date"] = day
            break
    return values


class Manifest:
    """The corpus's manifest rows by file, and the warnings reading it gave."""

    def __init__(self, rows: dict[str, dict] | None = None, warnings: list[str] | None = None, name: str = ""):
        self.rows = rows or {}
        self.warnings = warnings or []
        self.name = name

    @classmethod
    def read(cls, corpus: Path) -> "Manifest":
        corpus = Path(corpus)
        found = [name for name in MANIFESTS if (corpus / name).is_file()]
        if not found:
            return cls()
        name = found[0]
        warnings = [f"{name} is used; {other} is ignored" for other in found[1:]]
        try:
            records = list(_records(corpus / name))
        except (OSError, UnicodeDecodeError, csv.Error, ValueError) as exc:
            return cls({}, warnings + [f"{name} cannot be read ({exc}); no page gets metadata from it"], name)
        rows: dict[str, dict] = {}
        reported: set[str] = set()
        for number, record in records:
            where = f"{name} row {number}"
            if not isinstance(record, dict):
                warnings.append(f"{where}: not an object with columns; skipped")
                continue
            file = str(record.get("file") or "").strip().replace("\\", "/")
            if not file:
                warnings.append(f"{where}: no file named; skipped")
                continue
            unknown = sorted(k for k in record if k not in ("file", *FIELDS))
            if new := [k for k in unknown if k not in reported]:
                warnings.append(f"{where}: unknown columns {', '.join(new)} (not file/paper/date/page/page_name/url); "
                                f"they are kept and shown on the story page")
                reported.update(new)
            if not (corpus / file).is_file():
                warnings.append(f"{where}: {file} is not in the corpus")
            values = {k: str(record.get(k) or "").strip() for k in FIELDS}
            if values["date"] and not (re.fullmatch(r"\d{4}-\d{2}-\d{2}", values["date"])
                                       and iso_date(*values["date"].split("-"))):
                warnings.append(f"{where}: date {values['date']!r} is not a YYYY-MM-DD date; the date is left out")
                values["date"] = ""
            if values["url"] and not re.match(r"https?://[^\s]+$", values["url"], re.IGNORECASE):
                warnings.append(f"{where}: url {values['url'][:60]!r} is not an http(s) address; the url is left out")
                values["url"] = ""
            if file in rows:
                warnings.append(f"{where}: {file} was already described by an earlier row; this row wins")
            rows[file] = {"values": values, "extra": {k: str(record[k]) for k in unknown if record[k] not in (None, "")}}
        return cls(rows, warnings, name)

    def metadata(self, source: str, text: str) -> PageMetadata:
        """The page's metadata: manifest first, then its path, then its text."""
        values: dict[str, str] = {}
        origin: dict[str, str] = {}
        row = self.rows.get(source, {"values": {}, "extra": {}})
        for label, found in (("manifest", row["values"]), ("path", from_path(source)), ("page", from_page(text))):
            for key, value in found.items():
                if value and key not in values:
                    values[key], origin[key] = value, label
        return PageMetadata(**values, extra=dict(row["extra"]), origin=origin)


def _records(path: Path):
    """(row number, record) of a manifest; the header is row 1 of a CSV."""
    if path.suffix == ".jsonl":
        with open(path, encoding="utf-8-sig") as handle:
            for number, line in enumerate(handle, 1):
                if line.strip():
                    try:
                        yield number, json.loads(line)
                    except ValueError:
                        yield number, None
        return
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        for record in reader:
            record.pop(None, None)  # cells beyond the header
            yield reader.line_num, record
