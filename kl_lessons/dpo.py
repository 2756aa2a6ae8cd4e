"""Lesson 8: DPO's β is the same β. Direct Preference Optimization on lesson 4's toy, exactly.

Preferences come from a Bradley–Terry model with reward r: of two responses i and j,
i is preferred with probability σ(r_i − r_j). DPO (Rafailov et al., 2023, eq. 7) fits a
policy π to such pairs by minimising, over pairs (y_w preferred to y_l),

    ℓ(y_w, y_l) = −log σ(β·[h(y_w) − h(y_l)]),   h(y) = log π(y) − log π_ref(y).

The policy here is tabular: one logit θ_y per response of a finite set, π = softmax(θ).
Only differences h(y_w) − h(y_l) = (θ_w − θ_l) − (log π_ref(y_w) − log π_ref(y_l)) enter,
so the loss does not depend on the normaliser and is convex in θ.

A batch of pairs is summarised by a *pair-weight matrix* W, with W[i, j] the share of
pairs in which i was chosen over j; the loss is Σ_ij W[i, j]·ℓ(i, j). Drawing both
responses from π_ref and labelling them by Bradley–Terry gives, in expectation,
W[i, j] = 2·π_ref(i)·π_ref(j)·σ(r_i − r_j) (:func:`exact_pair_weights`), and the loss
is then minimised exactly by lesson 4's π_β ∝ π_ref·exp(r/β): every pair's predicted
preference σ(β·[h_i − h_j]) equals the true one σ(r_i − r_j). Its implicit reward
β·log(π/π_ref) is r up to a constant.

All tensors are float64; rewards are in reward units, β in reward units per nat.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
import torch.nn.functional as F

from ._validate import as_probs, as_tensor, count, positive, same_shape, seed as check_seed
from .types import ArrayLike

F64 = torch.float64


class PreferencePairs(NamedTuple):
    """Sampled preference pairs: response ``chosen[n]`` was preferred to ``rejected[n]`` (int64, shape (N,))."""

    chosen: torch.Tensor
    rejected: torch.Tensor


class DPOTrajectory(NamedTuple):
    """The iterates of :func:`dpo_descent` (float64)."""

    logits: torch.Tensor  #: θ after each step, shape (steps + 1, K), row 0 the start, each row with logsumexp 0
    loss: torch.Tensor  #: the weighted DPO loss at each row, shape (steps + 1,), nats per pair
    lr: float  #: the step size used


class DPOFit(NamedTuple):
    """The result of :func:`fit_dpo`."""

    logits: torch.Tensor  #: θ, shape (K,), float64, shifted so that logsumexp θ = 0 (θ = log π)
    policy: torch.Tensor  #: π = softmax(θ), shape (K,), float64
    loss: float  #: the weighted DPO loss at the fit, nats per pair
    grad_norm: float  #: largest |∂loss/∂θ| at the fit
    iterations: int  #: Newton steps taken


# ----------------------------------------------------------------------------- inputs
def _ref(ref_probs: ArrayLike) -> torch.Tensor:
    ref = as_probs(ref_probs, "ref_probs")
    if ref.ndim != 1:
        raise ValueError(f"ref_probs must be 1-D (K responses), got shape {tuple(ref.shape)}")
    if bool((ref <= 0).any()):
        raise ValueError("ref_probs must be > 0 for every response (DPO divides by π_ref)")
    return ref


def _vector(x: Any, name: str, k: int) -> torch.Tensor:
    t = as_tensor(x, name).to(F64)
    if tuple(t.shape) != (k,):
        raise ValueError(f"{name} must have shape ({k},) like ref_probs, got {tuple(t.shape)}")
    return t


def _indices(x: Any, name: str, k: int) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        t = as_tensor(x, name)
    elif x.is_floating_point() or x.is_complex() or x.dtype == torch.bool:
        raise ValueError(f"{name} must be an integer tensor of response indices, got {x.dtype}")
    else:
        t = x
    if t.ndim != 1 or t.numel() == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence of response indices, got shape {tuple(t.shape)}")
    if t.is_floating_point():
        if not bool((t == t.round()).all()):
            raise ValueError(f"{name} must hold whole numbers (response indices)")
    idx = t.detach().to(torch.int64)
    if bool(((idx < 0) | (idx >= k)).any()):
        raise ValueError(f"{name} must hold response indices in [0, {k - 1}]")
    return idx


def _weights(pair_weights: Any, k: int) -> torch.Tensor:
    w = as_tensor(pair_weights, "pair_weights").detach().to(F64)
    if tuple(w.shape) != (k, k):
        raise ValueError(f"pair_weights must have shape ({k}, {k}), got {tuple(w.shape)}")
    if bool((w < 0).any()):
        raise ValueError("pair_weights must be >= 0")
    if float(w.sum()) <= 0:
        raise ValueError("pair_weights must have a positive sum (at least one pair)")
    return w


# ----------------------------------------------------------------------------- preferences
def bradley_terry_matrix(rewards: ArrayLike) -> torch.Tensor:
    """P[i, j] = σ(r_i − r_j), the Bradley–Terry probability that response i is preferred to j.

    Parameters
    ----------
    rewards : array-like, shape (K,)
        Reward of each response, in reward units.

    Returns
    -------
    torch.Tensor, shape (K, K), float64
        P + Pᵀ = 1 and the diagonal is ½.
    """
    r = as_tensor(rewards, "rewards").detach().to(F64)
    if r.ndim != 1:
        raise ValueError(f"rewards must be 1-D (K responses), got shape {tuple(r.shape)}")
    return torch.sigmoid(r[:, None] - r[None, :])


def sample_preference_pairs(ref_probs: ArrayLike, rewards: ArrayLike, n_pairs: int, seed: int = 0) -> PreferencePairs:
    """Draw ``n_pairs`` preference pairs: two responses from π_ref, the winner by Bradley–Terry.

    Both responses of a pair are drawn independently from π_ref (so a pair may repeat a
    response; such a pair carries no information and no gradient), and the first wins
    with probability σ(r_first − r_second).

    Parameters
    ----------
    ref_probs : array-like, shape (K,)
        π_ref, every entry > 0.
    rewards : array-like, shape (K,)
        The reward behind the labels, in reward units.
    n_pairs : int
        Number of pairs N ≥ 1.
    seed : int
        Seed of the ``torch.Generator`` that draws responses and labels.

    Returns
    -------
    PreferencePairs
        ``chosen`` and ``rejected`` response indices, int64, shape (N,).
    """
    ref = _ref(ref_probs)
    r = _vector(rewards, "rewards", ref.numel()).detach()
    n = count(n_pairs, "n_pairs", maximum=10**8)
    gen = torch.Generator().manual_seed(check_seed(seed))
    draws = torch.multinomial(ref, 2 * n, replacement=True, generator=gen).reshape(n, 2)
    first, second = draws[:, 0], draws[:, 1]
    first_wins = torch.rand(n, generator=gen, dtype=F64) < torch.sigmoid(r[first] - r[second])
    return PreferencePairs(torch.where(first_wins, first, second), torch.where(first_wins, second, first))


def empirical_pair_weights(chosen: Any, rejected: Any, num_responses: int) -> torch.Tensor:
    """The pair-weight matrix of sampled pairs: W[i, j] = (number of pairs with i chosen over j) / N.

    Parameters
    ----------
    chosen, rejected : int tensor or sequence, shape (N,)
        Response indices in [0, K).
    num_responses : int
        K.

    Returns
    -------
    torch.Tensor, shape (K, K), float64
        Sums to one.
    """
    k = count(num_responses, "num_responses", minimum=1, maximum=10**4)
    w_idx, l_idx = _indices(chosen, "chosen", k), _indices(rejected, "rejected", k)
    same_shape(w_idx, l_idx, "chosen", "rejected")
    counts = torch.zeros(k * k, dtype=F64).index_add_(0, w_idx * k + l_idx, torch.ones(w_idx.numel(), dtype=F64))
    return counts.reshape(k, k) / w_idx.numel()


def exact_pair_weights(ref_probs: ArrayLike, rewards: ArrayLike) -> torch.Tensor:
    """The expected pair-weight matrix of :func:`sample_preference_pairs`.

    W[i, j] = 2·π_ref(i)·π_ref(j)·σ(r_i − r_j).
    A pair ends with i chosen over j if it was drawn as (i, j) and the first won, or as
    (j, i) and the second won; both have probability π_ref(i)·π_ref(j)·σ(r_i − r_j).

    Returns
    -------
    torch.Tensor, shape (K, K), float64
        Sums to one.
    """
    ref = _ref(ref_probs)
    r = _vector(rewards, "rewards", ref.numel())
    return 2.0 * ref[:, None] * ref[None, :] * bradley_terry_matrix(r)


# ----------------------------------------------------------------------------- the loss
def _margins(logits: torch.Tensor, log_ref: torch.Tensor, beta: float) -> torch.Tensor:
    """z[i, j] = β·(h_i − h_j), h = θ − log π_ref."""
    h = logits - log_ref
    return beta * (h[:, None] - h[None, :])


def _setup(logits: Any, ref_probs: ArrayLike, beta: float) -> tuple[torch.Tensor, torch.Tensor, float]:
    ref = _ref(ref_probs)
    theta = as_tensor(logits, "logits")
    if theta.dtype != F64:
        theta = theta.to(F64)
    if tuple(theta.shape) != tuple(ref.shape):
        raise ValueError(f"logits must have shape {tuple(ref.shape)} like ref_probs, got {tuple(theta.shape)}")
    return theta, ref.log(), positive(beta, "beta")


def dpo_loss(logits: Any, ref_probs: ArrayLike, chosen: Any, rejected: Any, beta: float) -> torch.Tensor:
    """The DPO loss (Rafailov et al., 2023, eq. 7) of a tabular policy on sampled pairs, averaged over pairs.

    Parameters
    ----------
    logits : array-like, shape (K,)
        θ, the policy's logits (π = softmax θ); a tensor that requires grad stays differentiable.
    ref_probs : array-like, shape (K,)
        π_ref, every entry > 0.
    chosen, rejected : int tensor or sequence, shape (N,)
        The preferred and the dispreferred response of each pair.
    beta : float
        β > 0, reward units per nat.

    Returns
    -------
    torch.Tensor, scalar, float64
        mean over pairs of −log σ(β·[h(chosen) − h(rejected)]), in nats.
    """
    theta, log_ref, b = _setup(logits, ref_probs, beta)
    k = theta.numel()
    w_idx, l_idx = _indices(chosen, "chosen", k), _indices(rejected, "rejected", k)
    same_shape(w_idx, l_idx, "chosen", "rejected")
    h = theta - log_ref
    return F.softplus(-b * (h[w_idx] - h[l_idx])).mean()


def weighted_dpo_loss(logits: Any, ref_probs: ArrayLike, pair_weights: Any, beta: float) -> torch.Tensor:
    """Σ_ij W[i, j]·(−log σ(β·[h_i − h_j])): the DPO loss of a pair-weight matrix.

    With :func:`empirical_pair_weights` it equals :func:`dpo_loss` on those pairs; with
    :func:`exact_pair_weights` it is the loss's exact expectation (see :func:`expected_dpo_loss`).

    Returns
    -------
    torch.Tensor, scalar, float64
        In nats per pair.
    """
    theta, log_ref, b = _setup(logits, ref_probs, beta)
    w = _weights(pair_weights, theta.numel())
    return (w * F.softplus(-_margins(theta, log_ref, b))).sum()


def expected_dpo_loss(logits: Any, ref_probs: ArrayLike, rewards: ArrayLike, beta: float) -> torch.Tensor:
    """The exact expectation of :func:`dpo_loss` per pair when pairs come from :func:`sample_preference_pairs`.

    Returns
    -------
    torch.Tensor, scalar, float64
        In nats per pair; its minimum over the logits is reached at π_β ∝ π_ref·exp(r/β).
    """
    return weighted_dpo_loss(logits, ref_probs, exact_pair_weights(ref_probs, rewards), beta)


def dpo_loss_gradient(logits: Any, ref_probs: ArrayLike, pair_weights: Any, beta: float) -> torch.Tensor:
    """∂/∂θ of :func:`weighted_dpo_loss`, in closed form.

    With z_ij = β·(h_i − h_j) and ∂[−log σ(z)]/∂z = −σ(−z):
    ∂loss/∂θ_k = β·Σ_j [W[j, k]·σ(−z_jk) − W[k, j]·σ(−z_kj)]. The entries sum to zero
    (adding a constant to every logit changes nothing).

    Returns
    -------
    torch.Tensor, shape (K,), float64
    """
    theta, log_ref, b = _setup(logits, ref_probs, beta)
    w = _weights(pair_weights, theta.numel())
    pull = w * torch.sigmoid(-_margins(theta.detach(), log_ref, b))  # pull[i, j]: how hard pair (i ≻ j) pulls
    return b * (pull.sum(0) - pull.sum(1))


# ----------------------------------------------------------------------------- the fit
def _loss_grad_hess(theta: torch.Tensor, log_ref: torch.Tensor, w: torch.Tensor,
                    beta: float) -> tuple[float, torch.Tensor, torch.Tensor]:
    """The weighted loss, its gradient and its Hessian in θ, in closed form."""
    z = _margins(theta, log_ref, beta)
    loss = float((w * F.softplus(-z)).sum())
    pull = w * torch.sigmoid(-z)
    grad = beta * (pull.sum(0) - pull.sum(1))
    c = w * torch.sigmoid(z) * torch.sigmoid(-z)
    c = c + c.T  # the curvature of pair {i, j}, from both orderings
    hess = beta * beta * (torch.diag(c.sum(1)) - c)
    return loss, grad, hess


def _newton_step(hess: torch.Tensor, grad: torch.Tensor, beta: float) -> torch.Tensor:
    """A regularised Newton step Δ, with Σ Δ = 0.

    In reward units (u = β·Δ, H̃ = H/β², g̃ = ∇/β, both free of β) it solves
    (H̃ + 11ᵀ/K + μ·I)·u = −g̃ with μ = √max|g̃|: the 11ᵀ/K fixes the free shift (g̃ and u
    are orthogonal to 1) and μ keeps the step finite where pairs have saturated (σ' ≈ 0
    makes H̃ nearly singular far from the optimum). μ → 0 as the gradient does, so the
    last steps are plain Newton steps and converge quadratically.
    """
    k = grad.numel()
    g = grad / beta
    mu = float(g.abs().max())
    system = hess / (beta * beta) + 1.0 / k + mu * torch.eye(k, dtype=F64)
    chol, info = torch.linalg.cholesky_ex(system)
    if int(info) == 0:
        return torch.cholesky_solve(-g[:, None], chol)[:, 0] / beta
    return torch.linalg.lstsq(hess, -grad[:, None], driver="gelsd").solution[:, 0]


def fit_dpo(
    ref_probs: ArrayLike,
    pair_weights: Any,
    beta: float,
    *,
    init_logits: Any = None,
    max_iter: int = 100,
    tolerance: float = 1e-13,
) -> DPOFit:
    """Minimise :func:`weighted_dpo_loss` over the logits of a tabular policy.

    The loss is convex in θ (a logistic loss of differences of logits) with the exact
    Hessian H = β²·Σ_ij W_ij·σ'(z_ij)·(e_i − e_j)(e_i − e_j)ᵀ, so a regularised Newton
    method with a backtracking line search reaches its minimum to rounding in a handful of
    steps (see :func:`_newton_step`). H·1 = 0 (a common shift of the logits changes
    nothing), and no step moves along that shift. A response that appears in no pair keeps
    its starting logit.

    Parameters
    ----------
    ref_probs : array-like, shape (K,)
        π_ref, every entry > 0.
    pair_weights : array-like, shape (K, K)
        W ≥ 0 (:func:`exact_pair_weights` or :func:`empirical_pair_weights`).
    beta : float
        β > 0.
    init_logits : array-like, shape (K,), optional
        Starting θ; by default log π_ref (DPO starts from the reference).
    max_iter : int
        Most Newton steps.
    tolerance : float
        Stop when every |∂loss/∂θ|/β is below this (> 0). Divided by β, the gradient is a
        difference of pair weights, so one tolerance suits every β.

    Returns
    -------
    DPOFit
    """
    ref = _ref(ref_probs)
    k = ref.numel()
    w = _weights(pair_weights, k)
    b = positive(beta, "beta")
    iters = count(max_iter, "max_iter", maximum=10**6)
    tol = positive(tolerance, "tolerance")
    log_ref = ref.log()
    theta = log_ref.clone() if init_logits is None else _vector(init_logits, "init_logits", k).detach().clone()
    loss, grad, hess = _loss_grad_hess(theta, log_ref, w, b)
    done = 0
    while done < iters and float(grad.abs().max()) >= tol * b:
        step = _newton_step(hess, grad, b)
        slope = float(grad @ step)  # < 0 for a descent direction
        t = 1.0
        while True:  # Armijo backtracking: convexity guarantees a step that lowers the loss
            candidate = theta + t * step
            new = float((w * F.softplus(-_margins(candidate, log_ref, b))).sum())
            if new <= loss + 1e-4 * t * slope or t < 1e-10:
                break
            t *= 0.5
        done += 1
        if not new < loss and t < 1e-10:
            break  # at rounding level: no step lowers the loss any more
        theta = candidate
        loss, grad, hess = _loss_grad_hess(theta, log_ref, w, b)
    final = theta - torch.logsumexp(theta, 0)
    return DPOFit(logits=final, policy=final.exp(), loss=loss, grad_norm=float(grad.abs().max()), iterations=done)


def smoothness_bound(pair_weights: Any, beta: float) -> float:
    """L with ∇²loss ≼ L·I for every θ: β²/4 times the largest eigenvalue of the pair-weight Laplacian.

    σ' ≤ ¼, so H ≼ (β²/4)·Σ_ij W_ij (e_i − e_j)(e_i − e_j)ᵀ; gradient descent with step 1/L then never
    increases the loss.
    """
    w = as_tensor(pair_weights, "pair_weights").detach().to(F64)
    if w.ndim != 2 or w.shape[0] != w.shape[1]:
        raise ValueError(f"pair_weights must be a square (K, K) matrix, got shape {tuple(w.shape)}")
    w = _weights(w, w.shape[0])
    b = positive(beta, "beta")
    sym = w + w.T
    laplacian = torch.diag(sym.sum(1)) - sym
    return float(b * b / 4.0 * torch.linalg.eigvalsh(laplacian)[-1])


def dpo_descent(
    ref_probs: ArrayLike,
    pair_weights: Any,
    beta: float,
    steps: int,
    *,
    lr: float | None = None,
    init_logits: Any = None,
) -> DPOTrajectory:
    """Plain gradient descent on :func:`weighted_dpo_loss`, every iterate kept (for plotting a DPO run).

    Parameters
    ----------
    ref_probs : array-like, shape (K,)
        π_ref, every entry > 0.
    pair_weights : array-like, shape (K, K)
        W ≥ 0.
    beta : float
        β > 0.
    steps : int
        Number of steps (≥ 1).
    lr : float, optional
        Step size > 0; by default 1 / :func:`smoothness_bound`, with which the loss never increases.
    init_logits : array-like, shape (K,), optional
        Starting θ; by default log π_ref.

    Returns
    -------
    DPOTrajectory
    """
    ref = _ref(ref_probs)
    k = ref.numel()
    w = _weights(pair_weights, k)
    b = positive(beta, "beta")
    n = count(steps, "steps", maximum=10**6)
    step = 1.0 / smoothness_bound(w, b) if lr is None else positive(lr, "lr")
    log_ref = ref.log()
    theta = log_ref.clone() if init_logits is None else _vector(init_logits, "init_logits", k).detach().clone()
    rows = torch.empty(n + 1, k, dtype=F64)
    losses = torch.empty(n + 1, dtype=F64)
    for t in range(n + 1):
        loss, grad, _ = _loss_grad_hess(theta, log_ref, w, b)
        rows[t], losses[t] = theta - torch.logsumexp(theta, 0), loss
        theta = theta - step * grad
    return DPOTrajectory(logits=rows, loss=losses, lr=step)


# ----------------------------------------------------------------------------- reading the fit
def implicit_reward(policy: ArrayLike, ref_probs: ArrayLike, beta: float) -> torch.Tensor:
    """DPO's implicit reward β·log(π(y)/π_ref(y)), in reward units.

    For π = π_β it equals r − β·log Z(β): the reward up to one constant.

    Parameters
    ----------
    policy : array-like, shape (K,)
        π, a probability vector; a response with π = 0 gets −inf.
    ref_probs : array-like, shape (K,)
        π_ref, every entry > 0.
    beta : float
        β > 0.

    Returns
    -------
    torch.Tensor, shape (K,), float64
    """
    ref = _ref(ref_probs)
    pi = as_probs(policy, "policy")
    if tuple(pi.shape) != tuple(ref.shape):
        raise ValueError(f"policy must have shape {tuple(ref.shape)} like ref_probs, got {tuple(pi.shape)}")
    return positive(beta, "beta") * (pi.log() - ref.log())


def dpo_hessian(ref_probs: ArrayLike, rewards: ArrayLike, beta: float) -> torch.Tensor:
    """The Hessian of :func:`expected_dpo_loss` in θ at its minimum π_β (the Fisher information of one pair).

    H = β²·Σ_ij π_ref(i)·π_ref(j)·σ'(r_i − r_j)·(e_i − e_j)(e_i − e_j)ᵀ, with σ' = σ(1 − σ).
    The curvature of a pair does not depend on its label, and at π_β the margin
    β·(h_i − h_j) is r_i − r_j. H·1 = 0: the common shift of the logits is free.

    Returns
    -------
    torch.Tensor, shape (K, K), float64
    """
    ref = _ref(ref_probs)
    r = _vector(rewards, "rewards", ref.numel()).detach()
    b = positive(beta, "beta")
    p = bradley_terry_matrix(r)
    c = ref[:, None] * ref[None, :] * p * (1 - p)  # symmetric, one entry per ordered draw (i, j)
    # Σ_ij c_ij (e_i − e_j)(e_i − e_j)ᵀ = 2·(diag(c·1) − c) for symmetric c.
    return 2.0 * b * b * (torch.diag(c.sum(1)) - c)


def dpo_reward_std(ref_probs: ArrayLike, rewards: ArrayLike, n_pairs: int) -> torch.Tensor:
    """The large-N standard deviation of each implicit reward fitted by DPO on ``n_pairs`` sampled pairs.

    The implicit reward r̂ = β·log(π̂/π_ref) is defined up to a constant; it is compared
    here after centring under π_ref (r̂ − Σ_y π_ref(y)·r̂(y), the same for r). It does not
    depend on β: the fit's β·(θ̂_i − θ̂_j) is the maximum-likelihood estimate of r_i − r_j
    of the Bradley–Terry model itself, whose Fisher information per pair is
    H/β² (:func:`dpo_hessian`). With P = I − 1·π_refᵀ (the centring),
    Cov(r̂) ≈ P·(H/β²)⁺·Pᵀ / N.

    Returns
    -------
    torch.Tensor, shape (K,), float64
        One standard deviation per response, in reward units.
    """
    ref = _ref(ref_probs)
    r = _vector(rewards, "rewards", ref.numel()).detach()
    n = count(n_pairs, "n_pairs", maximum=10**12)
    centre = torch.eye(ref.numel(), dtype=F64) - ref[None, :]
    cov = centre @ torch.linalg.pinv(dpo_hessian(ref, r, 1.0), hermitian=True) @ centre.T / n
    return cov.diagonal().clamp_min(0.0).sqrt()


def dpo_policy_std(ref_probs: ArrayLike, rewards: ArrayLike, beta: float, n_pairs: int) -> torch.Tensor:
    """The large-N standard deviation of each π̂(y) fitted by DPO on ``n_pairs`` sampled pairs.

    The fit is the maximum-likelihood estimate of a well-specified logistic model, so
    √N·(θ̂ − θ_β) tends to a normal with covariance H⁺ (:func:`dpo_hessian`, the pseudo-inverse
    on the shift-free subspace), and by the delta method with J = diag(π_β) − π_β·π_βᵀ,
    Cov(π̂) ≈ J·H⁺·J / N.

    The delta method needs the fit's implicit rewards to be close to r on the scale of β
    (:func:`dpo_reward_std` ≪ β): the noise in r̂ reaches the policy multiplied by 1/β.

    Returns
    -------
    torch.Tensor, shape (K,), float64
        One standard deviation per response, in probability units.
    """
    ref = _ref(ref_probs)
    r = _vector(rewards, "rewards", ref.numel()).detach()
    b = positive(beta, "beta")
    n = count(n_pairs, "n_pairs", maximum=10**12)
    log_pi = ref.log() + r / b
    pi = (log_pi - torch.logsumexp(log_pi, 0)).exp()
    jac = torch.diag(pi) - pi[:, None] * pi[None, :]
    cov = jac @ torch.linalg.pinv(dpo_hessian(ref, r, b), hermitian=True) @ jac / n
    return cov.diagonal().clamp_min(0.0).sqrt()
