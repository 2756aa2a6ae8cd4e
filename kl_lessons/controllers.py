"""Lesson 5: controllers that set the KL coefficient β during training.

All three share ``.value`` (the current β) and ``.update(current, n_steps)``.
``current`` is the KL measured on the latest batch, in the *same units* as the
target (per token or per sequence: never mix them, see trlx issue #438).
A non-finite reading raises ``ValueError`` and leaves ``.value`` unchanged, and so
does an ``n_steps`` that is not a whole number of samples ≥ 1.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ._validate import count, finite, positive

#: Default limits of the proportional controller's β, in reward units per nat.
ADAPTIVE_BOUNDS = (1e-6, 1e6)


def _bounds(bounds: Any, name: str = "bounds") -> tuple[float, float]:
    """A pair ``(low, high)`` with 0 < low ≤ high, both finite.

    Only an ordered pair counts (a tuple, a list, a 1-D array or tensor): a dict would
    unpack to its keys and a set in no fixed order, so both are refused.
    """
    if isinstance(bounds, (np.ndarray, torch.Tensor)) and bounds.ndim == 1:
        bounds = bounds.tolist()
    if not isinstance(bounds, (tuple, list)) or len(bounds) != 2:
        raise ValueError(f"{name} must be a pair (low, high), got {bounds!r}")
    low, high = bounds
    low, high = positive(low, name), positive(high, name)
    if low > high:
        raise ValueError(f"{name} must satisfy low <= high, got {bounds}")
    return low, high


class FixedKLController:
    """A constant β: ``update`` checks its input and changes nothing.

    Parameters
    ----------
    kl_coef : float
        β ≥ 0, in reward units per nat.
    """

    def __init__(self, kl_coef: float) -> None:
        self.value = positive(kl_coef, "kl_coef", allow_zero=True)

    def update(self, current: float, n_steps: int = 1) -> float:
        """Accept a KL reading (validated, then ignored) and return β."""
        finite(current, "current")
        count(n_steps, "n_steps")
        return self.value

    def __repr__(self) -> str:
        return f"FixedKLController(kl_coef={self.value:g})"


class AdaptiveKLController:
    """Ziegler et al. (2019)'s proportional controller, as in TRL, OpenRLHF and verl.

    ``e = clip(current/target − 1, −0.2, 0.2)`` and ``β ← β·(1 + e·n_steps/horizon)``.
    So β changes by at most 20 % per ``horizon`` samples: ``horizon`` sets how fast
    the controller reacts, and ``n_steps`` (samples in the batch) how much of that
    horizon one update covers.

    At its limits: fed a KL that stays far above target, the rule alone multiplies β
    by up to 1.2 per horizon for ever, so β grows without bound (TRL's controller has
    no cap; in float64 it reaches ``inf`` after a few thousand full-horizon updates) and
    a KL stuck below target drives it towards 0 just as surely. Here β is clamped to
    ``bounds`` after every update, so it stays finite and > 0 however long the run;
    a β parked at a bound means the KL target is out of reach of the policy.

    Parameters
    ----------
    init_kl_coef : float
        Starting β, inside ``bounds``.
    target : float
        Target KL > 0, in nats (Ziegler et al. used 6 nats per *sequence*).
    horizon : float
        Samples over which the error is corrected, > 0 (Ziegler et al.: 10 000).
    bounds : (float, float)
        Lowest and highest β, 0 < low ≤ high; default :data:`ADAPTIVE_BOUNDS`
        = (1e-6, 1e6), far outside any β a lesson uses.
    """

    def __init__(
        self, init_kl_coef: float, target: float, horizon: float, bounds: tuple[float, float] = ADAPTIVE_BOUNDS
    ) -> None:
        self.bounds = _bounds(bounds)
        self.value = positive(init_kl_coef, "init_kl_coef")
        if not self.bounds[0] <= self.value <= self.bounds[1]:
            raise ValueError(f"init_kl_coef must lie within bounds {self.bounds}, got {self.value}")
        self.target = positive(target, "target")
        self.horizon = positive(horizon, "horizon")

    def update(self, current: float, n_steps: int = 1) -> float:
        """Feed the KL of the latest batch; return the new β.

        Raises ``ValueError`` if ``current`` is NaN/inf or ``n_steps`` is not a whole
        number in [1, horizon] (a larger step could flip β's sign).
        """
        kl = finite(current, "current")
        steps = count(n_steps, "n_steps")
        if steps > self.horizon:
            raise ValueError(f"n_steps ({steps:g}) must not exceed horizon ({self.horizon:g})")
        target = positive(self.target, "target")  # an attribute a caller may have reassigned
        error = min(max(kl / target - 1.0, -0.2), 0.2)
        self.value = min(max(self.value * (1.0 + error * steps / self.horizon), self.bounds[0]), self.bounds[1])
        return self.value

    def __repr__(self) -> str:
        return f"AdaptiveKLController(value={self.value:g}, target={self.target:g}, horizon={self.horizon:g})"


class ThresholdKLController:
    """The source chapter's "bang-bang" rule, kept to compare against the proportional one.

    β is multiplied by ``factor`` when KL > factor·target, divided by ``factor`` when
    KL < target/2, and clamped to ``bounds``. Fed KL = 0.01, 0.02, 0.05, 0.1, 0.03,
    0.02 from the defaults it gives β = 0.1, 0.1, 0.15, 0.225, 0.225, 0.225.

    Parameters
    ----------
    init_kl_coef : float
        Starting β > 0.
    target : float
        Target KL > 0, in nats per token in the seed's example.
    factor : float
        Multiplicative step, > 1.
    bounds : (float, float)
        Lowest and highest β, 0 < low ≤ high.
    """

    def __init__(
        self,
        init_kl_coef: float = 0.1,
        target: float = 0.02,
        factor: float = 1.5,
        bounds: tuple[float, float] = (0.01, 1.0),
    ) -> None:
        self.target = positive(target, "target")
        self.factor = positive(factor, "factor")
        if self.factor <= 1:
            raise ValueError(f"factor must be > 1, got {self.factor}")
        low, high = self.bounds = _bounds(bounds)
        self.value = min(max(positive(init_kl_coef, "init_kl_coef"), low), high)

    def update(self, current: float, n_steps: int = 1) -> float:
        """Feed the KL of the latest batch; return the new β (``n_steps`` is ignored)."""
        kl = finite(current, "current")
        count(n_steps, "n_steps")
        if kl > self.factor * self.target:
            self.value *= self.factor
        elif kl < 0.5 * self.target:
            self.value /= self.factor
        self.value = min(max(self.value, self.bounds[0]), self.bounds[1])
        return self.value

    def __repr__(self) -> str:
        return f"ThresholdKLController(value={self.value:g}, target={self.target:g})"
