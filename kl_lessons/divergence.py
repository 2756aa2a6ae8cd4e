"""Lesson 1: what KL measures, computed exactly for categorical distributions."""

from __future__ import annotations

import numpy as np
import torch

from ._validate import as_probs, check_dim
from .types import ArrayLike


def _outcomes_last(x: ArrayLike, name: str, dim: int) -> torch.Tensor:
    """``x`` as probabilities with the outcome axis moved last.

    A 1-D input is one distribution whatever ``dim`` says: its only axis holds the
    outcomes, and it broadcasts against every distribution of the other input.
    """
    t = as_probs(x, name, dim if _ndim(x) != 1 else -1)
    return t if t.ndim == 1 else t.movedim(check_dim(dim, t.ndim), -1)


def _ndim(x: ArrayLike) -> int:
    if isinstance(x, torch.Tensor):
        return x.ndim
    try:
        return np.ndim(x)
    except (TypeError, ValueError):
        return -1  # as_probs will say what is wrong with it


def _pair(p: ArrayLike, q: ArrayLike, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Both inputs with the outcome axis last and the batch axes broadcast.

    ``dim`` is checked first, against the input with the most dimensions, so it is
    refused even when both inputs are 1-D (where it is otherwise not needed).
    """
    check_dim(dim, max(_ndim(p), _ndim(q), 1))
    pt, qt = _outcomes_last(p, "p", dim), _outcomes_last(q, "q", dim)
    if pt.shape[-1] != qt.shape[-1]:
        raise ValueError(f"p has {pt.shape[-1]} outcomes but q has {qt.shape[-1]} along dim={dim}")
    try:
        shape = torch.broadcast_shapes(pt.shape, qt.shape)
    except RuntimeError as err:
        raise ValueError(f"p has shape {tuple(pt.shape)} and q has shape {tuple(qt.shape)} (outcomes last); "
                         "they must broadcast") from err
    return pt.expand(shape), qt.expand(shape)


def entropy(p: ArrayLike, dim: int = -1) -> torch.Tensor:
    """Shannon entropy H(P) = -Σ p log p, in nats.

    Parameters
    ----------
    p : array-like, shape (..., K)
        Probability vectors along ``dim``.
    dim : int
        The outcome axis.

    Returns
    -------
    torch.Tensor, shape (...,), float64
        Entropy in nats (divide by ``ln 2`` for bits). Uses 0·log 0 = 0.
    """
    pt = as_probs(p, "p", dim)
    return -torch.xlogy(pt, pt).sum(check_dim(dim, pt.ndim))


def cross_entropy(p: ArrayLike, q: ArrayLike, dim: int = -1) -> torch.Tensor:
    """Cross-entropy H(P, Q) = -Σ p log q, in nats.

    Equals ``entropy(p) + kl_divergence(p, q)``. It is ``inf`` wherever q = 0 < p.

    Parameters
    ----------
    p, q : array-like, shape (..., K)
        Probability vectors along ``dim``; leading dimensions broadcast.
    dim : int
        The outcome axis.

    Returns
    -------
    torch.Tensor, shape (...,), float64
        Cross-entropy in nats.
    """
    pt, qt = _pair(p, q, dim)
    return -torch.xlogy(pt, qt).sum(-1)


def kl_divergence(p: ArrayLike, q: ArrayLike, dim: int = -1) -> torch.Tensor:
    """Exact KL(P‖Q) = Σ p·log(p/q) for categorical distributions, in nats.

    Conventions: 0·log(0/q) = 0, and p·log(p/0) = +inf for p > 0, so the result is
    ``inf`` (never NaN) when Q rules out an outcome P allows.

    Parameters
    ----------
    p, q : array-like, shape (..., K)
        Probability vectors along ``dim`` (lists, numpy arrays or tensors).
        The other (batch) dimensions broadcast once the outcome axes are aligned;
        a 1-D input is a single distribution, whatever valid ``dim`` is given.
    dim : int
        The outcome axis of each input with more than one dimension; it must be a
        valid axis of the input with the most dimensions (0 or −1 for two 1-D inputs).

    Returns
    -------
    torch.Tensor, shape (...,), float64
        KL(P‖Q) in nats (divide by ``ln 2`` for bits). Always ≥ 0.

    Raises
    ------
    ValueError
        If ``p`` or ``q`` has NaN/inf, negative entries, does not sum to one (within
        the rounding of float32, see :func:`kl_lessons._validate.prob_tolerance`), ``dim``
        is not a valid axis, or the shapes do not match.

    Examples
    --------
    >>> round(float(kl_divergence([0.7, 0.3], [0.3, 0.7])), 4)
    0.3389
    """
    pt, qt = _pair(p, q, dim)
    terms = torch.xlogy(pt, pt) - torch.xlogy(pt, qt)
    # Rounding can leave -1e-17 for identical inputs; KL is ≥ 0 by Gibbs' inequality.
    return terms.sum(-1).clamp_min(0.0)


def kl_contributions(p: ArrayLike, q: ArrayLike, dim: int = -1) -> torch.Tensor:
    """Each outcome's term p·log(p/q) of KL(P‖Q), in nats; they sum to the KL.

    Single terms can be negative (where q > p); only their sum must be ≥ 0.
    """
    pt, qt = _pair(p, q, dim)
    terms = torch.xlogy(pt, pt) - torch.xlogy(pt, qt)
    # Put the outcome axis back where the caller had it (a 1-D q alone never moved it).
    full = max(_ndim(p), _ndim(q))
    return terms if terms.ndim == 1 else terms.movedim(-1, check_dim(dim, full))
