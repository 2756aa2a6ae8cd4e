"""Lesson 5: a simulated "plant" for testing KL controllers. A MODEL, not a trainer.

Control engineers call the system a controller steers the *plant*. Here the plant
stands in for a policy under RLHF training, reduced to three assumptions:

1. For each β there is an equilibrium KL(β): the KL of the exact optimum
   π_β ∝ π_ref·exp(r/β) of lesson 4. It is read off a table (β, KL) by
   :func:`equilibrium_kl`.
2. Training does not jump there: the true KL moves a fraction ``1/lag`` of the
   way toward KL(β) each step, like a first-order lag (a thermostat's room
   warming up).
3. Each step measures the KL on a batch: the true KL plus Gaussian noise whose
   standard deviation is ``noise/√batch_size`` (``noise`` is the spread of one
   sample's KL reading).

:func:`simulate_control` closes the loop between a controller and the plant, and
:func:`control_metrics` scores the run. Nothing here runs gradient descent, so it is
fast, exact and reproducible; the real thing is lesson 6. All KL values are in nats, in whatever unit the table
uses (per sequence for lesson 4's toy).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch

from ._validate import as_series, count, finite, in_range, number, positive, seed as as_seed
from .controllers import AdaptiveKLController, ThresholdKLController

__all__ = [
    "CONTROL_EXPERIMENT", "ControlExperiment", "KLController", "KLPlant", "control_metrics", "equilibrium_beta",
    "equilibrium_kl", "simulate_control",
]


class KLController(Protocol):
    """What :func:`simulate_control` needs: the interface of :mod:`kl_lessons.controllers`."""

    value: float

    def update(self, current: float, n_steps: int = 1) -> float: ...


def _table(betas: Sequence[float], kls: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Validate a (β, KL) table; return (log β, log KL) sorted by β."""
    b = as_series(_flat(betas), "betas", allow_nonfinite=True)
    k = as_series(_flat(kls), "kls", allow_nonfinite=True)
    if b.size != k.size:
        raise ValueError(f"betas has {b.size} entries but kls has {k.size}")
    if b.size < 2:
        raise ValueError("betas and kls need at least 2 points")
    if not (np.isfinite(b).all() and (b > 0).all()):
        raise ValueError("betas must all be finite and > 0")
    if not (np.isfinite(k).all() and (k > 0).all()):
        raise ValueError("kls must all be finite and > 0 (the interpolation is in log KL)")
    order = np.argsort(b, kind="stable")
    b, k = b[order], k[order]
    if (np.diff(b) == 0).any():
        raise ValueError("betas must be distinct")
    return np.log(b), np.log(k)


def _flat(x: Any) -> Any:
    """A table column as a flat sequence (a (N, 1) array is as good as a (N,) one)."""
    if isinstance(x, torch.Tensor):
        return x.detach().reshape(-1)
    if isinstance(x, np.ndarray):
        return x.reshape(-1)
    return x


def _interp(beta: float, log_betas: np.ndarray, log_kls: np.ndarray) -> float:
    # np.interp holds the end values outside the table: the clamping we want. β = 0 (no
    # penalty at all) is the β → 0 limit: the table's smallest-β end.
    if beta == 0.0:
        return math.exp(float(log_kls[0]))
    return math.exp(float(np.interp(math.log(beta), log_betas, log_kls)))


def equilibrium_kl(beta: float, betas: Sequence[float], kls: Sequence[float]) -> float:
    """The KL a policy settles at under a fixed β, read off a table.

    Piecewise-linear interpolation in (log β, log KL) through the table's points,
    held at the end values outside the table.

    Parameters
    ----------
    beta : float
        KL coefficient, > 0 (a :class:`KLPlant` also takes β = 0: see :meth:`KLPlant.equilibrium`).
    betas : sequence of float, shape (N,)
        Table of β values, each > 0 and distinct (any order), N ≥ 2.
    kls : sequence of float, shape (N,)
        Equilibrium KL at each β, in nats, each > 0.

    Returns
    -------
    float
        Equilibrium KL at ``beta``, in nats.
    """
    log_betas, log_kls = _table(betas, kls)
    return _interp(positive(beta, "beta"), log_betas, log_kls)


def equilibrium_beta(kl: float, betas: Sequence[float], kls: Sequence[float]) -> float:
    """The β whose equilibrium KL is ``kl``: the inverse of :func:`equilibrium_kl`.

    This is where a perfect controller would park β for target ``kl``. The table's
    KL must fall strictly as β grows (as the KL of π_β does); targets outside the
    table's KL range get the end β.

    Parameters
    ----------
    kl : float
        Target KL, in nats, > 0.
    betas, kls : sequence of float, shape (N,)
        The table, as for :func:`equilibrium_kl`.

    Returns
    -------
    float
        β, interpolated in (log KL, log β).
    """
    log_betas, log_kls = _table(betas, kls)
    if not (np.diff(log_kls) < 0).all():
        raise ValueError("kls must fall strictly as betas grow for the inverse to exist")
    # np.interp needs increasing x: walk the table from large β (small KL) to small β.
    return math.exp(float(np.interp(math.log(positive(kl, "kl")), log_kls[::-1], log_betas[::-1])))


#: The plant is stable only for lag > 1/2: see :class:`KLPlant`.
MIN_STABLE_LAG = 0.5


class KLPlant:
    """A policy under training, modelled as a noisy first-order lag toward KL(β).

    Each :meth:`step` with coefficient β returns the batch's measured KL,
    ``kl_true + noise·z/√batch_size`` with ``z ~ N(0, 1)``, then moves
    ``kl_true ← kl_true + (equilibrium_kl(β) − kl_true)/lag``.

    Parameters
    ----------
    betas, kls : sequence of float, shape (N,)
        The β → equilibrium-KL table (see :func:`equilibrium_kl`); KL in nats.
    lag : float
        Time constant in steps, > 1/2. With lag = 1 the KL reaches KL(β) in one
        step; larger is slower. Stability: the gap to a fixed target obeys
        e ← (1 − 1/lag)·e, which shrinks only if |1 − 1/lag| < 1, that is lag > 1/2.
        With 1/2 < lag < 1 the KL overshoots and rings down; lag = 1/2 oscillates
        for ever and smaller lags diverge, so they are refused. Real training
        drifts: use lag ≥ 1.
    noise : float
        Standard deviation of a *single sample's* KL reading, in nats, ≥ 0.
    batch_size : int
        Samples per batch, > 0; the batch mean's noise is ``noise/√batch_size``.
    seed : int
        Seeds the ``torch.Generator`` that draws one z per step, in order.
    kl0 : float
        True KL before the first step, in nats, ≥ 0 (0: the policy starts as
        a copy of the reference).

    Attributes
    ----------
    kl_true : float
        The current true KL, in nats.
    """

    def __init__(
        self,
        betas: Sequence[float],
        kls: Sequence[float],
        lag: float,
        noise: float,
        batch_size: int,
        seed: int = 0,
        kl0: float = 0.0,
    ) -> None:
        self._log_betas, self._log_kls = _table(betas, kls)
        self.betas, self.kls = np.exp(self._log_betas), np.exp(self._log_kls)
        self.lag = positive(lag, "lag")
        if self.lag <= MIN_STABLE_LAG:
            raise ValueError(f"lag must be > {MIN_STABLE_LAG} for the plant to be stable (|1 - 1/lag| < 1), "
                             f"got {self.lag}")
        self.noise = positive(noise, "noise", allow_zero=True)
        self.batch_size = count(batch_size, "batch_size")
        self.seed = as_seed(seed)
        self.kl_true = positive(kl0, "kl0", allow_zero=True)
        self._generator = torch.Generator().manual_seed(self.seed)

    @property
    def noise_std(self) -> float:
        """Standard deviation of one batch's measured KL, ``noise/√batch_size``, in nats."""
        return self.noise / math.sqrt(self.batch_size)

    def equilibrium(self, beta: float) -> float:
        """``equilibrium_kl(beta)`` on this plant's table, in nats.

        β = 0 (no penalty, e.g. ``FixedKLController(0.0)``) is the β → 0 limit: the
        KL at the table's smallest β, where the table holds its end value anyway.
        """
        return _interp(positive(beta, "beta", allow_zero=True), self._log_betas, self._log_kls)

    def step(self, beta: float) -> float:
        """Measure the KL of one batch trained with ``beta`` (≥ 0), then let the true KL drift.

        Returns
        -------
        float
            The measured batch-mean KL, in nats (it can be negative when the
            true KL is near 0 and the batch is noisy, as a k1 mean can be).
        """
        target = self.equilibrium(beta)
        # One draw per step, float64, in order: a run is fixed by its seed.
        z = float(torch.randn((), generator=self._generator, dtype=torch.float64))
        measured = self.kl_true + self.noise_std * z
        self.kl_true += (target - self.kl_true) / self.lag
        return measured

    def __repr__(self) -> str:
        return (
            f"KLPlant(lag={self.lag:g}, noise={self.noise:g}, batch_size={self.batch_size}, "
            f"seed={self.seed}, kl_true={self.kl_true:.4g})"
        )


def _per_step(x: float | Sequence[float] | None, n: int, name: str) -> np.ndarray | None:
    if x is None:
        return None
    if isinstance(x, (int, float, np.number)) or (isinstance(x, torch.Tensor) and x.ndim == 0):
        arr = np.full(n, finite(x, name))
    else:
        arr = as_series(x, name, allow_nonfinite=True)
    if arr.shape != (n,):
        raise ValueError(f"{name} must be a number or hold one value per step ({n}), got shape {arr.shape}")
    if not (np.isfinite(arr).all() and (arr > 0).all()):
        raise ValueError(f"{name} must be finite and > 0 at every step")
    return arr


def simulate_control(
    controller: KLController,
    plant: KLPlant,
    n_steps: int,
    target: float | Sequence[float] | None = None,
    *,
    faults: Mapping[int, float] | None = None,
    skip_invalid: bool = True,
    reading_scale: float = 1.0,
) -> dict[str, np.ndarray]:
    """Close the loop: the controller sets β, the plant answers with a KL reading.

    At step t: β_t = ``controller.value``; the plant measures a KL with β_t and
    drifts; then ``controller.update(reading, n_steps=plant.batch_size)``
    (``n_steps`` counts samples, as in Ziegler et al.'s code). The controller and
    plant are advanced in place.

    Parameters
    ----------
    controller : object with ``.value`` and ``.update(current, n_steps)``
        E.g. :class:`~kl_lessons.controllers.AdaptiveKLController`.
    plant : KLPlant
        The simulated policy.
    n_steps : int
        Steps to run, > 0.
    target : float or sequence of float, shape (n_steps,), optional
        Sets ``controller.target`` before each step's update, e.g. a target that
        jumps mid-run. ``None`` leaves the controller's target alone.
    faults : mapping of step → float, optional
        Replace the reading at these steps (fault injection: NaN, inf, a negative
        KL). The plant still draws its noise, so the rest of the run is unchanged.
        NaN and inf are accepted on purpose (they are what a broken logger sends) and
        announced twice: ``injected`` marks every step whose reading was replaced, and
        ``rejected`` every step whose update refused it. A controller that takes a
        non-finite reading without raising is stopped with ``ValueError``.
    skip_invalid : bool
        If a non-finite reading makes ``update`` raise ``ValueError`` (as the
        library's controllers do, leaving β unchanged), record the step as
        rejected and go on. ``False`` lets the error propagate.
    reading_scale : float
        Multiplies each reading before the controller sees it, > 0: a units
        conversion (e.g. 1/length turns a per-sequence KL into a per-token one),
        or a units *bug* when it is the wrong one.

    Returns
    -------
    dict of str → numpy.ndarray, each shape (n_steps,)
        ``beta``: β used at each step; ``kl_true``: true KL when the batch was
        measured (nats); ``kl_measured``: the plant's reading, after faults
        (nats); ``kl_fed``: what the controller was given (``reading_scale`` ×
        reading); ``target``: the controller's target at each update (NaN if it
        has none); ``rejected``: True where ``update`` raised; ``injected``: True
        where ``faults`` replaced the reading.
    """
    n = count(n_steps, "n_steps")
    if not isinstance(plant, KLPlant):
        raise ValueError(f"plant must be a KLPlant, got {type(plant).__name__}")
    if not (hasattr(controller, "value") and callable(getattr(controller, "update", None))):
        raise ValueError("controller must have .value and .update(current, n_steps)")
    targets = _per_step(target, n, "target")
    if targets is not None and not hasattr(controller, "target"):
        raise ValueError(f"target was given but {type(controller).__name__} has no .target")
    if faults is None:
        faults = {}
    if not isinstance(faults, Mapping):
        raise ValueError(f"faults must be a mapping step → reading, e.g. {{300: float('nan')}}, "
                         f"got {type(faults).__name__}")
    faults = dict(faults)
    for step in faults:
        count(step, "faults keys (steps)", minimum=0, maximum=n - 1)
        number(faults[step], f"faults[{step!r}]")  # NaN and inf are the point of a fault; other types are not
    faults = {int(step): value for step, value in faults.items()}
    scale = positive(reading_scale, "reading_scale")
    if not isinstance(skip_invalid, (bool, np.bool_)):
        raise ValueError(f"skip_invalid must be True or False, got {skip_invalid!r}")
    out = {key: np.empty(n) for key in ("beta", "kl_true", "kl_measured", "kl_fed", "target")}
    out["rejected"] = np.zeros(n, dtype=bool)
    out["injected"] = np.zeros(n, dtype=bool)
    out["injected"][list(faults)] = True
    for t in range(n):
        beta = positive(controller.value, "controller.value", allow_zero=True)
        if targets is not None:
            controller.target = float(targets[t])
        out["beta"][t], out["kl_true"][t] = beta, plant.kl_true
        reading = plant.step(beta)
        reading = float(faults.get(t, reading))
        out["kl_measured"][t], out["kl_fed"][t] = reading, scale * reading
        out["target"][t] = getattr(controller, "target", math.nan)
        try:
            controller.update(scale * reading, n_steps=plant.batch_size)
        except ValueError:
            if math.isfinite(reading) or not skip_invalid:
                raise
            out["rejected"][t] = True
        else:
            if not math.isfinite(reading):
                raise ValueError(f"controller accepted the non-finite reading {reading} at step {t} "
                                 f"({type(controller).__name__}.update must refuse NaN and inf)")
    return out


def control_metrics(run: Mapping[str, np.ndarray], band: float = 0.1, start: int = 0) -> dict[str, float | int | None]:
    """Score a run of :func:`simulate_control` the way a control engineer would.

    All four use the *true* KL (what the controller is trying to steer), from
    step ``start`` on (e.g. the step a target jumps).

    Parameters
    ----------
    run : mapping
        The output of :func:`simulate_control`, with a finite ``target``.
    band : float
        Settling band as a fraction of the target, in (0, 1).
    start : int
        First step scored, in [0, steps − 2].

    Returns
    -------
    dict
        ``tracking_error``: root-mean-square of KL − target over the second half
        of the scored steps, in nats (steady-state accuracy).
        ``overshoot``: largest (KL − target)/target, floored at 0 (0.5 = 50 % above).
        ``chattering``: Σ |Δ log β| over the second half: how much β still
        moves once it should have settled (0 for a constant β).
        ``settling_step``: steps after ``start`` until KL enters the band
        target·(1 ± band) for good, or ``None`` if it still leaves the band
        during the last quarter of the scored steps.
    """
    if not isinstance(run, Mapping):
        raise ValueError(f"run must be the mapping simulate_control returns, got {type(run).__name__}")
    missing = [key for key in ("kl_true", "target", "beta") if key not in run]
    if missing:
        raise ValueError(f"run is missing {missing[0]!r}; pass the output of simulate_control")
    kl = as_series(run["kl_true"], "run['kl_true']")
    target = as_series(run["target"], "run['target']", allow_nonfinite=True)
    beta = as_series(run["beta"], "run['beta']")
    for key, series in (("target", target), ("beta", beta)):
        if series.size != kl.size:
            raise ValueError(f"run['{key}'] has {series.size} steps but run['kl_true'] has {kl.size}")
    if kl.size < 2:
        raise ValueError("run must have at least 2 steps")
    if (beta < 0).any():
        raise ValueError("run['beta'] must be >= 0 at every step")
    in_range(band, "band", 0.0, 1.0, low_open=True, high_open=True)
    start = count(start, "start", minimum=0, maximum=kl.size - 2)
    kl, target, beta = kl[start:], target[start:], beta[start:]
    if not (np.isfinite(target).all() and (target > 0).all()):
        raise ValueError("run['target'] must be finite and > 0 (a FixedKLController has no target)")
    late = slice(kl.size // 2, None)
    outside = np.abs(kl - target) > band * target
    settling: int | None = int(np.flatnonzero(outside)[-1]) + 1 if outside.any() else 0
    if settling > 0.75 * kl.size:
        settling = None  # a visit to the band at the very end is luck, not settling
    return {
        "tracking_error": float(np.sqrt(np.mean((kl[late] - target[late]) ** 2))),
        "overshoot": float(max(0.0, np.max((kl - target) / target))),
        "chattering": _chattering(beta[late]),
        "settling_step": settling,
    }


def _chattering(beta: np.ndarray) -> float:
    """Σ |Δ log β|: 0 where β did not move (also at β = 0), inf for a jump from or to 0."""
    with np.errstate(divide="ignore"):
        log_beta = np.log(beta)
    moved = beta[1:] != beta[:-1]
    return float(np.abs(np.diff(log_beta))[moved].sum())


# --------------------------------------------------------------------------- lesson 5's experiment
@functools.lru_cache(maxsize=8)
def _frontier_table(log10_low: float, log10_high: float, points: int) -> tuple[np.ndarray, np.ndarray]:
    from .toy_responses import toy_frontier_table  # lesson 4's toy, built only when a table is asked for

    betas, kls = toy_frontier_table(np.logspace(log10_low, log10_high, points))
    return betas.numpy(), kls.numpy()


@functools.lru_cache(maxsize=8)
def _reading_spread(beta: float) -> float:
    from .optimum import tilted_policy
    from .toy_responses import make_toy_responses

    toy = make_toy_responses()
    pi = tilted_policy(toy.ref_probs, toy.proxy, beta)
    log_ratio = torch.log(pi / toy.ref_probs)
    return float(torch.sqrt(pi @ (log_ratio - pi @ log_ratio) ** 2))


@dataclass(frozen=True)
class ControlExperiment:
    """Lesson 5's experiment, written once: the plant, both controllers' settings and the run.

    The notebook, its explorer (:func:`kl_lessons.explorer_state.controller_state`) and its
    self-checks all build their plants and controllers from :data:`CONTROL_EXPERIMENT`; an exercise
    that changes one setting asks for a copy with ``dataclasses.replace(CONTROL_EXPERIMENT, …)``.

    Attributes
    ----------
    target : float
        The KL the controllers aim for, in nats per reply (summed over its tokens), > 0.
    init_beta : float
        Both controllers' starting β, in reward units per nat, > 0.
    lag : float
        The plant's time constant in steps (see :class:`KLPlant`).
    batch_size : int
        Replies per batch; the proportional rule's ``n_steps`` at every update.
    horizon : float
        The proportional rule's horizon, in samples (Ziegler et al.'s 10 000).
    n_steps : int
        Training steps of a run.
    seed : int
        The plant's seed: two runs with the same seed see the same noise.
    kl0 : float
        True KL at the start, in nats (0: the policy starts as a copy of the reference).
    threshold_factor : float
        The threshold rule's multiplicative step, > 1.
    threshold_bounds : (float, float)
        The threshold rule's lowest and highest β.
    log10_beta_range : (float, float)
        The β → equilibrium-KL table runs over β = 10**low … 10**high, evenly in log β …
    table_points : int
        … at this many points, ≥ 2.
    """

    target: float = 0.5
    init_beta: float = 0.1
    lag: float = 20.0
    batch_size: int = 64
    horizon: float = 10_000.0
    n_steps: int = 1500
    seed: int = 0
    kl0: float = 0.0
    threshold_factor: float = 1.5
    threshold_bounds: tuple[float, float] = (0.01, 1.0)
    log10_beta_range: tuple[float, float] = (-2.0, 1.0)
    table_points: int = 31

    def __post_init__(self) -> None:
        for name in ("target", "init_beta", "lag", "horizon"):
            positive(getattr(self, name), name)
        count(self.batch_size, "batch_size")
        count(self.n_steps, "n_steps")
        as_seed(self.seed)
        positive(self.kl0, "kl0", allow_zero=True)
        low, high = (finite(x, "log10_beta_range") for x in _pair(self.log10_beta_range, "log10_beta_range"))
        if not low < high:
            raise ValueError(f"log10_beta_range must be (low, high) with low < high, got {self.log10_beta_range}")
        count(self.table_points, "table_points", minimum=2)
        # The controllers check their own settings; building one each refuses a bad experiment here.
        AdaptiveKLController(self.init_beta, self.target, self.horizon)
        ThresholdKLController(self.init_beta, self.target, self.threshold_factor, _pair(self.threshold_bounds,
                                                                                       "threshold_bounds"))
        if self.lag <= MIN_STABLE_LAG:
            raise ValueError(f"lag must be > {MIN_STABLE_LAG} for the plant to be stable, got {self.lag}")

    def table(self) -> tuple[np.ndarray, np.ndarray]:
        """The plant's (β, equilibrium KL) table: KL(π_β‖π_ref) of lesson 4's toy, nats per reply, shape (points,) each."""
        betas, kls = _frontier_table(*(float(x) for x in self.log10_beta_range), int(self.table_points))
        return betas.copy(), kls.copy()  # copies: a caller's edit must not reach the cache

    def beta_star(self) -> float:
        """The β whose equilibrium KL is the target: where a perfect controller would hold β."""
        return equilibrium_beta(self.target, *self.table())

    def reading_spread(self) -> float:
        """Standard deviation of one reply's KL reading log π_β*(y)/π_ref(y) for y ~ π_β*, in nats.

        π_β* is lesson 4's optimum at :meth:`beta_star`; the mean of the reading is the KL itself.
        """
        return _reading_spread(self.beta_star())

    @property
    def noise(self) -> float:
        """The plant's ``noise``: :meth:`reading_spread` rounded to 0.1 nats."""
        return round(self.reading_spread(), 1)

    def plant(self, **changes: Any) -> KLPlant:
        """A fresh plant; ``changes`` override any of ``lag``, ``noise``, ``batch_size``, ``seed``, ``kl0``."""
        settings = {"lag": self.lag, "noise": self.noise, "batch_size": self.batch_size, "seed": self.seed,
                    "kl0": self.kl0}
        unknown = sorted(set(changes) - set(settings))
        if unknown:
            raise ValueError(f"changes must be plant settings {sorted(settings)}, got {unknown[0]!r}")
        return KLPlant(*self.table(), **{**settings, **changes})

    def proportional(self, target: float | None = None, horizon: float | None = None) -> AdaptiveKLController:
        """Ziegler's proportional controller at ``init_beta`` (target and horizon the experiment's unless given)."""
        return AdaptiveKLController(self.init_beta, self.target if target is None else target,
                                    self.horizon if horizon is None else horizon)

    def threshold(self, target: float | None = None) -> ThresholdKLController:
        """The source chapter's threshold rule at ``init_beta``, with the experiment's factor and bounds."""
        return ThresholdKLController(self.init_beta, self.target if target is None else target,
                                     self.threshold_factor, self.threshold_bounds)


def _pair(value: Any, name: str) -> tuple[Any, Any]:
    if isinstance(value, (str, bytes, Mapping)) or not hasattr(value, "__len__") or len(value) != 2:
        raise ValueError(f"{name} must be a pair (low, high), got {value!r}")
    return value[0], value[1]


#: Lesson 5's experiment: target 0.5 nats per reply, β from 0.1, lag 20, batches of 64, horizon 10 000, 1500 steps.
CONTROL_EXPERIMENT = ControlExperiment()
