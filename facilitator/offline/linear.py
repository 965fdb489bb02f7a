"""Small linear classifiers fitted on hand-written examples that ship with the
package, with their fitted weights shipped too.

The weights file carries a key (a hash of the examples, the feature version
and the embedder); when the key does not match, the model is refitted at first
use and cached in the data directory. Fitting is deterministic (lbfgs).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class Linear:
    classes: list[str]
    coef: np.ndarray
    intercept: np.ndarray

    def proba(self, x: np.ndarray) -> np.ndarray:
        z = x @ self.coef.T + self.intercept
        if z.shape[1] == 1:  # binary models keep one logit, for classes[1]
            z = np.hstack([np.zeros_like(z), z])
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)


def fit(x: np.ndarray, y: list[str], c: float = 2.0, sample_weight: np.ndarray | None = None) -> Linear:
    from sklearn.linear_model import LogisticRegression

    m = LogisticRegression(C=c, max_iter=3000)
    m.fit(x, y, sample_weight=sample_weight)
    return Linear([str(k) for k in m.classes_], m.coef_, m.intercept_)


def model_key(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode() if isinstance(p, str) else p)
        h.update(b"\0")
    return h.hexdigest()[:16]


def save(path: Path, models: dict[str, Linear], key: str, **meta: str) -> None:
    """``meta``: strings kept beside the weights (e.g. a digest of the data they were fitted on)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {"key": np.array(key)} | {f"meta_{k}": np.array(v) for k, v in meta.items()}
    for name, m in models.items():
        arrays |= {f"{name}_classes": np.array(m.classes), f"{name}_coef": m.coef, f"{name}_intercept": m.intercept}
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
    np.savez(tmp, **arrays)
    tmp.replace(path)  # atomic: a concurrent process never reads half a file


def load(paths: list[Path | None], names: list[str], key: str) -> dict[str, Linear] | None:
    """The models from the first file whose key matches, else None."""
    for path in paths:
        if path is None or not path.exists():
            continue
        with np.load(path) as d:
            if "key" not in d.files or str(d["key"]) != key:
                continue
            return {
                n: Linear(list(d[f"{n}_classes"]), d[f"{n}_coef"], d[f"{n}_intercept"]) for n in names
            }
    return None


def meta(path: Path, name: str) -> str | None:
    """A string ``save`` kept beside the weights, or None."""
    if not path.exists():
        return None
    with np.load(path) as d:
        return str(d[f"meta_{name}"]) if f"meta_{name}" in d.files else None
