"""Does a story start on this line? A logistic regression over the named
features of ``segment_features``, trained on whole development sets by
``scripts/train_segmenter.py`` and shipped as ``data/story_start.json``.

A linear model keeps every decision explainable: the line's score is the sum
of its features' weights, and the largest terms are the reasons.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

MODEL_FILE = Path(__file__).parent / "data" / "story_start.json"


@dataclass(frozen=True)
class StartModel:
    weights: dict[str, float]
    threshold: float = 0.5

    def score(self, features: dict[str, float]) -> float:
        return sum(self.weights.get(name, 0.0) * value for name, value in features.items())

    def probability(self, features: dict[str, float]) -> float:
        return self.probability_of(self.score(features))

    @staticmethod
    def probability_of(score: float) -> float:
        return 1.0 / (1.0 + math.exp(-score))

    def starts(self, features: dict[str, float]) -> bool:
        return self.probability(features) >= self.threshold

    def reasons(self, features: dict[str, float], count: int = 3) -> list[tuple[str, float]]:
        """The features that pushed the decision hardest, with their terms."""
        terms = [(name, self.weights.get(name, 0.0) * value) for name, value in features.items() if name != "bias"]
        return sorted((t for t in terms if t[1]), key=lambda t: -abs(t[1]))[:count]

    def save(self, path: Path = MODEL_FILE, note: str = "") -> None:
        data = {"note": note, "threshold": self.threshold,
                "weights": {name: round(weight, 4) for name, weight in sorted(self.weights.items())}}
        Path(path).write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


@lru_cache(maxsize=1)
def load(path: Path = MODEL_FILE) -> StartModel:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return StartModel(data["weights"], data.get("threshold", 0.5))


def train(rows: list[dict[str, float]], labels: list[int], l2: float = 1.0, steps: int = 25) -> StartModel:
    """L2-regularised logistic regression by Newton's method."""
    names = sorted({name for row in rows for name in row})
    x = np.array([[row.get(name, 0.0) for name in names] for row in rows])
    y = np.array(labels, dtype=float)
    w = np.zeros(len(names))
    penalty = l2 * np.eye(len(names))
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        gradient = x.T @ (p - y) + penalty @ w
        hessian = (x * (p * (1 - p))[:, None]).T @ x + penalty
        w -= np.linalg.solve(hessian, gradient)
    return StartModel(dict(zip(names, map(float, w))))
