"""Lesson 1: forward KL covers the modes, reverse KL picks one.

Fit a single Gaussian q to a bimodal target p (a mixture of two Gaussians) by
gradient descent, once minimising the forward KL(p‖q) and once the reverse
KL(q‖p). Both densities live on a fine, evenly spaced grid and are normalised
over it, so each is a categorical distribution over the grid points and every
KL below is an exact sum in nats, with no sampling noise.

* Forward KL(p‖q) is an average over p: q is charged heavily wherever p has mass
  and q has little, so the best q spreads out to cover both modes.
* Reverse KL(q‖p) is an average over q: q is charged wherever q has mass and p
  has little, so the best q hides inside one mode and ignores the other.

In RLHF the policy π plays q and the reference π_ref plays p: the penalty
KL(π‖π_ref) is the reverse, mode-seeking direction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch

from ._validate import as_probs, as_tensor, count, finite, positive, prob_tolerance

DIRECTIONS = ("forward", "reverse")


@dataclass(frozen=True)
class GaussianFit:
    """The Gaussian that gradient descent found for one KL direction.

    Attributes
    ----------
    direction : {"forward", "reverse"}
        ``"forward"`` minimised KL(p‖q); ``"reverse"`` minimised KL(q‖p).
    mean, std : float
        The fitted Gaussian's mean and standard deviation (units of the grid).
    kl : float
        The minimised KL at the end of the run, in nats.
    steps : int
        Number of gradient steps taken.
    """

    direction: str
    mean: float
    std: float
    kl: float
    steps: int


def make_grid(low: float = -6.0, high: float = 6.0, size: int = 401) -> torch.Tensor:
    """Evenly spaced points on which the densities are evaluated.

    Returns
    -------
    torch.Tensor, shape (size,), float64
    """
    lo, hi = finite(low, "low"), finite(high, "high")
    if not hi > lo:
        raise ValueError(f"high must be greater than low, got low={low}, high={high}")
    n = count(size, "size", minimum=3, maximum=_MAX_GRID)
    return torch.linspace(lo, hi, n, dtype=torch.float64)


#: Largest grid :func:`make_grid` builds (a float64 grid of this size is 80 MB).
_MAX_GRID = 10**7


def _check_grid(grid: torch.Tensor) -> torch.Tensor:
    g = as_tensor(grid, "grid").to(torch.float64)
    if g.ndim != 1 or g.numel() < 3:
        raise ValueError(f"grid must be 1-D with at least 3 points, got shape {tuple(g.shape)}")
    if not bool((g.diff() > 0).all()):
        raise ValueError("grid must be strictly increasing")
    return g


def gaussian_log_probs(grid: torch.Tensor, mean: torch.Tensor | float, std: torch.Tensor | float) -> torch.Tensor:
    """log q(x) of a Gaussian, normalised over the grid points.

    Differentiable in ``mean`` and ``std`` when they are tensors that require grad.

    Parameters
    ----------
    grid : torch.Tensor, shape (G,)
        Evenly spaced points (see :func:`make_grid`).
    mean, std : float or 0-d tensor
        Mean and standard deviation (std > 0).

    Returns
    -------
    torch.Tensor, shape (G,), float64
        Log-probabilities that sum (after exp) to one over the grid.
    """
    g = _check_grid(grid)
    mean, std = _param(mean, "mean"), _param(std, "std", positive_only=True)
    z = (g - mean) / std
    # log_softmax normalises over the grid in log space, so far tails never underflow to log 0.
    return torch.log_softmax(-0.5 * z * z, dim=-1)


def _param(x: torch.Tensor | float, name: str, *, positive_only: bool = False) -> torch.Tensor | float:
    """A Gaussian parameter: a float, or a one-element real tensor (kept, so autograd flows through it)."""
    if not isinstance(x, torch.Tensor) or x.requires_grad is False:
        return positive(x, name) if positive_only else finite(x, name)
    if x.numel() != 1 or not x.is_floating_point():
        raise ValueError(f"{name} must be one real number, got a tensor of shape {tuple(x.shape)} ({x.dtype})")
    v = float(x.detach())
    if not math.isfinite(v) or (positive_only and v <= 0):
        raise ValueError(f"{name} must be finite{' and > 0' if positive_only else ''}, got {v}")
    return x.reshape(())


def mixture_log_probs(
    grid: torch.Tensor,
    means: Sequence[float] = (-2.0, 2.0),
    stds: Sequence[float] = (0.6, 0.6),
    weights: Sequence[float] = (0.5, 0.5),
) -> torch.Tensor:
    """log p(x) of a mixture of Gaussians, normalised over the grid points.

    Parameters
    ----------
    grid : torch.Tensor, shape (G,)
        Evenly spaced points (see :func:`make_grid`).
    means, stds, weights : sequences of length M
        Component means, standard deviations (> 0) and mixing weights (sum to 1).
        The default is two well separated, equally weighted bumps at ±2.

    Returns
    -------
    torch.Tensor, shape (G,), float64
        Log-probabilities that sum (after exp) to one over the grid.
    """
    g = _check_grid(grid)
    mu = as_tensor(means, "means").to(torch.float64).reshape(-1)
    sd = as_tensor(stds, "stds").to(torch.float64).reshape(-1)
    w = as_probs(weights, "weights").reshape(-1)
    if not mu.numel() == sd.numel() == w.numel():
        raise ValueError(f"means, stds and weights need one entry per component, got {mu.numel()}, {sd.numel()}, {w.numel()}")
    if bool((sd <= 0).any()):
        raise ValueError("stds must all be > 0")
    z = (g[None, :] - mu[:, None]) / sd[:, None]
    log_density = -0.5 * z * z - sd.log()[:, None] + torch.log(w)[:, None]
    return torch.log_softmax(torch.logsumexp(log_density, dim=0), dim=-1)


def grid_kl(log_p: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """KL(p‖q) = Σ p·(log p − log q) over the last axis, in nats, from log-probabilities.

    Parameters
    ----------
    log_p, log_q : torch.Tensor, shape (..., G)
        Normalised log-probabilities; ``-inf`` marks a zero probability.

    Returns
    -------
    torch.Tensor, shape (...)
        The KL in nats; points with p = 0 add nothing (0·log 0 = 0), and q = 0 < p gives ``inf``.
    """
    log_p, log_q = _log_probs(log_p, "log_p"), _log_probs(log_q, "log_q")
    if log_p.shape[-1] != log_q.shape[-1]:
        raise ValueError(f"log_p has {log_p.shape[-1]} grid points but log_q has {log_q.shape[-1]}")
    p = log_p.exp()
    return torch.where(p > 0, p * (log_p - log_q), torch.zeros_like(p)).sum(-1)


def _log_probs(x: torch.Tensor, name: str) -> torch.Tensor:
    """Log-probabilities on a grid: −inf (probability 0) allowed, NaN and +inf not, at least 1-D."""
    t = as_tensor(x, name, allow_inf=True)
    if t.ndim == 0:
        raise ValueError(f"{name} must have a grid axis")
    if bool((t.detach() == torch.inf).any()):
        raise ValueError(f"{name} contains +inf, which is no log-probability")
    return t


def fit_gaussian(
    target_log_probs: torch.Tensor,
    grid: torch.Tensor,
    direction: str,
    init_mean: float = 1.0,
    init_std: float = 1.0,
    steps: int = 300,
    lr: float = 0.5,
) -> GaussianFit:
    """Fit one Gaussian to a target on the grid by gradient descent on a KL.

    The parameters are the mean and log std (so std stays positive). Plain gradient
    descent moves them from a fixed starting point for a fixed number of steps, so
    the result is deterministic; on the default target it converges well within
    the default 300 steps.

    Parameters
    ----------
    target_log_probs : torch.Tensor, shape (G,)
        log p on the grid (e.g. from :func:`mixture_log_probs`), finite everywhere.
    grid : torch.Tensor, shape (G,)
        The same grid.
    direction : {"forward", "reverse"}
        ``"forward"`` minimises KL(p‖q) (mass-covering); ``"reverse"`` minimises
        KL(q‖p) (mode-seeking).
    init_mean, init_std : float
        Starting point. Reverse KL has a local minimum at each mode (and can have
        others), and the fit settles into one downhill from here.
    steps : int
        Number of gradient steps.
    lr : float
        Step size. Much larger steps overshoot: at 1.0 both default fits already go wrong.

    Returns
    -------
    GaussianFit
        Fitted mean and std, and the final KL in nats.
    """
    if not isinstance(direction, str) or direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
    g = _check_grid(grid)
    # Every grid point needs p > 0: a Gaussian is positive everywhere, so a zero in p would make KL(q‖p) infinite.
    given = as_tensor(target_log_probs, "target_log_probs")
    log_p = given.to(torch.float64)
    if log_p.shape != g.shape:
        raise ValueError(f"target_log_probs has shape {tuple(log_p.shape)} but grid has shape {tuple(g.shape)}")
    # log Σ exp(log p) ≈ Σp − 1: the same float32-aware tolerance as every probability vector (_validate.as_probs).
    if abs(float(torch.logsumexp(log_p, -1))) > prob_tolerance(given.dtype, log_p.shape[-1]):
        raise ValueError("target_log_probs must be normalised: exp(target_log_probs) must sum to 1")
    n_steps = count(steps, "steps")
    lr = positive(lr, "lr")
    mean = torch.tensor(finite(init_mean, "init_mean"), dtype=torch.float64, requires_grad=True)
    log_std = torch.tensor(math.log(positive(init_std, "init_std")), dtype=torch.float64, requires_grad=True)

    def loss() -> torch.Tensor:
        log_q = gaussian_log_probs(g, mean, log_std.exp())
        return grid_kl(log_p, log_q) if direction == "forward" else grid_kl(log_q, log_p)

    for _ in range(n_steps):
        grad_mean, grad_log_std = torch.autograd.grad(loss(), (mean, log_std))
        with torch.no_grad():
            mean -= lr * grad_mean
            log_std -= lr * grad_log_std
    with torch.no_grad():
        final = float(loss())
    fit = GaussianFit(direction, float(mean.detach()), float(log_std.detach().exp()), final, n_steps)
    if not all(math.isfinite(v) for v in (fit.mean, fit.std, fit.kl)):
        raise ValueError(f"the {direction} fit diverged (mean {fit.mean}, std {fit.std}); lower lr")
    return fit


def fit_both_directions(
    grid: torch.Tensor | None = None, target_log_probs: torch.Tensor | None = None, **fit_options: float
) -> dict[str, GaussianFit]:
    """Fit the default bimodal target both ways.

    Parameters
    ----------
    grid : torch.Tensor, shape (G,), optional
        Default :func:`make_grid`.
    target_log_probs : torch.Tensor, shape (G,), optional
        Default :func:`mixture_log_probs` on the grid.
    **fit_options
        Passed on to :func:`fit_gaussian` (``init_mean``, ``init_std``, ``steps``, ``lr``).

    Returns
    -------
    dict
        ``{"forward": GaussianFit, "reverse": GaussianFit}``.
    """
    g = make_grid() if grid is None else grid
    log_p = mixture_log_probs(g) if target_log_probs is None else target_log_probs
    return {d: fit_gaussian(log_p, g, d, **fit_options) for d in DIRECTIONS}
