"""Lesson 4: a toy response space with a hackable reward model, swept over β.

One prompt ("My parcel hasn't arrived. What should I do?") and 36 candidate replies:
nine answers, each written with 0, 1, 3 or 6 exclamation marks. Every reply has

* a reference probability π_ref (the model before RLHF: plain replies are common,
  shouty ones rare),
* a *gold* reward, its true quality (a helpful answer scores high; shouting costs a
  little for every "!" after the first), and
* a *proxy* reward from a reward model that was fooled by enthusiasm: proxy = gold +
  ``exclamation_bonus``·(number of "!"). That error is what a policy can exploit.

Everything is built from the tables below, with no randomness and no downloads.

The module also gives the exact best-of-n distribution on a finite response set
(ties handled), the mirror-descent iterates π_t ∝ π_ref·exp(η·t·r), and
:func:`toy_frontier_table`, the β → equilibrium-KL table lesson 5 uses as its plant.
All KL values are in nats, summed over the whole reply.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch

from ._validate import as_probs, as_tensor, check_finite_result, count, positive
from .divergence import entropy, kl_divergence
from .optimum import tilted_policy
from .types import ArrayLike

#: The nine answers: (reply text, short label for plots, quality in reward units, relative π_ref weight).
ANSWERS: tuple[tuple[str, str, float, float], ...] = (
    ("Check the tracking link, then ask us for a replacement if it is lost", "track+replace", 0.40, 0.5),
    ("Check the tracking link in your confirmation email", "tracking", 0.30, 1.5),
    ("Wait two more working days, then contact the courier", "wait", 0.20, 1.2),
    ("Contact customer support", "support", 0.10, 2.0),
    ("Sorry to hear that", "sorry", 0.00, 1.0),
    ("Packages sometimes get lost", "lost", -0.10, 1.0),
    ("Great question", "great q", -0.15, 0.4),
    ("I don't know", "no idea", -0.20, 0.8),
    ("Have you tried turning it off and on again", "reboot", -0.40, 0.3),
)

#: How many exclamation marks a reply can end with, and how often π_ref writes each.
EXCLAMATIONS: tuple[int, ...] = (0, 1, 3, 6)
EXCLAMATION_PROBS: tuple[float, ...] = (0.60, 0.28, 0.09, 0.03)

#: The prompt every reply answers.
PROMPT = "My parcel hasn't arrived. What should I do?"


@dataclass(frozen=True)
class ToyResponses:
    """The toy's K = 36 replies and their numbers (all tensors have shape (K,), float64 unless noted).

    Attributes
    ----------
    texts : tuple of str
        The full replies.
    labels : tuple of str
        Short labels of each reply's answer (shared by its four punctuation variants).
    exclamations : torch.Tensor, int64
        Number of "!" at the end of each reply.
    ref_probs : torch.Tensor
        π_ref, sums to one.
    gold : torch.Tensor
        True quality, in reward units.
    proxy : torch.Tensor
        The reward model's score, in reward units: gold plus the exploitable error.
    """

    texts: tuple[str, ...]
    labels: tuple[str, ...]
    exclamations: torch.Tensor
    ref_probs: torch.Tensor
    gold: torch.Tensor
    proxy: torch.Tensor

    @property
    def error(self) -> torch.Tensor:
        """proxy − gold: what the reward model gets wrong, in reward units."""
        return self.proxy - self.gold

    def __len__(self) -> int:
        return len(self.texts)


def make_toy_responses(exclamation_bonus: float = 0.12, shouting_cost: float = 0.09) -> ToyResponses:
    """Build the toy response space.

    Parameters
    ----------
    exclamation_bonus : float
        How much the proxy reward model wrongly adds per "!", in reward units (≥ 0).
        Zero makes the reward model honest (proxy = gold).
    shouting_cost : float
        How much true quality drops per "!" after the first, in reward units (≥ 0).

    Returns
    -------
    ToyResponses
        36 replies, ordered answer by answer, then by number of "!".
    """
    bonus = positive(exclamation_bonus, "exclamation_bonus", allow_zero=True)
    cost = positive(shouting_cost, "shouting_cost", allow_zero=True)
    texts, labels, marks, weights, gold = [], [], [], [], []
    for text, label, quality, weight in ANSWERS:
        for k, p_k in zip(EXCLAMATIONS, EXCLAMATION_PROBS):
            texts.append(text + ("!" * k if k else "."))
            labels.append(label)
            marks.append(k)
            weights.append(weight * p_k)
            # One "!" is harmless enthusiasm; each further one reads as shouting.
            gold.append(quality - cost * max(k - 1, 0))
    w = torch.tensor(weights, dtype=torch.float64)
    k_t = torch.tensor(marks, dtype=torch.int64)
    gold_t = torch.tensor(gold, dtype=torch.float64)
    return ToyResponses(
        texts=tuple(texts), labels=tuple(labels), exclamations=k_t, ref_probs=w / w.sum(),
        gold=gold_t, proxy=gold_t + bonus * k_t.to(torch.float64),
    )


class BetaSweep(NamedTuple):
    """The exact optimum π_β, summarised at each β of a grid (every field has shape (B,), float64)."""

    betas: torch.Tensor
    proxy: torch.Tensor  #: E_{π_β}[proxy], reward units
    gold: torch.Tensor  #: E_{π_β}[gold], reward units
    kl: torch.Tensor  #: KL(π_β‖π_ref), nats
    entropy: torch.Tensor  #: H(π_β), nats


def tilted_policies(ref_probs: ArrayLike, rewards: ArrayLike, betas: ArrayLike) -> torch.Tensor:
    """π_β ∝ π_ref·exp(r/β) for every β of a grid.

    Parameters
    ----------
    ref_probs, rewards : array-like, shape (K,)
    betas : array-like, shape (B,)
        KL coefficients, each > 0.

    Returns
    -------
    torch.Tensor, shape (B, K), float64
        One policy per row.
    """
    b = _betas(betas)
    return torch.stack([tilted_policy(ref_probs, rewards, float(beta)) for beta in b])


def beta_sweep(toy: ToyResponses, betas: ArrayLike) -> BetaSweep:
    """Optimise the toy's *proxy* reward exactly at each β and score the result.

    Parameters
    ----------
    toy : ToyResponses
    betas : array-like, shape (B,)
        KL coefficients, each > 0.

    Returns
    -------
    BetaSweep
        E[proxy], E[gold], KL(π_β‖π_ref) in nats and H(π_β) in nats at each β.
    """
    if not isinstance(toy, ToyResponses):
        raise ValueError(f"toy must be a ToyResponses (see make_toy_responses), got {type(toy).__name__}")
    b = _betas(betas)
    pis = tilted_policies(toy.ref_probs, toy.proxy, b)
    return BetaSweep(
        betas=b, proxy=pis @ toy.proxy, gold=pis @ toy.gold,
        kl=kl_divergence(pis, toy.ref_probs), entropy=entropy(pis),
    )


def tilted_reward_variance(ref_probs: ArrayLike, rewards: ArrayLike, beta: float) -> torch.Tensor:
    """Var_{π_β}[r], the curvature of log Z(λ) at λ = 1/β.

    With λ = 1/β, dE_λ[r]/dλ = Var_λ[r] and dKL/dλ = λ·Var_λ[r], so this one number
    sets how fast both reward and KL move as β changes.

    Parameters
    ----------
    ref_probs, rewards : array-like, shape (K,)
        Reference probabilities and rewards of K responses.
    beta : float
        KL coefficient β > 0, in reward units per nat.

    Returns
    -------
    torch.Tensor, scalar, float64
        In squared reward units.
    """
    r = as_tensor(rewards, "rewards").to(torch.float64)
    if r.ndim != 1:
        raise ValueError(f"rewards must be 1-D (K responses), got shape {tuple(r.shape)}")
    pi = tilted_policy(ref_probs, r, beta)
    mean = pi @ r
    # (√π·(r − E r))² rather than π·(r − E r)²: a response of probability 0 adds 0, and one
    # of probability 1e-300 with a gap of 1e300 adds 1e300 instead of 0·inf = NaN.
    spread = pi.sqrt() * (r - mean)
    return check_finite_result(spread @ spread, "Var_{π_β}[r]", "the rewards are too large to square")


def best_of_n_policy(ref_probs: ArrayLike, rewards: ArrayLike, n: int, *, tie_atol: float = 0.0) -> torch.Tensor:
    """The exact distribution of best-of-n: draw n replies from π_ref, keep the highest reward.

    With F(v) = P_ref(r ≤ v) and a reward level v of reference mass p_v, the winner's
    reward is v with probability F(v)ⁿ − F(v⁻)ⁿ. Replies that tie at v share that mass
    in proportion to π_ref: whichever rule breaks the tie, it cannot see *which* tied
    reply a sample is, and each tied sample is reply y with probability π_ref(y)/p_v.

    Parameters
    ----------
    ref_probs, rewards : array-like, shape (K,)
    n : int
        Number of samples (≥ 1). n = 1 returns π_ref.
    tie_atol : float
        Neighbouring rewards (in sorted order) closer than this join one level, so a chain
        of small gaps merges into one; 0 means exact ties only.

    Returns
    -------
    torch.Tensor, shape (K,), float64
        π_bon, sums to one.
    """
    ref, r = _ref_and_rewards(ref_probs, rewards)
    n_int = count(n, "n")
    atol = positive(tie_atol, "tie_atol", allow_zero=True)
    order = torch.argsort(r, stable=True)
    r_sorted, p_sorted = r[order], ref[order]
    # Level id of each sorted reply: a new level starts wherever the reward jumps by more than atol.
    jumps = torch.cat([torch.zeros(1, dtype=torch.int64), (r_sorted.diff() > atol).to(torch.int64)])
    level = jumps.cumsum(0)
    level_mass = torch.zeros(int(level[-1]) + 1, dtype=torch.float64).index_add_(0, level, p_sorted)
    cdf = level_mass.cumsum(0).clamp_max(1.0)
    below = torch.cat([torch.zeros(1, dtype=torch.float64), cdf[:-1]])
    win = cdf**n_int - below**n_int  # P(the best of n lands on each level)
    share = torch.where(level_mass[level] > 0, p_sorted / level_mass[level], torch.zeros_like(p_sorted))
    out = torch.empty_like(ref)
    out[order] = win[level] * share
    return out / out.sum()


def exact_best_of_n_kl(ref_probs: ArrayLike, rewards: ArrayLike, n: int, *, tie_atol: float = 0.0) -> torch.Tensor:
    """KL(π_bon‖π_ref) of the exact best-of-n distribution, in nats.

    Never more than log n − (n − 1)/n (:func:`kl_lessons.best_of_n_kl`), and strictly
    less on a finite response set with n ≥ 2 (Beirami et al., 2024).

    Returns
    -------
    torch.Tensor, scalar, float64
    """
    ref = as_probs(ref_probs, "ref_probs")
    return kl_divergence(best_of_n_policy(ref, rewards, n, tie_atol=tie_atol), ref)


def mirror_descent_iterates(
    ref_probs: ArrayLike, rewards: ArrayLike, step_size: float, n_steps: int, *, kl_coef: float = 0.0
) -> torch.Tensor:
    """Exponentiated-gradient (mirror) ascent on E_π[r] − β·KL(π‖π_ref), started at π_ref.

    Each step is mirror ascent with the KL mirror map: log π_{t+1} = log π_t +
    η·(r − β·log(π_t/π_ref)) + const. With β = 0 (no penalty) the steps compound to
    π_t ∝ π_ref·exp(η·t·r), the KL-optimal policy at β = 1/(η·t): stopping after t steps
    acts as a KL penalty of that strength. With β > 0 every iterate is still a tilted
    policy, at 1/β_t = (1 − (1 − η·β)^t)/β, which climbs to 1/β and stops there.

    Parameters
    ----------
    ref_probs, rewards : array-like, shape (K,)
    step_size : float
        η > 0, in inverse reward units.
    n_steps : int
        Number of steps T ≥ 0.
    kl_coef : float
        β ≥ 0, in reward units per nat; 0 is the unpenalised run.

    Returns
    -------
    torch.Tensor, shape (T + 1, K), float64
        Row t is π_t; row 0 is π_ref.
    """
    ref, r = _ref_and_rewards(ref_probs, rewards)
    eta = positive(step_size, "step_size")
    beta = positive(kl_coef, "kl_coef", allow_zero=True)
    steps = count(n_steps, "n_steps", minimum=0)
    log_ref = torch.log(ref)
    log_pi = log_ref.clone()
    rows = [ref.clone()]
    for _ in range(steps):
        # The gradient of E[r] − β·KL is r − β·(log π − log π_ref) up to a constant;
        # renormalising in log space keeps long runs finite.
        # Replies π_ref rules out stay at probability 0 (their log-ratio is set to 0, not NaN).
        drift = torch.where(ref > 0, log_pi - log_ref, torch.zeros_like(log_pi))
        step = r - beta * drift
        log_pi = log_pi + eta * step
        log_pi = log_pi - torch.logsumexp(log_pi, dim=-1)
        rows.append(log_pi.exp())
    return torch.stack(rows)


def toy_frontier_table(betas: ArrayLike) -> tuple[torch.Tensor, torch.Tensor]:
    """The toy's β → equilibrium-KL table: KL(π_β‖π_ref) for its proxy reward.

    π_β is where a policy trained with a fixed β on the toy's (hackable) proxy reward
    settles, so this is the KL a controller sees at equilibrium (lesson 5's plant).

    Parameters
    ----------
    betas : array-like, shape (B,)
        KL coefficients, each > 0.

    Returns
    -------
    betas : torch.Tensor, shape (B,), float64
    kl : torch.Tensor, shape (B,), float64
        KL(π_β‖π_ref) in nats (per reply). It falls as β grows, from −log π_ref(y*) ≈ 6.36
        nats as β → 0 towards 0 as β → ∞.
    """
    b = _betas(betas)
    return b, beta_sweep(make_toy_responses(), b).kl


def _ref_and_rewards(ref_probs: ArrayLike, rewards: ArrayLike) -> tuple[torch.Tensor, torch.Tensor]:
    """π_ref and the rewards of the same K replies, as float64 vectors of shape (K,)."""
    ref = as_probs(ref_probs, "ref_probs")
    r = as_tensor(rewards, "rewards").to(torch.float64)
    if ref.ndim != 1 or ref.shape != r.shape:
        raise ValueError(f"ref_probs and rewards must share one shape (K,), got {tuple(ref.shape)}, {tuple(r.shape)}")
    return ref, r


def _betas(betas: ArrayLike) -> torch.Tensor:
    b = as_tensor(betas, "betas").to(torch.float64).reshape(-1)
    if bool((b <= 0).any()):
        raise ValueError("betas must all be > 0")
    return b


__all__ = [
    "ANSWERS", "EXCLAMATIONS", "EXCLAMATION_PROBS", "PROMPT", "BetaSweep", "ToyResponses",
    "beta_sweep", "best_of_n_policy", "exact_best_of_n_kl", "make_toy_responses",
    "mirror_descent_iterates", "tilted_policies", "tilted_reward_variance", "toy_frontier_table",
]
