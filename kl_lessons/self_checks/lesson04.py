"""Self-checks for lesson 4 (β sweeps, the frontier and best-of-n).

Each recomputes its answer with the library, returns a short message, and never raises
for a wrong answer, so a learner can try again without a traceback.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any, Callable

import torch
from scipy.optimize import minimize_scalar

from ..toy_responses import beta_sweep, exact_best_of_n_kl, make_toy_responses, toy_frontier_table
from . import _finite_answer, _shown

#: How close a reward or KL answer must be: within rounding to three decimals.
ANSWER_ATOL = 5e-4

#: The (a, β) pairs on which a learner's KL formula for a·√KL − β·KL is tried.
SQRT_GAIN_CASES = ((1.0, 0.25), (0.8, 0.1), (2.0, 0.5), (0.3, 1.5))

#: The largest n the best-of-n exercise considers.
MAX_N = 64


def _near(x: float, y: float) -> bool:
    return math.isclose(x, y, rel_tol=1e-3, abs_tol=ANSWER_ATOL)


def _kl_at(beta: float) -> float:
    """KL(π_β‖π_ref) in nats on the toy's proxy reward."""
    return float(toy_frontier_table([beta])[1][0])


def gold_optimal_beta() -> float:
    """The β whose exact optimum π_β has the highest E[gold] on the toy (lesson 4's β*)."""
    return _gold_optimal_beta()


@lru_cache(maxsize=1)  # a second or two of search; every check that needs it asks again
def _gold_optimal_beta() -> float:
    toy = make_toy_responses()
    best = minimize_scalar(lambda lb: -float(beta_sweep(toy, [10.0**lb]).gold[0]),
                           bounds=(-3.0, 1.0), method="bounded", options={"xatol": 1e-8})
    return float(10.0**best.x)


def check_beta_for_kl(beta: Any, target_kl: float = 2.0, rel_tol: float = 0.01) -> str:
    """Say whether KL(π_β‖π_ref) on the toy's proxy reward hits ``target_kl`` (nats).

    Parameters
    ----------
    beta : float
        The learner's β (reward units per nat), > 0.
    target_kl : float
        The KL budget in nats, strictly between 0 and the β → 0 limit (about 6.36 nats).
    rel_tol : float
        Accepted relative error on the KL.

    Returns
    -------
    str
        A short message: ✅ with the KL reached, or a hint: which way to move β, or the slip it looks like.
    """
    if beta is Ellipsis:
        return "❌ fill in your β first: replace the ... with a number, such as 0.1."
    b = _finite_answer(beta)
    if b is None or b <= 0:
        return f"❌ beta must be a positive, finite number (reward units per nat), got {_shown(beta)}."
    try:
        reached = _kl_at(b)
        target_kl, rel_tol = float(target_kl), float(rel_tol)
    except (TypeError, ValueError, OverflowError) as err:
        return f"❌ could not check β = {b:.4g}: {err}"

    def hits(kl: float) -> bool:
        return abs(reached - kl) <= rel_tol * kl

    if hits(target_kl):
        return f"✅ β = {b:.4g} gives KL = {reached:.4f} nats, on target ({target_kl:g} nats)."
    said = f"Not yet: β = {b:.4g} gives KL = {reached:.4f} nats, target {target_kl:g}."
    if hits(target_kl * math.log(2)):
        return f"{said} That is {target_kl:g} bits: measure the KL in nats (natural log)."
    if hits(target_kl**2):
        return f"{said} That is √KL = {target_kl:g}: the frontier's x-axis is √KL, so square it back first."
    if b > 1 and abs(_kl_at(1 / b) - target_kl) <= rel_tol * target_kl:
        return f"{said} 1/β = {1 / b:.4g} would be on target: you may have found λ = 1/β."
    if math.isclose(b, gold_optimal_beta(), rel_tol=0.01):
        return f"{said} That is β*, where gold peaks; the colleague wants a KL budget, not the gold optimum."
    # KL falls as β grows, so too much KL means β is too small.
    direction = "raise" if reached > target_kl else "lower"
    return f"{said} KL falls as β grows, so {direction} β."


def check_honest_gold(answer: Any) -> str:
    """Check the highest E[gold] (reward units) that π_β reaches when proxy = gold.

    The check rebuilds the toy with ``exclamation_bonus=0.0`` and takes E[gold] as β → 0
    (β = 1e-4), where π_β keeps only the best-scoring replies.
    """
    if answer is Ellipsis:
        return "Fill in your answer first: replace the ... with a number, such as 0.2."
    a = _finite_answer(answer)
    if a is None:
        return f"Please pass one finite number, the highest E[gold] in reward units (got {_shown(answer)})."
    honest, hacked = make_toy_responses(exclamation_bonus=0.0), make_toy_responses()
    want = float(beta_sweep(honest, [1e-4]).gold[0])
    if _near(a, want):
        return (f"Correct: E[gold] climbs all the way to {want:.3f}, the best reply's gold, as β → 0. With an "
                "honest reward model there is no hump: the smallest β wins on reward, and the penalty only "
                "keeps diversity.")
    if _near(a, float(beta_sweep(hacked, [gold_optimal_beta()]).gold[0])):
        return "Not yet: that is the peak with the hackable reward model. Rebuild the toy with exclamation_bonus=0.0."
    if _near(a, float(honest.ref_probs @ honest.gold)):
        return "Not yet: that is E[gold] under π_ref (β → ∞). Look at the other end of the sweep."
    if _near(a, float(hacked.proxy.max())):
        return "Not yet: that is the hacked proxy's best score. Here proxy = gold, so sweep the honest toy."
    if a > want:
        return "Not yet: E[gold] is an average of gold scores, so it cannot exceed the best reply's gold."
    return "Not yet: sweep β down to 0.001 or below with beta_sweep(honest, betas) and read off the largest E[gold]."


def _best_kl(a: float, beta: float) -> float:
    """The KL ≥ 0 that maximises a·√KL − β·KL, found numerically on √KL (no formula)."""
    best = minimize_scalar(lambda root: -(a * root - beta * root * root), bounds=(0.0, 10 * a / beta + 1.0),
                           method="bounded", options={"xatol": 1e-10})
    return float(best.x) ** 2


def check_sqrt_gain_kl(fn: Callable[[float, float], Any]) -> str:
    """Check ``fn(a, beta)`` → the KL (nats) that maximises a·√KL − β·KL.

    The check maximises the objective numerically for a few (a, β) and compares.
    """
    if not callable(fn):
        return f"Pass your function itself, e.g. check_sqrt_gain_kl(kl_at_optimum), not a {type(fn).__name__}."
    rows = []
    for a, beta in SQRT_GAIN_CASES:
        try:
            got = fn(a, beta)
        except Exception as err:  # noqa: BLE001 - a learner's bug should read as advice, not a traceback
            return f"Your function raised {type(err).__name__}: {err}. It takes two numbers, a and beta."
        if got is None or got is Ellipsis:
            return "Your function returned nothing yet: fill in its body so that it returns the KL."
        value = _finite_answer(got)
        if value is None:
            return f"Return one finite number, the KL in nats (for a = {a}, β = {beta} you returned {_shown(got)})."
        rows.append((a, beta, value))
    if all(math.isclose(v, _best_kl(a, b), rel_tol=1e-5) for a, b, v in rows):
        return ("Correct: KL = a²/(4β²). The optimum falls like 1/β², not like the source chapter's g/β, because "
                "the slope a/(2√KL) falls as KL grows.")
    slips = [
        (lambda a, b: a / (2 * b), "That is √KL at the optimum (where a/(2√KL) = β). Square it to get the KL."),
        (lambda a, b: a * a / (4 * b), "Close: β is squared too. Solve a/(2√KL) = β for √KL, then square."),
        (lambda a, b: a * a / (b * b), "Close, but mind the ½: the derivative of √KL is 1/(2√KL)."),
        (lambda a, b: a / b, "That is the source chapter's gain/β. Set the derivative a/(2√KL) − β to 0."),
    ]
    for formula, hint in slips:
        if all(math.isclose(v, formula(a, b), rel_tol=1e-5) for a, b, v in rows):
            return f"Not yet. {hint}"
    a, b, v = next((a, b, v) for a, b, v in rows if not math.isclose(v, _best_kl(a, b), rel_tol=1e-5))
    return (f"Not yet: for a = {a}, β = {b} you gave {v:.4g} nats; the best KL is {_best_kl(a, b):.4g}. "
            "Set the derivative a/(2√KL) − β to zero.")


def bon_match_n() -> int:
    """The n ≤ :data:`MAX_N` whose best-of-n KL is closest to KL(π_β*‖π_ref), exact on the toy."""
    return _bon_match_n()


@lru_cache(maxsize=1)
def _bon_match_n() -> int:
    toy = make_toy_responses()
    target = _kl_at(gold_optimal_beta())
    gaps = [abs(float(exact_best_of_n_kl(toy.ref_probs, toy.proxy, n)) - target) for n in range(1, MAX_N + 1)]
    return 1 + min(range(MAX_N), key=gaps.__getitem__)


def check_bon_match(n: Any) -> str:
    """Check the n whose best-of-n spends about as much KL as π_β* (lesson 4's gold-optimal β)."""
    if n is Ellipsis:
        return "Fill in your n first: replace the ... with a whole number, such as 4."
    v = _finite_answer(n)
    if v is None or v < 1 or v != int(v) or isinstance(n, bool):
        return f"n is a whole number of samples, at least 1 (got {_shown(n)})."
    k, want = int(v), bon_match_n()
    toy = make_toy_responses()
    target = _kl_at(gold_optimal_beta())
    want_kl = float(exact_best_of_n_kl(toy.ref_probs, toy.proxy, want))
    if k == want:
        return (f"Correct: best-of-{k} spends {want_kl:.3f} nats against π_β*'s {target:.3f}. "
                "Now compare their E[gold] and E[proxy].")
    if k > 10**6:
        return f"Not yet: n = {k} is far too many; the KL of best-of-n grows like log n. Try n below {MAX_N}."
    spent = float(exact_best_of_n_kl(toy.ref_probs, toy.proxy, k))
    side = "more" if spent > target else "less"
    return (f"Not yet: best-of-{k} spends {spent:.3f} nats, {side} than π_β*'s {target:.3f}. "
            "Compute exact_best_of_n_kl for each n and take the closest.")


def check_rounded_bon_kl(answer: Any, n: int = 8) -> str:
    """Check best-of-``n``'s exact KL (nats) when the proxy is rounded to one decimal."""
    if answer is Ellipsis:
        return "Fill in your answer first: replace the ... with a number of nats, such as 1.0."
    a = _finite_answer(answer)
    if a is None:
        return f"Please pass one finite number, the KL in nats (got {_shown(answer)})."
    toy = make_toy_responses()
    rounded = torch.round(toy.proxy, decimals=1)
    want = float(exact_best_of_n_kl(toy.ref_probs, rounded, n))
    if _near(a, want):
        return (f"Correct: {want:.3f} nats. Ties leave best-of-{n} unable to tell replies apart, so it moves less "
                "mass than with distinct scores.")
    if _near(a, float(exact_best_of_n_kl(toy.ref_probs, toy.proxy, n))):
        return "Not yet: that is the KL with the unrounded proxy. Round with torch.round(toy.proxy, decimals=1)."
    if _near(a, math.log(n) - (n - 1) / n):
        return "Not yet: that is the formula log n − (n − 1)/n, which assumes no ties. Use exact_best_of_n_kl."
    if _near(a, want / math.log(2)):
        return "Not yet: that is the KL in bits. The lesson measures KL in nats (natural log)."
    return f"Not yet: compute exact_best_of_n_kl(toy.ref_probs, rounded, {n}) with the rounded scores."


__all__ = [
    "bon_match_n", "check_beta_for_kl", "check_bon_match", "check_honest_gold", "check_rounded_bon_kl",
    "check_sqrt_gain_kl", "gold_optimal_beta",
]
