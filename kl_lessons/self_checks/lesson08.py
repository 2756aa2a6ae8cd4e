"""Self-checks for lesson 8 (KL in today's recipes).

Each function recomputes the answer with the course library and returns a short message; a wrong answer gets a
hint that names the likely slip, never a traceback.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import torch

from . import _finite_answer, _shown
from .._validate import positive
from ..divergence import cross_entropy, entropy, kl_divergence
from ..optimum import regularised_policy
from ..toy_responses import make_toy_responses

#: How close a numeric answer must be (the exercises ask for three decimals).
TOLERANCE = 1e-3


def dpo_constant(beta: float = 0.3) -> float:
    """DPO's implicit reward minus the gold reward on lesson 4's toy: −β·log Z, Z = Σ π_ref·exp(gold/β)."""
    beta = positive(beta, "beta")
    toy = make_toy_responses()
    return -beta * float(torch.logsumexp(toy.ref_probs.log() + toy.gold / beta, 0))


def check_dpo_constant(answer: Any, beta: float = 0.3) -> str:
    """Check the constant c in β·log(π_DPO/π_ref) = gold + c, for lesson 4's toy at ``beta``."""
    value = _finite_answer(answer)
    if value is None:
        return f"Please pass one finite number, such as -0.123 (got {_shown(answer)}); fill in `constant`."
    c = dpo_constant(beta)
    if abs(value - c) <= TOLERANCE:
        return (f"Correct: c = −β·log Z = {c:.4f}. The implicit reward is the gold reward shifted by one number, "
                "which no preference can see: Bradley–Terry only compares differences.")
    toy = make_toy_responses()
    slips = [
        (-c, "Right size, wrong sign: the implicit reward is r − β·log Z, and log Z > 0 here."),
        (c / beta, "That is −log Z: multiply by β (the implicit reward is β·log(π/π_ref))."),
        (c / math.log(2), "That looks like log base 2. DPO's β·log(π/π_ref) uses natural logs."),
        (-beta * float(torch.logsumexp(toy.ref_probs.log() + toy.proxy / beta, 0)),
         "That is the constant for the proxy reward. The pairs were labelled with the gold reward."),
    ]
    for slip, hint in slips:
        if abs(value - slip) <= TOLERANCE:
            return f"Not yet. {hint}"
    return "Not yet: take any reply y and compute β·log(π_DPO(y)/π_ref(y)) − gold(y); every reply gives the same number."


def matching_entropy_bonus() -> float:
    """The α at which the entropy bonus alone (β = 0, proxy reward) gives π the entropy of π_ref, on lesson 4's toy.

    H(softmax(r/α)) rises with α (a higher temperature spreads the mass), so bisection finds the one crossing.
    """
    toy = make_toy_responses()
    target = float(entropy(toy.ref_probs))
    low, high = 1e-3, 1e3
    for _ in range(200):
        mid = math.sqrt(low * high)  # bisect on a log scale: α spans six decades
        if float(entropy(regularised_policy(toy.ref_probs, toy.proxy, 0.0, mid))) < target:
            low = mid
        else:
            high = mid
    return math.sqrt(low * high)


def check_matching_entropy_bonus(answer: Any) -> str:
    """Check the α at which an entropy bonus alone keeps π exactly as spread out as π_ref (lesson 4's toy, proxy)."""
    value = _finite_answer(answer)
    if value is None:
        return f"Please pass one finite number, such as 0.25 (got {_shown(answer)}); fill in `alpha`."
    alpha = matching_entropy_bonus()
    if abs(value - alpha) <= TOLERANCE:
        toy = make_toy_responses()
        bonus = regularised_policy(toy.ref_probs, toy.proxy, 0.0, alpha)
        shouty = float(bonus[toy.exclamations >= 3].sum())
        return (f"Correct: α = {alpha:.4f}. Same entropy as π_ref, yet {shouty:.0%} of the mass sits on replies with "
                f"3 or 6 '!' (π_ref: {float(toy.ref_probs[toy.exclamations >= 3].sum()):.0%}) and "
                f"KL(π‖π_ref) = {float(kl_divergence(bonus, toy.ref_probs)):.2f} nats: entropy kept, anchor lost.")
    if value <= 0:
        return "Not yet: α is a bonus, so it is positive; H(softmax(r/α)) grows from 0 (α → 0) to log 36 (α → ∞)."
    toy = make_toy_responses()
    h = float(entropy(regularised_policy(toy.ref_probs, toy.proxy, 0.0, value)))
    side = "low: raise α" if h < float(entropy(toy.ref_probs)) else "high: lower α"
    return f"Not yet: at α = {value:g} the entropy is {h:.4f} nats against π_ref's {float(entropy(toy.ref_probs)):.4f}, too {side}."


def _cases() -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Pairs (p, q) that tell a right cross-entropy from the usual wrong ones, zeros included."""
    f = torch.float64
    return [
        (torch.tensor([0.5, 0.3, 0.2], dtype=f), torch.tensor([0.2, 0.2, 0.6], dtype=f)),
        (torch.tensor([0.7, 0.0, 0.3], dtype=f), torch.tensor([0.1, 0.5, 0.4], dtype=f)),
        # p = q = 0 on one reply: the term is 0, not 0·log 0 = nan (the common slip).
        (torch.tensor([0.6, 0.4, 0.0], dtype=f), torch.tensor([0.5, 0.5, 0.0], dtype=f)),
        (torch.tensor([0.25, 0.25, 0.25, 0.25], dtype=f), torch.tensor([0.4, 0.3, 0.2, 0.1], dtype=f)),
    ]


def check_cross_entropy(fn: Callable[[torch.Tensor, torch.Tensor], Any]) -> str:
    """Check a function ``fn(p, q)`` that returns the cross-entropy H(p, q) = −Σ p·log q in nats."""
    if not callable(fn):
        return f"Please pass your function itself, e.g. check_cross_entropy(my_cross_entropy) (got {_shown(fn)})."
    for p, q in _cases():
        try:
            result = fn(p.clone(), q.clone())
        except Exception as error:  # noqa: BLE001 - a learner's bug gets a hint, not a traceback
            return f"Your function raised {type(error).__name__}: {error}. It should take two probability vectors."
        if result is None:
            return "Your function returns None: fill in its body so that it returns −Σ p·log q."
        value, want = _finite_answer(result), float(cross_entropy(p, q))
        if value is None:
            return ("Your function returned something that is not one finite number for p = "
                    f"{p.tolist()}: where p is 0 the term p·log q counts as 0, not 0·log 0 = nan (use torch.xlogy or mask it).")
        if abs(value - want) <= 1e-9:
            continue
        slips = [
            (float(cross_entropy(q, p)) if bool((p > 0).all()) else math.nan, "the arguments are swapped: weight by p, take the log of q."),
            (want / math.log(2), "that is in bits; use the natural log for nats."),
            (-want, "the sign is off: H(p, q) = −Σ p·log q is positive."),
            (float(kl_divergence(p, q)), "that is KL(p‖q), the cross-entropy minus the entropy H(p)."),
            (float(entropy(p)), "that is the entropy H(p); the log should be of q."),
        ]
        for slip, hint in slips:
            if abs(value - slip) <= 1e-9:
                return f"Not yet: for p = {p.tolist()}, q = {q.tolist()}, {hint}"
        return f"Not yet: for p = {p.tolist()}, q = {q.tolist()} you return {value:.6f}, but H(p, q) = {want:.6f} nats."
    return "Correct on every case, including a p with a zero. Now KL(p‖q) = H(p, q) − H(p) is one subtraction away."


def check_reset_run(run: Any, every: int = 25, beta: float = 0.3) -> str:
    """Check a training run made for the reset exercise: β = ``beta``, reference reset every ``every`` steps."""
    metrics = getattr(run, "metrics", None)
    if not isinstance(metrics, dict) or "kl_mean" not in metrics or "beta" not in metrics:
        return f"Please pass the run that train(...) returned, e.g. check_reset_run(run_reset) (got {type(run).__name__})."
    kl, betas = metrics["kl_mean"], metrics["beta"]
    if any(abs(b - beta) > 1e-12 for b in betas):
        return f"Not yet: this run used β = {betas[0]:g}; the exercise keeps β = {beta:g} and adds resets."
    resets = list(range(every, len(kl), every))
    if not resets:
        return f"Not yet: the run has {len(kl)} steps, too few to reset every {every}; train for 100 steps as in `common`."
    if any(kl[step] != 0.0 for step in resets):
        return (f"Not yet: the KL is not 0 at steps {resets}, so the reference was not reset there. "
                f"Pass reset_reference_every={every} to train().")
    highest = max(kl[resets[-1]:])
    return (f"Correct: the recorded KL drops to exactly 0 at steps {resets} (the policy is its own reference right "
            f"after a reset) and climbs again, to {highest:.2f} nats per text in the last stretch. It measures the "
            "distance to the latest reference only, not to the model you started from.")
