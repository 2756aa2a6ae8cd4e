"""Lesson 7: the KL you differentiate. Five ways trainers put a KL penalty into a gradient, checked exactly.

Each *recipe* is a per-response surrogate s(y) whose autograd gradient is what a trainer
adds (times β) to its update for one sampled response y; quantities a trainer detaches
are detached here too. With lp_t = log π(y_t|y_<t), lr_t = log π_ref(y_t|y_<t),
lo_t = log π_old(y_t|y_<t) (detached; π_old = π on-policy) and ρ_t = exp(lp_t − lo_t):

* ``k1_reward_rtg``: k1 in the reward with the full return-to-go (PPO, RLOO):
  s = Σ_t ρ_t · Σ_{u≥t} (lo_u − lr_u), the k1 terms computed at sampling time;
* ``k1_reward_token``: the same, but each token only sees its own k1: s = Σ_t ρ_t (lo_t − lr_t);
* ``k2_loss``: s = Σ_t ½ (lp_t − lr_t)², differentiated directly;
* ``k3_loss``: s = Σ_t k3_t, differentiated directly (GRPO; Shao et al., 2024, with β = 0.04);
* ``k3_ratio_loss``: s = Σ_t ρ_t · k3_t with ρ_t not detached (the correction of DeepSeek-V3.2,
  TRL's ``use_bias_correction_kl``).

Responses are drawn from π on-policy and from π_old off-policy. Because every response of
a :class:`~kl_lessons.toy_sequences.SequenceSpace` can be listed, each recipe's *expected*
gradient is an exact weighted sum, compared with the exact ∇KL(π‖π_ref). All KL values are
in nats; gradients in nats per unit of logit.
"""

from __future__ import annotations

from typing import Any

import torch

from ._validate import as_tensor, count, positive, seed as as_seed
from .estimators import kl_estimate
from .toy_sequences import (
    SequenceSpace,
    check_logits,
    exact_kl_gradient,
    prefix_probs,
    random_logits,
    rewards_vector,
    sequence_probs,
    sequence_space,
)

#: Recipe names and what each one is, in the order the lesson compares them.
RECIPES: dict[str, str] = {
    "k1_reward_rtg": "k1 in the reward, full return-to-go (PPO, RLOO)",
    "k1_reward_token": "k1 in the reward, own token only",
    "k2_loss": "k2 in the loss, per token",
    "k3_loss": "k3 in the loss, per token (GRPO)",
    "k3_ratio_loss": "ratio × k3 in the loss (DeepSeek-V3.2)",
}


def check_recipe(recipe: str) -> str:
    """Return ``recipe`` if it is one of :data:`RECIPES`, else raise ``ValueError``."""
    if not isinstance(recipe, str) or recipe not in RECIPES:
        raise ValueError(f"recipe must be one of {tuple(RECIPES)}, got {recipe!r}")
    return recipe


def _tables(logits: Any, ref_logits: Any, old_logits: Any, space: SequenceSpace):
    theta = check_logits(logits, space).detach()
    ref = check_logits(ref_logits, space, "ref_logits").detach()
    old = None if old_logits is None else check_logits(old_logits, space, "old_logits").detach()
    return theta, ref, old


def _surrogates(lp: torch.Tensor, lo: torch.Tensor, lr: torch.Tensor, recipe: str) -> torch.Tensor:
    """Per-response surrogate s(y), shape (N,), from (N, T) log-probabilities (lp carries the gradient)."""
    ratio = torch.exp(lp - lo)
    if recipe == "k1_reward_rtg":
        k1_old = lo - lr
        to_go = k1_old.flip(-1).cumsum(-1).flip(-1)  # Σ_{u ≥ t} k1_u, a number to the policy gradient
        return (ratio * to_go).sum(-1)
    if recipe == "k1_reward_token":
        return (ratio * (lo - lr)).sum(-1)
    if recipe == "k2_loss":
        return kl_estimate(lp, lr, "k2").sum(-1)
    k3 = kl_estimate(lp, lr, "k3")
    return (k3 if recipe == "k3_loss" else ratio * k3).sum(-1)


def _response_gradients(theta, ref, old, space: SequenceSpace, recipe: str) -> torch.Tensor:
    # One copy of the logits table per response, so one backward pass gives every response's own gradient.
    copies = theta.expand(space.num_sequences, *space.logits_shape).clone().requires_grad_(True)
    rows = torch.arange(space.num_sequences).unsqueeze(-1)
    lp = torch.log_softmax(copies, -1)[rows, space.prefix_index, space.sequences]
    pick = lambda table: torch.log_softmax(table, -1)[space.prefix_index, space.sequences]  # noqa: E731
    lo = lp.detach() if old is None else pick(old)
    (grads,) = torch.autograd.grad(_surrogates(lp, lo, pick(ref), recipe).sum(), copies)
    return grads


def response_gradients(
    logits: Any, ref_logits: Any, space: SequenceSpace, recipe: str, old_logits: Any = None
) -> torch.Tensor:
    """The gradient one sampled response contributes under ``recipe``, for every response.

    Parameters
    ----------
    logits, ref_logits : tensor, shape (P, V)
        The current policy π and the reference π_ref.
    space : SequenceSpace
    recipe : str
        One of :data:`RECIPES`.
    old_logits : tensor, shape (P, V), optional
        The policy π_old that sampled the responses (off-policy). ``None``: on-policy.

    Returns
    -------
    torch.Tensor, shape (N, P, V), float64
        Row n is ∇ s(y_n) in nats per unit of logit.
    """
    check_recipe(recipe)
    return _response_gradients(*_tables(logits, ref_logits, old_logits, space), space, recipe)


def sampling_probs(logits: Any, space: SequenceSpace, old_logits: Any = None) -> torch.Tensor:
    """Probability of each response under the sampling policy (π_old if given, else π), shape (N,).

    Public API: the μ that :func:`expected_gradient` and :func:`sampled_gradients` average over.
    """
    theta = check_logits(logits, space).detach()  # checked even when π_old samples: it is still an argument
    sampler = theta if old_logits is None else check_logits(old_logits, space, "old_logits").detach()
    return sequence_probs(sampler, space)


def expected_gradient(
    logits: Any, ref_logits: Any, space: SequenceSpace, recipe: str, old_logits: Any = None
) -> torch.Tensor:
    """A recipe's expected gradient, Σ_y μ(y)·∇s(y) over all responses, μ the sampling policy.

    It is what infinitely many samples average to. Shape (P, V), nats per unit of logit.
    """
    grads = response_gradients(logits, ref_logits, space, recipe, old_logits)
    return torch.einsum("n,npv->pv", sampling_probs(logits, space, old_logits), grads)


def gradient_variance(
    logits: Any, ref_logits: Any, space: SequenceSpace, recipe: str, old_logits: Any = None
) -> float:
    """Exact per-sample variance of a recipe's gradient, E‖g − E g‖² summed over all logits (nats² per logit²)."""
    grads = response_gradients(logits, ref_logits, space, recipe, old_logits)
    mu = sampling_probs(logits, space, old_logits)
    mean = torch.einsum("n,npv->pv", mu, grads)
    return float(mu @ (grads - mean).square().sum((-2, -1)))


def sample_responses(probs: torch.Tensor, n: int, seed: int = 0) -> torch.Tensor:
    """Draw ``n`` response indices from ``probs`` by inverse CDF with a private float64 generator.

    The same seed gives the same draws on any CPU and thread count. Public API: the sampler behind
    :func:`sampled_gradients`, for drawing a batch of the toy's responses yourself.
    """
    n = count(n, "n", maximum=10**8)
    p = as_tensor(probs, "probs").detach().to(torch.float64)
    if p.ndim != 1 or bool((p < 0).any()) or float(p.sum()) <= 0:
        raise ValueError("probs must be a vector of non-negative weights with a positive sum")
    gen = torch.Generator().manual_seed(as_seed(seed))
    u = torch.rand(n, generator=gen, dtype=torch.float64)
    cdf = p.cumsum(0)
    return torch.searchsorted(cdf, u * cdf[-1]).clamp_max(p.numel() - 1)


def sampled_gradients(
    logits: Any, ref_logits: Any, space: SequenceSpace, recipe: str, n: int, *, old_logits: Any = None, seed: int = 0
) -> torch.Tensor:
    """Per-sample gradients of ``n`` responses drawn from the sampling policy, shape (n, P, V)."""
    grads = response_gradients(logits, ref_logits, space, recipe, old_logits)
    return grads[sample_responses(sampling_probs(logits, space, old_logits), n, seed)]


def bias_metrics(estimate: torch.Tensor, exact: torch.Tensor) -> dict[str, float]:
    """Relative error ‖estimate − exact‖/‖exact‖ and cosine similarity of two gradients."""
    e = as_tensor(estimate, "estimate").detach().to(torch.float64).flatten()
    x = as_tensor(exact, "exact").detach().to(torch.float64).flatten()
    if e.shape != x.shape:
        raise ValueError(f"estimate has {e.numel()} entries but exact has {x.numel()}")
    norm = float(x.norm())
    if norm == 0.0:
        raise ValueError("exact is the zero gradient: relative error and cosine are undefined")
    return {"rel_error": float((e - x).norm()) / norm, "cosine": float(e @ x) / (float(e.norm()) * norm or 1.0)}



def off_policy_winners(
    length: int, n_toys: int, *, vocab_size: int = 3, old_scale: float = 0.5, seed: int = 0
) -> dict[str, int]:
    """How often each recipe is the least biased off-policy, over ``n_toys`` random toys.

    Toy i: π_ref has N(0, 1) logits, π = π_ref + N(0, 1) and π_old = π + N(0, ``old_scale``²), in
    the logits (seeds ``seed + 3i``, ``+ 1``, ``+ 2``). A recipe wins a toy when its expected
    gradient over responses from π_old has the smallest relative error against the exact
    ∇KL(π‖π_ref) (:func:`bias_metrics`). Returns recipe → number of toys won, in
    :data:`RECIPES` order; the counts add up to ``n_toys``.
    """
    n, scale, base = count(n_toys, "n_toys"), positive(old_scale, "old_scale"), as_seed(seed)
    as_seed(base + 3 * n, "seed")  # the last toy's seeds must be valid too
    space = sequence_space(vocab_size, length)
    wins = dict.fromkeys(RECIPES, 0)
    for i in range(n):
        ref = random_logits(space, 1.0, seed=base + 3 * i)
        theta = ref + random_logits(space, 1.0, seed=base + 3 * i + 1)
        old = theta + random_logits(space, scale, seed=base + 3 * i + 2)
        exact = exact_kl_gradient(theta, ref, space)
        errors = {r: bias_metrics(expected_gradient(theta, ref, space, r, old), exact)["rel_error"] for r in RECIPES}
        wins[min(errors, key=errors.__getitem__)] += 1
    return wins

# --------------------------------------------------------------------------- closed forms
def _rowwise(logits: Any, ref_logits: Any, space: SequenceSpace, weights_logits: Any, reverse: bool) -> torch.Tensor:
    theta = check_logits(logits, space).detach()
    ref = check_logits(ref_logits, space, "ref_logits").detach()
    weights = prefix_probs(theta if weights_logits is None else check_logits(weights_logits, space, "weights_logits"), space)
    p, logp, logq = torch.softmax(theta, -1), torch.log_softmax(theta, -1), torch.log_softmax(ref, -1)
    if reverse:  # ∇ of KL(p‖q) in p's logits: p ⊙ (log p − log q − KL)
        ell = logp - logq
        rows = p * (ell - (p * ell).sum(-1, keepdim=True))
    else:  # ∇ of KL(q‖p) in p's logits: p − q
        rows = p - logq.exp()
    return weights.detach().unsqueeze(-1) * rows


def local_kl_gradient(logits: Any, ref_logits: Any, space: SequenceSpace, weights_logits: Any = None) -> torch.Tensor:
    """Σ_h w(h)·∇_h KL(π(·|h)‖π_ref(·|h)): every prefix's own KL, the prefix weights held fixed.

    w(h) is the probability of reaching prefix h under ``weights_logits`` (default: π itself).
    This is the "partial gradient" of Tang & Munos (2025): it misses how a token changes which
    later prefixes are reached, and so the KL still to come.
    """
    return _rowwise(logits, ref_logits, space, weights_logits, reverse=True)


def local_forward_kl_gradient(
    logits: Any, ref_logits: Any, space: SequenceSpace, weights_logits: Any = None
) -> torch.Tensor:
    """Σ_h w(h)·(π(·|h) − π_ref(·|h)): each prefix's ∇KL(π_ref(·|h)‖π(·|h)), weighted by w(h).

    With w from π_ref it is the exact ∇KL(π_ref‖π) of the whole response; with w from π it is
    what per-token k3 in the loss follows on average.
    """
    return _rowwise(logits, ref_logits, space, weights_logits, reverse=False)


def follow_recipe(
    ref_logits: Any,
    space: SequenceSpace,
    rewards: Any,
    beta: float,
    recipe: str,
    *,
    steps: int = 200,
    lr: float = 3.0,
) -> torch.Tensor:
    """Train from π = π_ref along ∇E[r] − β·(the recipe's on-policy expected gradient); return the logits.

    Each prefix's row moves by its gradient divided by the probability of reaching that prefix,
    so rarely visited prefixes converge as fast as common ones. That changes the path, not where
    the update is zero, so the end point is the recipe's fixed point.
    """
    check_recipe(recipe)
    r, b, rate = rewards_vector(rewards, space), positive(beta, "beta"), positive(lr, "lr")
    steps = count(steps, "steps", maximum=10**6)
    ref = check_logits(ref_logits, space, "ref_logits").detach()
    pick = lambda table: torch.log_softmax(table, -1)[space.prefix_index, space.sequences]  # noqa: E731
    lr_tokens = pick(ref)
    theta = ref.clone()
    for _ in range(steps):
        live = theta.clone().requires_grad_(True)
        lp = pick(live)
        probs = lp.sum(-1).exp()
        # One backward pass: β·Σ_y sg(π(y))·s(y) − Σ_y π(y)·r(y) gives β·E[g] − ∇E[r] (the sampling is not differentiated).
        objective = b * (probs.detach() * _surrogates(lp, lp.detach(), lr_tokens, recipe)).sum() - probs @ r
        (grad,) = torch.autograd.grad(objective, live)
        theta = theta - rate * grad / prefix_probs(theta, space).clamp_min(1e-12).unsqueeze(-1)
    return theta


__all__ = [
    "RECIPES",
    "bias_metrics",
    "check_recipe",
    "exact_kl_gradient",
    "expected_gradient",
    "follow_recipe",
    "gradient_variance",
    "local_forward_kl_gradient",
    "local_kl_gradient",
    "off_policy_winners",
    "response_gradients",
    "sample_responses",
    "sampled_gradients",
    "sampling_probs",
]
