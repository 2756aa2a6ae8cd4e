"""Input checks shared by every module.

Every public function turns its inputs into tensors here, so that bad input fails
early with a ``ValueError`` that names the argument, instead of surfacing later as
a silent NaN.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

#: How far a probability vector may stray from summing to one, or below zero.
PROB_ATOL = 1e-6


def as_tensor(x: Any, name: str, *, allow_inf: bool = False) -> torch.Tensor:
    """Return ``x`` as a floating tensor; raise ``ValueError`` naming ``name`` if it can't be.

    Floating tensors keep their dtype (so float32 batches stay cheap); everything
    else becomes float64, which keeps the exact formulas exact.
    """
    if isinstance(x, torch.Tensor):
        t = x  # not detached: the formulas stay differentiable for autograd lessons
        if not t.is_floating_point():
            t = t.to(torch.float64)
    else:
        try:
            t = torch.as_tensor(np.asarray(x, dtype=np.float64))
        except (TypeError, ValueError) as err:
            raise ValueError(f"{name} must be numeric array-like, got {type(x).__name__}") from err
    if t.numel() == 0:
        raise ValueError(f"{name} is empty")
    if has_nonfinite(t, allow_inf=allow_inf):
        what = "NaN" if allow_inf else "NaN or inf"
        raise ValueError(f"{name} contains {what} values")
    return t


def has_nonfinite(t: torch.Tensor, *, allow_inf: bool = False) -> bool:
    """True if ``t`` holds NaN (or ±inf unless ``allow_inf``).

    A sum reads the data once and is NaN/inf whenever any entry is, so it screens a
    large batch at memory speed; only a suspicious sum pays for the elementwise check
    (a finite batch whose sum overflows is then correctly cleared).
    """
    total = t.sum()
    if bool(torch.isfinite(total)):
        return False
    return bool(torch.isnan(t).any()) if allow_inf else not bool(torch.isfinite(t).all())


def as_probs(x: Any, name: str, dim: int = -1) -> torch.Tensor:
    """Return ``x`` as a float64 probability tensor normalised along ``dim``."""
    p = as_tensor(x, name).to(torch.float64)
    if p.ndim == 0:
        raise ValueError(f"{name} must have at least one dimension (the outcomes)")
    if bool((p < -PROB_ATOL).any()):
        raise ValueError(f"{name} has negative probabilities")
    total = p.sum(dim=dim)
    if bool(((total - 1.0).abs() > PROB_ATOL * max(1, p.shape[dim])).any()):
        raise ValueError(f"{name} must sum to 1 along dim={dim}; got sums like {float(total.flatten()[0]):.6g}")
    return p.clamp_min(0.0)


def same_shape(a: torch.Tensor, b: torch.Tensor, name_a: str, name_b: str) -> None:
    """Raise unless ``a`` and ``b`` have identical shapes."""
    if a.shape != b.shape:
        raise ValueError(f"{name_a} has shape {tuple(a.shape)} but {name_b} has shape {tuple(b.shape)}")


def positive(x: Any, name: str, *, allow_zero: bool = False) -> float:
    """Return ``x`` as a finite float that is > 0 (or ≥ 0 with ``allow_zero``)."""
    try:
        v = float(x)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a number, got {x!r}") from err
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v}")
    if v < 0 or (v == 0 and not allow_zero):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {v}")
    return v


def finite(x: Any, name: str) -> float:
    """Return ``x`` as a finite float."""
    try:
        v = float(x)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a number, got {x!r}") from err
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v}")
    return v
