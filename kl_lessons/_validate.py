"""Input checks shared by every module: the library's contract lives here, once.

Every public function turns its inputs into numbers and tensors with these helpers,
so that bad input fails early with a ``ValueError`` that names the argument, instead
of surfacing later as a silent NaN, a wrong answer or another exception type.

The converters:

* :func:`number`, :func:`finite`, :func:`positive`, :func:`in_range`: one real number
  (Python int or float, numpy scalar, or a one-element real tensor). Booleans, strings
  (even numeric ones such as ``"0.1"``), complex numbers and Python ints too large for
  a float are refused.
* :func:`count`: a whole number (an int, or a float with no fractional part) in a range.
* :func:`as_tensor`: a real tensor. Complex, meta and sparse tensors, strings, ragged or
  ``None``-holding lists are refused; NaN (and ±inf unless allowed) too.
* :func:`as_probs`: probability vectors along an axis, checked against a tolerance of
  float32 precision (or the input's, if coarser) that grows like √K with K outcomes:
  a vector valid in the precision it was made in is accepted however it is wrapped.
* :func:`as_logprobs`: log-probabilities (≤ 0).
* :func:`as_mask`: a 0/1 or boolean mask of a given shape.
* :func:`check_dim`: an axis index valid for a given number of dimensions.
* :func:`as_series`: one number per training step, as a 1-D float64 numpy array.
* :func:`check_finite_result`: a result that overflowed although its inputs were finite.

Dtype policy: floating tensors keep their dtype (so float32 batches stay cheap); every
other input becomes float64. A result that does not fit its dtype raises ``ValueError``
saying what overflowed, rather than returning ``inf``.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import torch

#: Largest seed a ``torch.Generator`` accepts.
MAX_SEED = 2**63 - 1


# ------------------------------------------------------------------------------ numbers
def number(x: Any, name: str) -> float:
    """``x`` as a Python float (possibly NaN or inf); ``ValueError`` naming ``name`` if it is not one real number."""
    if isinstance(x, torch.Tensor):
        if x.numel() != 1 or x.is_complex() or x.is_meta or x.dtype == torch.bool:
            raise ValueError(f"{name} must be one real number, got a tensor of shape {tuple(x.shape)} ({x.dtype})")
        return float(x.detach().reshape(()).item())
    if isinstance(x, np.ndarray) and x.ndim == 0:
        x = x[()]
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {x!r}")
    try:
        return float(x)
    except OverflowError as err:
        raise ValueError(f"{name} is too large for a float, got an integer of {len(str(abs(int(x))))} digits") from err


def finite(x: Any, name: str) -> float:
    """Return ``x`` as a finite float."""
    v = number(x, name)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v}")
    return v


def positive(x: Any, name: str, *, allow_zero: bool = False) -> float:
    """Return ``x`` as a finite float that is > 0 (or ≥ 0 with ``allow_zero``)."""
    v = finite(x, name)
    if v < 0 or (v == 0 and not allow_zero):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {v}")
    return v + 0.0  # −0.0 + 0.0 is +0.0: a −0.0 reads exactly like 0.0 (its sign would survive 1/β and repr)


def in_range(
    x: Any, name: str, low: float, high: float, *, low_open: bool = False, high_open: bool = False
) -> float:
    """Return ``x`` as a finite float in the interval from ``low`` to ``high`` (open ends as asked)."""
    v = finite(x, name)
    above = v > low if low_open else v >= low
    below = v < high if high_open else v <= high
    if not (above and below):
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise ValueError(f"{name} must be in {interval}, got {v}")
    return v


def count(x: Any, name: str, minimum: int = 1, maximum: int | None = MAX_SEED) -> int:
    """Return ``x`` as an int in [``minimum``, ``maximum``] (by default at most 2**63 − 1, torch's int64).

    Ints, numpy integers, one-element integer tensors and floats with no
    fractional part (``512.0``) are accepted; ``2.5``, booleans and strings are not.
    """
    if isinstance(x, torch.Tensor) and x.numel() == 1 and not x.is_floating_point() and x.dtype != torch.bool \
            and not x.is_complex():
        x = int(x.detach().reshape(()).item())
    if isinstance(x, np.ndarray) and x.ndim == 0:
        x = x[()]
    if isinstance(x, (bool, np.bool_)):
        raise ValueError(f"{name} must be an integer, got {x!r}")
    if isinstance(x, numbers.Integral):
        v = int(x)
    else:
        f = number(x, name)
        if not math.isfinite(f) or f != math.floor(f):
            raise ValueError(f"{name} must be a whole number, got {x!r}")
        v = int(f)
    if v < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {x!r}")
    if maximum is not None and v > maximum:
        shown = repr(x) if len(repr(x)) <= 30 else f"an integer of {len(str(v))} digits"
        raise ValueError(f"{name} must be an integer <= {maximum}, got {shown}")
    return v


def seed(x: Any, name: str = "seed") -> int:
    """A seed for a ``torch.Generator``: an integer in [0, 2**63 − 1].

    The one seed check of the package; modules import it as ``as_seed`` (their own
    argument is usually called ``seed``).
    """
    return count(x, name, minimum=0, maximum=MAX_SEED)


def check_dim(dim: Any, ndim: int, name: str = "dim") -> int:
    """Return the axis ``dim`` (an int, negative counts from the end) as a non-negative index < ``ndim``."""
    if isinstance(dim, (bool, np.bool_)) or not isinstance(dim, numbers.Integral):
        raise ValueError(f"{name} must be an integer axis, got {dim!r}")
    d = int(dim)
    if not -ndim <= d < ndim:
        raise ValueError(f"{name}={d} is out of range for an input with {ndim} dimension(s)")
    return d % ndim


# ------------------------------------------------------------------------------ tensors
def _convert(x: Any, name: str) -> tuple[torch.Tensor, torch.dtype]:
    """``x`` as a real tensor, with the floating dtype whose precision the input had."""
    if isinstance(x, torch.Tensor):
        if x.is_complex():
            raise ValueError(f"{name} must be real, got a complex tensor ({x.dtype})")
        if x.is_meta or x.layout != torch.strided:
            raise ValueError(f"{name} must be an ordinary (dense, materialised) tensor")
        if x.is_floating_point():
            return x, x.dtype  # not detached: the formulas stay differentiable for autograd lessons
        return x.to(torch.float64), torch.float64
    if isinstance(x, (str, bytes, dict)) or x is None:
        raise ValueError(f"{name} must be numeric array-like, got {type(x).__name__}")
    try:
        raw = np.asarray(x)
    except (TypeError, ValueError, OverflowError) as err:
        raise ValueError(f"{name} must be numeric array-like (a number, a list of numbers, an array), "
                         f"got {type(x).__name__}") from err
    if raw.dtype.kind in "USVMm" or raw.dtype.kind == "c":
        what = "complex numbers" if raw.dtype.kind == "c" else f"dtype {raw.dtype}"
        raise ValueError(f"{name} must hold real numbers, got {what}")
    source = torch.float32 if raw.dtype in (np.float32, np.float16) else torch.float64
    try:
        arr = raw.astype(np.float64) if raw.dtype.kind != "O" else np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError, OverflowError) as err:
        raise ValueError(f"{name} must hold only real numbers (no None, strings, ragged rows or "
                         f"integers too large for a float), got {type(x).__name__}") from err
    return torch.as_tensor(arr), source


def as_tensor(x: Any, name: str, *, allow_inf: bool = False) -> torch.Tensor:
    """Return ``x`` as a real floating tensor; raise ``ValueError`` naming ``name`` if it can't be.

    Floating tensors keep their dtype (so float32 batches stay cheap); everything
    else becomes float64, which keeps the exact formulas exact.
    """
    t, _ = _convert(x, name)
    _screen(t, name, allow_inf)
    return t


def _screen(t: torch.Tensor, name: str, allow_inf: bool) -> None:
    if t.numel() == 0:
        raise ValueError(f"{name} is empty")
    if has_nonfinite(t, allow_inf=allow_inf):
        what = "NaN" if allow_inf else "NaN or inf"
        raise ValueError(f"{name} contains {what} values")


def has_nonfinite(t: torch.Tensor, *, allow_inf: bool = False) -> bool:
    """True if ``t`` holds NaN (or ±inf unless ``allow_inf``).

    A sum reads the data once and is NaN/inf whenever any entry is, so it screens a
    large batch at memory speed; only a suspicious sum pays for the elementwise check
    (a finite batch whose sum overflows is then correctly cleared).
    """
    total = t.detach().sum()
    if bool(torch.isfinite(total)):
        return False
    return bool(torch.isnan(t).any()) if allow_inf else not bool(torch.isfinite(t).all())


#: Machine epsilon of float32: the coarsest precision assumed of input that does not say its own.
_FLOAT32_EPS = torch.finfo(torch.float32).eps


def prob_tolerance(dtype: torch.dtype, num_outcomes: int = 1) -> float:
    """How far ``num_outcomes`` probabilities of ``dtype`` may stray from summing to one: 8·eps·√K.

    Why this size. A probability vector made in float32 (a softmax, ``exp`` of a
    log-softmax, counts divided by their total) has every entry rounded to half an ulp
    and is divided by a float32 normaliser whose own rounding grows with K; torch's
    blocked summation keeps that growth near √K. Measured over logit scales 0.1–30, a
    float32 softmax's exact sum is off by at most 0.8·eps·√2 at K = 2 and 1.6·eps·√K at
    K = 10⁶ (eps = 1.19e-7); 8·eps·√K leaves at least 4× headroom: 1.3e-6 at K = 2,
    3.8e-6 at K = 10, 2.7e-4 at K = 50 257 (a GPT-2 vocabulary).

    Input that does not carry its dtype (a list, a float64 array or tensor) may hold
    float32-made values (``p.tolist()``), so it is held to float32's tolerance, never a
    finer one: a vector is accepted however it is wrapped. Half-precision tensors get
    their own, coarser eps. A genuine normalisation error (a dropped outcome, a 1 % slip)
    is thousands of times larger than any of these.
    """
    eps = max(torch.finfo(dtype).eps, _FLOAT32_EPS)
    return 8.0 * eps * math.sqrt(max(int(num_outcomes), 1))


def as_probs(x: Any, name: str, dim: Any = -1) -> torch.Tensor:
    """Return ``x`` as a float64 probability tensor normalised along ``dim``.

    Sums must be within :func:`prob_tolerance` of 1 (float32 precision at least, growing
    like √K with the number K of outcomes) and entries above −8·eps; a refusal gives the
    sum in full, the tolerance and the fix.
    """
    t, source = _convert(x, name)
    _screen(t, name, allow_inf=False)
    p = t.to(torch.float64)
    if p.ndim == 0:
        raise ValueError(f"{name} must have at least one dimension (the outcomes)")
    d = check_dim(dim, p.ndim)
    k = p.shape[d]
    entry_tol = prob_tolerance(source)  # one outcome's worth of rounding
    if bool((p < -entry_tol).any()):
        worst = float(p.min())
        raise ValueError(f"{name} has negative probabilities (as low as {worst!r}; rounding allows "
                         f"down to -{entry_tol:.2g})")
    tol = prob_tolerance(source, k)
    total = p.sum(dim=d)
    bad = (total - 1.0).abs() > tol
    if bool(bad.any()):
        s = float(total[bad].flatten()[0])
        fix = f"{name} / {name}.sum()" if p.ndim == 1 else f"{name} / {name}.sum(dim={dim}, keepdim=True)"
        raise ValueError(f"{name} must sum to 1 along dim={dim}; got a sum of {s!r} (off by {s - 1.0:.3g}, "
                         f"more than the {tol:.2g} that rounding explains for {k} outcomes). "
                         f"Normalise it first: {fix}")
    return p.clamp_min(0.0)


def as_logprobs(x: Any, name: str) -> torch.Tensor:
    """Log-probabilities: a real tensor with every entry ≤ 0 (up to rounding), NaN/inf refused.

    The rounding allowed is that of float32 at least (as for :func:`prob_tolerance`), so a
    float32 log-probability handed over as a list or a float64 array passes as it would as a tensor.
    """
    t, source = _convert(x, name)
    _screen(t, name, allow_inf=False)
    slack = prob_tolerance(source)
    if bool((t.detach() > slack).any()):
        worst = float(t.detach().max())
        raise ValueError(f"{name} must hold log-probabilities (≤ 0), got a value of {worst:.4g}")
    return t


def as_mask(mask: Any, shape: torch.Size | tuple[int, ...], name: str = "mask") -> torch.Tensor:
    """A boolean mask of ``shape`` from booleans or 0/1 numbers; ``ValueError`` naming ``name`` otherwise."""
    if isinstance(mask, torch.Tensor) and mask.dtype == torch.bool:
        if mask.is_meta or mask.layout != torch.strided:
            raise ValueError(f"{name} must be an ordinary (dense, materialised) tensor")
        m = mask
    else:
        mf = as_tensor(mask, name)
        if not bool(((mf == 0) | (mf == 1)).all()):
            raise ValueError(f"{name} must hold only 0/1 or True/False")
        m = mf.detach().bool()
    if tuple(m.shape) != tuple(shape):
        raise ValueError(f"{name} has shape {tuple(m.shape)} but the log-probs have shape {tuple(shape)}")
    return m


def same_shape(a: torch.Tensor, b: torch.Tensor, name_a: str, name_b: str) -> None:
    """Raise unless ``a`` and ``b`` have identical shapes."""
    if a.shape != b.shape:
        raise ValueError(f"{name_a} has shape {tuple(a.shape)} but {name_b} has shape {tuple(b.shape)}")


def check_finite_result(t: torch.Tensor, what: str, hint: str = "") -> torch.Tensor:
    """Return ``t``; raise ``ValueError`` if it holds NaN or inf although its inputs were finite."""
    if has_nonfinite(t):
        dtype = str(t.dtype).replace("torch.", "")
        raise ValueError(f"{what} overflowed {dtype}{': ' + hint if hint else ''}")
    return t


# ------------------------------------------------------------------------------ series
def as_series(values: Any, name: str, *, allow_nonfinite: bool = False) -> np.ndarray:
    """``values`` (one number per step) as a non-empty 1-D float64 numpy array.

    Tensors are detached first (logging straight from a training loop is fine).
    With ``allow_nonfinite``, NaN and ±inf pass (for checks that look for them).
    """
    if isinstance(values, torch.Tensor):
        if values.is_complex() or values.is_meta:
            raise ValueError(f"{name} must hold real numbers, got a {values.dtype} tensor")
        values = values.detach().to("cpu", torch.float64).numpy()
    elif isinstance(values, (list, tuple)):
        values = [v.detach().item() if isinstance(v, torch.Tensor) and v.numel() == 1 else v for v in values]
    if isinstance(values, (str, bytes, dict)) or values is None:
        raise ValueError(f"{name} must be a sequence of numbers, got {type(values).__name__}")
    try:
        raw = np.asarray(values)
        if raw.dtype.kind in "USVMmc":
            raise TypeError(raw.dtype)
        if raw.dtype.kind == "O" and any(v is None or isinstance(v, (str, bytes)) for v in raw.flat):
            raise TypeError("None or text among the values")
        x = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError, OverflowError, RuntimeError) as err:
        raise ValueError(f"{name} must be a sequence of numbers") from err
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence, got shape {x.shape}")
    if not allow_nonfinite and not np.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or inf at step {int(np.flatnonzero(~np.isfinite(x))[0])}")
    return x


def outcome_indices(samples: Any, num_outcomes: int) -> torch.Tensor:
    """``samples`` as a non-empty int64 vector of outcome indices in [0, ``num_outcomes``), or a ValueError naming it."""
    try:
        y = samples.detach() if isinstance(samples, torch.Tensor) else torch.as_tensor(np.asarray(samples))
    except (TypeError, ValueError, RuntimeError, OverflowError) as err:
        raise ValueError(f"samples must be integer outcome indices, got {type(samples).__name__}") from err
    if y.ndim != 1 or y.numel() == 0:
        raise ValueError(f"samples must be a non-empty vector of outcome indices, got shape {tuple(y.shape)}")
    if y.is_floating_point() or y.dtype in (torch.bool, torch.uint8) or y.is_complex() or y.is_meta:
        raise ValueError(f"samples must hold integer outcome indices, got dtype {y.dtype}")
    y = y.to(torch.int64)
    if bool((y < 0).any()) or bool((y >= num_outcomes).any()):
        raise ValueError(f"samples must lie in [0, {num_outcomes - 1}]")
    return y
