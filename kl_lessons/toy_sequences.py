"""Lesson 7: a tiny autoregressive policy whose every response can be listed.

A response is T tokens from a vocabulary of V. The policy keeps one row of V logits for
every *prefix* (the empty prefix, every single token, every pair, …), so
π(y_t | y_<t) = softmax(logits[prefix of y_t]). With V = 3 and T = 3 there are 13
prefixes and 27 responses, few enough to sum over all of them exactly: the sequence KL,
its gradient by autograd, and any expectation over responses carry no sampling noise.

Rewards are one number per response. Two optima are written in closed form: lesson 4's tilted
optimum π_β ∝ π_ref·exp(r/β) over whole responses, and the *myopic* optimum reached by a
penalty that charges each prefix only its own KL (see :mod:`kl_lessons.kl_gradients`).

Everything is float64. All KL values are in nats, summed over the response's tokens;
gradients are in nats per unit of logit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ._validate import MAX_SEED, as_tensor, count, positive, seed as as_seed
from .optimum import tilted_policy

#: The largest number of responses :class:`SequenceSpace` will list (V**T).
MAX_SEQUENCES = 4096


@dataclass(frozen=True)
class SequenceSpace:
    """Every response of ``length`` tokens from ``vocab_size`` tokens, and the prefix tree behind them.

    Attributes
    ----------
    vocab_size, length : int
        V and T.
    sequences : torch.Tensor, shape (N, T), int64
        All N = V**T responses in lexicographic order.
    prefix_index : torch.Tensor, shape (N, T), int64
        Row of the logits table that produces token t of response n (the id of its prefix).
    parent : torch.Tensor, shape (P,), int64
        Each prefix's parent prefix (−1 for the empty prefix, id 0).
    last_token : torch.Tensor, shape (P,), int64
        The token that extends the parent into this prefix (−1 for the empty prefix).
    depth : torch.Tensor, shape (P,), int64
        Number of tokens in each prefix, 0 … T − 1.
    """

    vocab_size: int
    length: int
    sequences: torch.Tensor
    prefix_index: torch.Tensor
    parent: torch.Tensor
    last_token: torch.Tensor
    depth: torch.Tensor

    @property
    def num_sequences(self) -> int:
        """N = V**T, the number of responses."""
        return int(self.sequences.shape[0])

    @property
    def num_prefixes(self) -> int:
        """P = 1 + V + … + V**(T−1), the number of rows of a logits table."""
        return int(self.parent.shape[0])

    @property
    def logits_shape(self) -> tuple[int, int]:
        """(P, V), the shape of a policy's logits table."""
        return (self.num_prefixes, self.vocab_size)


def sequence_space(vocab_size: int, length: int) -> SequenceSpace:
    """List every response of ``length`` tokens over ``vocab_size`` tokens, with its prefixes.

    Parameters
    ----------
    vocab_size : int
        V ≥ 2.
    length : int
        T ≥ 1. V**T may not exceed :data:`MAX_SEQUENCES`.

    Returns
    -------
    SequenceSpace
    """
    v = count(vocab_size, "vocab_size", minimum=2, maximum=MAX_SEQUENCES)
    t = count(length, "length", minimum=1, maximum=MAX_SEQUENCES.bit_length() - 1)  # 2**t ≤ MAX_SEQUENCES
    if v**t > MAX_SEQUENCES:
        raise ValueError(f"vocab_size**length = {v**t} exceeds {MAX_SEQUENCES}: too many responses to list")
    # Prefixes are numbered depth by depth; the prefixes of depth d start at offset[d].
    offset = [sum(v**k for k in range(d)) for d in range(t + 1)]
    parent, last_token, depth = [-1], [-1], [0]
    for d in range(1, t):
        for code in range(v**d):  # code is the prefix read as a base-V number
            parent.append(offset[d - 1] + code // v)
            last_token.append(code % v)
            depth.append(d)
    n = v**t
    codes = torch.arange(n)
    powers = v ** torch.arange(t - 1, -1, -1)
    sequences = (codes.unsqueeze(-1) // powers) % v  # digits of each response, most significant first
    prefix_index = torch.stack([offset[d] + codes // v ** (t - d) for d in range(t)], dim=-1)
    as_long = lambda xs: torch.tensor(xs, dtype=torch.int64)  # noqa: E731
    return SequenceSpace(v, t, sequences, prefix_index, as_long(parent), as_long(last_token), as_long(depth))


def _check_space(space: object) -> SequenceSpace:
    if not isinstance(space, SequenceSpace):
        raise ValueError(f"space must be a SequenceSpace (from sequence_space), got {type(space).__name__}")
    return space


def check_logits(logits: object, space: SequenceSpace, name: str = "logits") -> torch.Tensor:
    """Return ``logits`` as a float64 (P, V) table for ``space``; raise ``ValueError`` naming ``name`` otherwise.

    Tensors that require grad are kept attached to their graph.
    """
    _check_space(space)
    table = as_tensor(logits, name)
    table = table if table.dtype == torch.float64 else table.to(torch.float64)
    if tuple(table.shape) != space.logits_shape:
        raise ValueError(f"{name} must have shape {space.logits_shape} (prefixes, vocabulary), got {tuple(table.shape)}")
    return table


def token_logprobs(logits: torch.Tensor, space: SequenceSpace) -> torch.Tensor:
    """log π(y_t | y_<t) for every response and position, shape (N, T), differentiable in ``logits``."""
    table = check_logits(logits, space)
    logp = torch.log_softmax(table, dim=-1)
    return logp[space.prefix_index, space.sequences]


def sequence_probs(logits: torch.Tensor, space: SequenceSpace) -> torch.Tensor:
    """π(y) = Π_t π(y_t | y_<t) for all N responses, shape (N,); sums to 1."""
    return token_logprobs(logits, space).sum(-1).exp()


def prefix_probs(logits: torch.Tensor, space: SequenceSpace) -> torch.Tensor:
    """Probability that a response drawn from π starts with each prefix, shape (P,); 1 for the empty prefix."""
    probs = torch.softmax(check_logits(logits, space), dim=-1)
    reach = torch.ones(space.num_prefixes, dtype=torch.float64)
    start = 1
    for d in range(1, space.length):  # depth by depth: a prefix's parent is one level up
        stop = start + space.vocab_size**d
        parents = space.parent[start:stop]
        reach = torch.cat([reach[:start], reach[parents] * probs[parents, space.last_token[start:stop]], reach[stop:]])
        start = stop
    return reach


def sequence_kl(logits: torch.Tensor, ref_logits: torch.Tensor, space: SequenceSpace) -> torch.Tensor:
    """The exact KL(π‖π_ref) between two response distributions, in nats (a 0-d tensor, differentiable).

    It is the π-weighted sum over all N responses of Σ_t log π(y_t|y_<t) − log π_ref(y_t|y_<t).
    """
    ref = check_logits(ref_logits, space, "ref_logits")  # named here: token_logprobs calls every table "logits"
    logp, ref_logp = token_logprobs(logits, space), token_logprobs(ref, space)
    return (logp.sum(-1).exp() * (logp - ref_logp).sum(-1)).sum()


def exact_kl_gradient(
    logits: torch.Tensor, ref_logits: torch.Tensor, space: SequenceSpace, *, direction: str = "reverse"
) -> torch.Tensor:
    """∇ of the exact sequence KL with respect to the policy's logits table, by autograd.

    Parameters
    ----------
    logits, ref_logits : tensor, shape (P, V)
        The policy's and the reference's logits tables.
    space : SequenceSpace
    direction : {"reverse", "forward"}
        ``"reverse"``: ∇ KL(π‖π_ref), the penalty RLHF writes down. ``"forward"``: ∇ KL(π_ref‖π).

    Returns
    -------
    torch.Tensor, shape (P, V), float64
        Nats per unit of logit.
    """
    if direction not in ("reverse", "forward"):
        raise ValueError(f"direction must be 'reverse' or 'forward', got {direction!r}")
    theta = check_logits(logits, space).detach().clone().requires_grad_(True)
    ref = check_logits(ref_logits, space, "ref_logits").detach()
    kl = sequence_kl(theta, ref, space) if direction == "reverse" else sequence_kl(ref, theta, space)
    (grad,) = torch.autograd.grad(kl, theta)
    return grad


def random_logits(space: SequenceSpace, scale: float = 1.0, seed: int = 0) -> torch.Tensor:
    """A reproducible random logits table, entries N(0, scale²), from a private generator."""
    size = positive(scale, "scale", allow_zero=True)
    _check_space(space)
    gen = torch.Generator().manual_seed(as_seed(seed))
    return size * torch.randn(space.logits_shape, generator=gen, dtype=torch.float64)


def reward_gradient(logits: Any, space: SequenceSpace, rewards: Any) -> torch.Tensor:
    """∇ E_π[r] with respect to the logits table, by autograd, shape (P, V)."""
    r = rewards_vector(rewards, space)
    theta = check_logits(logits, space).detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(sequence_probs(theta, space) @ r, theta)
    return grad


def rewards_vector(rewards: Any, space: SequenceSpace) -> torch.Tensor:
    """``rewards`` as a float64 vector with one entry per response; ``ValueError`` naming it otherwise."""
    _check_space(space)
    r = as_tensor(rewards, "rewards").to(torch.float64).detach()
    if tuple(r.shape) != (space.num_sequences,):
        raise ValueError(f"rewards must have shape ({space.num_sequences},), one per response, got {tuple(r.shape)}")
    return r


def tilted_sequence_policy(ref_logits: Any, space: SequenceSpace, rewards: Any, beta: float) -> torch.Tensor:
    """π_β(y) ∝ π_ref(y)·exp(r(y)/β) over whole responses (lesson 4's optimum), shape (N,)."""
    ref = sequence_probs(check_logits(ref_logits, space, "ref_logits").detach(), space)
    return tilted_policy(ref, rewards_vector(rewards, space), positive(beta, "beta"))


def myopic_optimum(ref_logits: Any, space: SequenceSpace, rewards: Any, beta: float) -> torch.Tensor:
    """Where a recipe that follows :func:`local_kl_gradient` settles: π(·|h) ∝ π_ref(·|h)·exp(Q(h,·)/β).

    Q(h, a) is the expected reward after prefix h·a under the policy itself, with no charge for
    the KL still to come. Solved backwards from the last position. Returns logits, shape (P, V).
    """
    r, b = rewards_vector(rewards, space), positive(beta, "beta")
    ref = torch.log_softmax(check_logits(ref_logits, space, "ref_logits").detach(), -1)
    out = torch.empty_like(ref)
    value = r.clone()  # value of each response; folded one position at a time into its prefixes
    for t in range(space.length - 1, -1, -1):
        q = value.reshape(-1, space.vocab_size)  # responses grouped by their prefix at position t
        rows = space.prefix_index[:: space.vocab_size ** (space.length - t), t]
        out[rows] = ref[rows] + q / b
        value = (torch.softmax(out[rows], -1) * q).sum(-1)
    return torch.log_softmax(out, -1)




#: The reward shapes :func:`myopic_kl_ratios` draws: one jackpot response, Gaussian, or coin-flip rewards.
REWARD_KINDS = ("jackpot", "gaussian", "bernoulli")


def random_rewards(space: SequenceSpace, kind: str, seed: int = 0) -> torch.Tensor:
    """One reward per response, shape (N,), float64, drawn from a private generator.

    ``kind`` is ``"jackpot"`` (1 for one response picked uniformly, 0 elsewhere), ``"gaussian"``
    (independent N(0, 1)) or ``"bernoulli"`` (independent 0 or 1, each with probability 1/2).
    """
    _check_space(space)
    if kind not in REWARD_KINDS:
        raise ValueError(f"kind must be one of {REWARD_KINDS}, got {kind!r}")
    gen = torch.Generator().manual_seed(as_seed(seed))
    n = space.num_sequences
    if kind == "jackpot":
        rewards = torch.zeros(n, dtype=torch.float64)
        rewards[int(torch.randint(n, (), generator=gen))] = 1.0
        return rewards
    if kind == "gaussian":
        return torch.randn(n, generator=gen, dtype=torch.float64)
    return (torch.rand(n, generator=gen, dtype=torch.float64) < 0.5).to(torch.float64)


def myopic_kl_ratios(
    kind: str, n_toys: int, beta: float, *, vocab_size: int = 3, length: int = 3, seed: int = 0
) -> torch.Tensor:
    """KL(π_myopic‖π_ref) / KL(π_β‖π_ref) on ``n_toys`` random toys, shape (n_toys,).

    Toy i has π_ref with N(0, 1) logits (seed ``seed + 2i``) and rewards from
    :func:`random_rewards` (``kind``, seed ``seed + 2i + 1``). π_β is the tilted optimum over
    whole responses and π_myopic is :func:`myopic_optimum`, where the partial gradient settles.
    A ratio above 1 means the partial gradient over-reaches; below 1, it stops short.
    """
    n, b = count(n_toys, "n_toys"), positive(beta, "beta")
    base = as_seed(seed)
    as_seed(base + 2 * n, "seed")  # the last toy's seeds must be valid too
    space = sequence_space(vocab_size, length)
    ratios = torch.empty(n, dtype=torch.float64)
    for i in range(n):
        ref = random_logits(space, 1.0, seed=base + 2 * i)
        rewards = random_rewards(space, kind, seed=base + 2 * i + 1)
        ref_probs, tilted = sequence_probs(ref, space), tilted_sequence_policy(ref, space, rewards, b)
        optimum_kl = (tilted * (tilted / ref_probs).log()).sum()
        ratios[i] = sequence_kl(myopic_optimum(ref, space, rewards, b), ref, space) / optimum_kl
    return ratios

@dataclass(frozen=True)
class JackpotToy:
    """Lesson 7's toy: a reference, a policy that sampled a batch, the current policy and a jackpot reward.

    Attributes
    ----------
    space : SequenceSpace
    tokens : tuple of str
        Token names; the last one is "!".
    ref, old, step : torch.Tensor, shape (P, V)
        π_ref's logits; π_old = π_ref + a random step (the policy that sampled the batch); and the
        direction the current policy moves in from π_old.
    rewards : torch.Tensor, shape (N,)
        1 for the response made only of "!" (the jackpot), 0 for every other response.
    """

    space: SequenceSpace
    tokens: tuple[str, ...]
    ref: torch.Tensor
    old: torch.Tensor
    step: torch.Tensor
    rewards: torch.Tensor

    def policy(self, drift: float = 1.0) -> torch.Tensor:
        """The current policy's logits, π_old + drift·step (drift ≥ 0; drift 0 is π_old itself)."""
        return self.old + positive(drift, "drift", allow_zero=True) * self.step

    def names(self) -> list[str]:
        """Every response written out, e.g. "ab!", in the order of ``space.sequences``."""
        return ["".join(self.tokens[i] for i in row) for row in self.space.sequences.tolist()]


def jackpot_toy(vocab_size: int = 3, length: int = 3, seed: int = 1) -> JackpotToy:
    """Build :class:`JackpotToy`: π_ref with N(0, 1) logits (``seed``), π_old one N(0, 0.8²) step away.

    At most 8 tokens (a … g and "!"); ``seed``, ``seed + 1`` and ``seed + 2`` seed its three tables.
    """
    seed = count(as_seed(seed), "seed", minimum=0, maximum=MAX_SEED - 2)
    space = sequence_space(count(vocab_size, "vocab_size", minimum=2, maximum=8), length)
    tokens = tuple("abcdefg"[: space.vocab_size - 1]) + ("!",)
    ref = random_logits(space, 1.0, seed=seed)
    old = ref + random_logits(space, 0.8, seed=seed + 1)
    rewards = (space.sequences == space.vocab_size - 1).all(-1).to(torch.float64)
    return JackpotToy(space, tokens, ref, old, random_logits(space, 1.0, seed=seed + 2), rewards)


__all__ = [
    "JackpotToy",
    "MAX_SEQUENCES",
    "SequenceSpace",
    "check_logits",
    "exact_kl_gradient",
    "jackpot_toy",
    "prefix_probs",
    "random_logits",
    "reward_gradient",
    "rewards_vector",
    "REWARD_KINDS",
    "myopic_kl_ratios",
    "myopic_optimum",
    "random_rewards",
    "tilted_sequence_policy",
    "sequence_kl",
    "sequence_probs",
    "sequence_space",
    "token_logprobs",
]
