"""The read path: keyword, semantic and hybrid search over an index folder."""
from .engine import MODES, SearchEngine
from .hits import Hit

__all__ = ["MODES", "Hit", "SearchEngine"]
