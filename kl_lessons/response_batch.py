"""Lesson 3's batch: padded, scored responses with per-token log-probs, and the café reviews.

A reward model scores each whole response; the KL penalty charges it for every token.
:class:`ResponseBatch` holds such a batch (ragged responses padded to one width, with a
mask) and gives each response's summed KL and shaped total; :func:`cafe_review_batch` is
the lesson's example. All KL values are in nats.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from ._validate import as_tensor
from .shaped_reward import kl_penalized_rewards

#: What both models say at padding positions. Padding is not text, so these numbers are
#: noise; they differ on purpose, so that forgetting the mask visibly changes the KL.
PAD_LOGPROB = -0.05
PAD_REF_LOGPROB = -2.0


@dataclass(frozen=True, eq=False)
class ResponseBatch:
    """A padded batch of scored responses with per-token log-probs.

    Attributes
    ----------
    labels : tuple of str, length B
        A short name per response.
    tokens : tuple of tuple of str
        The response tokens, ragged (no padding).
    scores : torch.Tensor, shape (B,)
        Reward-model score per response.
    logprobs, ref_logprobs : torch.Tensor, shape (B, T)
        Per-token log-probs (nats) under the policy that sampled the tokens and under
        the reference; padding positions hold :data:`PAD_LOGPROB` / :data:`PAD_REF_LOGPROB`.
    mask : torch.Tensor of bool, shape (B, T)
        True for real tokens, False for padding.
    """

    labels: tuple[str, ...]
    tokens: tuple[tuple[str, ...], ...]
    scores: torch.Tensor
    logprobs: torch.Tensor
    ref_logprobs: torch.Tensor
    mask: torch.Tensor

    @classmethod
    def from_ragged(
        cls,
        labels: Sequence[str],
        tokens: Sequence[Sequence[str]],
        scores: Sequence[float],
        logprobs: Sequence[Sequence[float]],
        ref_logprobs: Sequence[Sequence[float]],
    ) -> "ResponseBatch":
        """Pad ragged per-response lists to a (B, T) batch, T = the longest response."""
        n = len(labels)
        if n == 0:
            raise ValueError("labels is empty; a batch needs at least one response")
        for name, seq in (("tokens", tokens), ("scores", scores), ("logprobs", logprobs), ("ref_logprobs", ref_logprobs)):
            if len(seq) != n:
                raise ValueError(f"{name} has {len(seq)} entries but labels has {n}")
        lengths = [len(t) for t in tokens]
        if min(lengths) == 0:
            raise ValueError("tokens has an empty response; each needs at least one token")
        for i, size in enumerate(lengths):
            if len(logprobs[i]) != size or len(ref_logprobs[i]) != size:
                raise ValueError(f"response {i}: logprobs and ref_logprobs need one value per token ({size})")
        width = max(lengths)
        mask = torch.arange(width) < torch.tensor(lengths).unsqueeze(-1)
        lp = torch.full((n, width), PAD_LOGPROB, dtype=torch.float64)
        ref = torch.full((n, width), PAD_REF_LOGPROB, dtype=torch.float64)
        for i, size in enumerate(lengths):
            lp[i, :size] = as_tensor(logprobs[i], "logprobs")
            ref[i, :size] = as_tensor(ref_logprobs[i], "ref_logprobs")
        s = as_tensor(scores, "scores").to(torch.float64)
        return cls(tuple(labels), tuple(tuple(t) for t in tokens), s, lp, ref, mask)

    def kl_totals(self, estimator: str = "k1") -> torch.Tensor:
        """Σ_t kl_t over each response's real tokens, shape (B,), in nats."""
        _, kl = kl_penalized_rewards(self.scores, self.logprobs, self.ref_logprobs, 0.0, self.mask, estimator)
        return kl.sum(-1)

    def shaped_totals(self, beta: float, estimator: str = "k1") -> torch.Tensor:
        """Σ_t r_t = score − β·Σ_t kl_t for each response, shape (B,), in reward units."""
        rewards, _ = kl_penalized_rewards(self.scores, self.logprobs, self.ref_logprobs, beta, self.mask, estimator)
        return rewards.sum(-1)

    def ranking(self, beta: float, estimator: str = "k1") -> tuple[int, ...]:
        """Response indices from best to worst shaped total (ties keep batch order)."""
        totals = self.shaped_totals(beta, estimator).tolist()
        return tuple(sorted(range(len(totals)), key=lambda i: (-totals[i], i)))


def cafe_review_batch() -> ResponseBatch:
    """Four one-line café reviews from one prompt, 2 to 9 tokens long.

    Response A learned that the reward model loves exclamation marks: top score, but
    the reference finds its tokens unlikely, so it carries about 12 nats of KL.
    The plain reviews score less and drift little. Log-probs are made up but
    plausible; per-token k1 is negative for a few tokens, as real batches are.
    """
    return ResponseBatch.from_ragged(
        labels=("A", "B", "C", "D"),
        tokens=(
            ("Amazing", "!!!", "Best", "!!!", "ever", "!!!"),
            ("The", "espresso", "was", "rich", "and", "the", "pastries", "fresh", "."),
            ("Great", "coffee", ",", "friendly", "staff", "."),
            ("Nice", "."),
        ),
        scores=(2.0, 1.4, 1.0, 0.3),
        logprobs=(
            (-0.3, -0.1, -0.4, -0.1, -0.5, -0.1),
            (-0.8, -1.5, -0.6, -1.2, -0.4, -0.9, -1.6, -1.1, -0.3),
            (-0.7, -0.9, -1.0, -1.3, -0.6, -0.2),
            (-1.2, -0.3),
        ),
        ref_logprobs=(
            (-2.0, -3.1, -1.4, -3.0, -1.1, -3.1),
            (-1.1, -2.3, -0.7, -2.2, -0.5, -0.8, -2.3, -1.9, -0.4),
            (-0.9, -1.1, -0.9, -1.6, -0.8, -0.3),
            (-1.1, -0.5),
        ),
    )


__all__ = ["PAD_LOGPROB", "PAD_REF_LOGPROB", "ResponseBatch", "cafe_review_batch"]
