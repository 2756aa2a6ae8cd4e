"""Self-checks for lesson 9: reading TRL's GRPO log and loss the way the trainer computes them.

Each check builds its own small batch (fixed numbers, no training), compares the learner's answer or
function with the trainer's rule, recognises the usual slips, and returns a message; none raises for a
wrong answer.
"""

from __future__ import annotations

import math
from typing import Callable

import torch

from ..trl_run import group_advantages, token_weights
from . import _finite_answer, _shown, _unfilled


def _batch() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Log-probs of 4 completions of 6 positions under π and π_ref, and a completion mask (lengths 6, 4, 2, 5)."""
    gen = torch.Generator().manual_seed(9)
    logp = -torch.rand((4, 6), generator=gen, dtype=torch.float64) * 3
    ref = logp + torch.randn((4, 6), generator=gen, dtype=torch.float64) * 0.7
    ref = ref.clamp(max=0.0)
    lengths = torch.tensor([6, 4, 2, 5])
    mask = (torch.arange(6) < lengths[:, None]).long()
    return logp, ref, mask


def _as_tensor(answer: object, shape: tuple[int, ...]) -> torch.Tensor | str:
    """The learner's answer as a float64 tensor of ``shape``, or a message saying what is wrong with it."""
    try:
        got = torch.as_tensor(answer.detach() if isinstance(answer, torch.Tensor) else answer, dtype=torch.float64)
    except Exception:  # noqa: BLE001 - anything that is not numbers gets advice
        return f"Not yet: expected numbers of shape {shape}, got {_shown(answer)}."
    if tuple(got.shape) != shape:
        return f"Not yet: expected shape {shape}, got {tuple(got.shape)}."
    if not bool(torch.isfinite(got).all()):
        return "Not yet: your answer has NaN or infinite entries."
    return got


def check_logged_kl(fn: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], object]) -> str:
    """Check ``fn(logp, ref_logp, mask)`` → TRL's logged ``kl``: the k3 of every completion token, averaged.

    On-policy the importance ratio is 1, so the logged number is Σ mask·(exp(ref − logp) − (ref − logp) − 1)
    / Σ mask, in nats per token.
    """
    if _unfilled(fn) or not callable(fn):
        return "Fill in logged_kl's body, then pass the function itself: check_logged_kl(logged_kl)."
    logp, ref, mask = _batch()
    log_r = ref - logp
    k3 = torch.expm1(log_r) - log_r
    expected = float((k3 * mask).sum() / mask.sum())
    try:
        answer = fn(logp.clone(), ref.clone(), mask.clone())
    except Exception as err:  # a learner's bug should read as advice, not a traceback
        return f"Not yet: your function raised {type(err).__name__}: {err}"
    if _unfilled(answer) or answer is None:
        return "Your logged_kl returns nothing yet: return one number, the batch's mean k3 per token."
    got = _finite_answer(answer)
    if got is None:
        return f"Not yet: return one finite number (nats per token), got {_shown(answer)}."
    if math.isclose(got, expected, rel_tol=1e-6):
        return f"Correct: {expected:.4f} nats per token, k3 averaged over the completion tokens only, as TRL logs it."
    if math.isclose(got, float(k3.mean()), rel_tol=1e-6):
        return "Not yet: that averages the padding after each completion too. Weight by the mask and divide by its sum."
    if math.isclose(got, float((-log_r * mask).sum() / mask.sum()), rel_tol=1e-6):
        return "Not yet: that is k1 = log π − log π_ref. TRL logs k3 = r − 1 − log r with r = π_ref/π."
    if math.isclose(got, float(((k3 * mask).sum(-1) / mask.sum(-1)).mean()), rel_tol=1e-6):
        return "Not yet: that is a mean of per-completion means. TRL divides the batch's sum by its token count."
    if math.isclose(got, float((k3 * mask).sum() / mask.shape[0]), rel_tol=1e-6):
        return "Not yet: that is per completion (sum over tokens, mean over completions). The log is per token."
    back = torch.expm1(-log_r) + log_r
    if math.isclose(got, float((back * mask).sum() / mask.sum()), rel_tol=1e-6):
        return "Not yet: r is upside down. With r = π_ref/π, k3 = (r − 1) − log r."
    return f"Not yet: expected {expected:.4f} nats per token, got {got:.4f}."


def check_per_completion_kl(answer: object, kl: float = 0.85, mean_length: float = 23.5) -> str:
    """Check a logged per-token ``kl`` turned into nats per completion: ``kl × completions/mean_length``."""
    if _unfilled(answer):
        return "Fill in your number: the KL per completion, in nats."
    got = _finite_answer(answer)
    if got is None:
        return f"Please pass one finite number (nats per completion), got {_shown(answer)}."
    expected = kl * mean_length
    if math.isclose(got, expected, rel_tol=1e-3):
        return (f"Correct: {expected:.2f} nats per completion. Summed over a completion's tokens, as lessons 3–6 "
                f"count KL, the KL is {mean_length:.1f} times the per-token number that TRL logs.")
    if math.isclose(got, kl / mean_length, rel_tol=1e-3):
        return "Not yet: a completion has mean_length tokens, each paying about kl: multiply, don't divide."
    if math.isclose(got, kl * 32, rel_tol=1e-3):
        return "Not yet: 32 is the longest a completion may be. Use the mean length TRL logged for that step."
    if math.isclose(got, kl, rel_tol=1e-3):
        return "Not yet: that is still per token. Multiply by how many tokens a completion has on average."
    return f"Not yet: per completion = kl (per token) × completions/mean_length = {kl} × {mean_length}."


def check_grpo_weights(fn: Callable[[torch.Tensor], object]) -> str:
    """Check ``fn(mask)`` → the weight each token's β·k3 gets with ``loss_type="grpo"``, shape of ``mask``."""
    if _unfilled(fn) or not callable(fn):
        return "Fill in grpo_weights' body, then pass the function itself: check_grpo_weights(grpo_weights)."
    _, _, mask = _batch()
    expected = token_weights(mask, "grpo", 6)
    try:
        answer = fn(mask.clone())
    except Exception as err:  # a learner's bug should read as advice, not a traceback
        return f"Not yet: your function raised {type(err).__name__}: {err}"
    if _unfilled(answer) or answer is None:
        return "Your grpo_weights returns nothing yet: return one weight per token, the shape of the mask."
    got = _as_tensor(answer, tuple(mask.shape))
    if isinstance(got, str):
        return got
    if torch.allclose(got, expected, rtol=1e-6, atol=1e-12):
        return ("Correct: 1/(B·length) for every token of a completion, so a token of the 2-token completion weighs "
                "3 times one of the 6-token completion, and β means more per token on short answers.")
    if torch.allclose(got, token_weights(mask, "dapo", 6), rtol=1e-6, atol=1e-12):
        return "Not yet: that is 'dapo' (TRL's default): one weight for all tokens. 'grpo' averages each completion first."
    if torch.allclose(got, token_weights(mask, "dr_grpo", 6), rtol=1e-6, atol=1e-12):
        return "Not yet: that is 'dr_grpo', a constant B·max_completion_length. 'grpo' uses each completion's length."
    if torch.allclose(got, token_weights(mask, "grpo", 6) * mask.shape[0], rtol=1e-6, atol=1e-12):
        return "Almost: each completion's mean is then averaged over the B completions: divide by B as well."
    if torch.allclose(got * mask, expected, rtol=1e-6, atol=1e-12):
        return "Almost: padding positions carry no loss. Give them weight 0 (multiply by the mask)."
    return "Not yet: a completion's tokens share 1/B equally: weight = mask / (B · its length)."


def check_group_advantages(fn: Callable[[torch.Tensor, int], object]) -> str:
    """Check ``fn(rewards, group)`` → GRPO's advantages with ``scale_rewards="group"``, as TRL forms them."""
    if _unfilled(fn) or not callable(fn):
        return "Fill in advantages' body, then pass the function itself: check_group_advantages(advantages)."
    rewards = torch.tensor([0.0, 1.0, 3.0, 0.0, 2.0, 2.0, 5.0, 1.0], dtype=torch.float64)
    expected = group_advantages(rewards, 4, "group")
    try:
        answer = fn(rewards.clone(), 4)
    except Exception as err:  # a learner's bug should read as advice, not a traceback
        return f"Not yet: your function raised {type(err).__name__}: {err}"
    if _unfilled(answer) or answer is None:
        return "Your advantages returns nothing yet: return one advantage per completion."
    got = _as_tensor(answer, (8,))
    if isinstance(got, str):
        return got
    if torch.allclose(got, expected, atol=1e-6):
        return ("Correct: each completion against its own group, in units of the group's spread. Multiply every "
                "reward by 10 and these do not change: β is weighed against standardised rewards.")
    grouped = rewards.view(2, 4)
    centred = (grouped - grouped.mean(1, keepdim=True)).reshape(-1)
    if torch.allclose(got, centred / (grouped.std(1, unbiased=False).repeat_interleave(4) + 1e-4), atol=1e-6):
        return "Almost: TRL's std is the unbiased one (divide by n − 1), torch.std's default."
    if torch.allclose(got, group_advantages(rewards, 4, "batch"), atol=1e-6):
        return "Not yet: that scales by the batch's std (scale_rewards='batch'). 'group' uses each group's own."
    if torch.allclose(got, centred, atol=1e-6):
        return "Not yet: that is scale_rewards='none'. 'group' also divides by the group's std (+ 1e-4)."
    if torch.allclose(got, (rewards - rewards.mean()) / (rewards.std() + 1e-4), atol=1e-6):
        return "Not yet: the baseline is each group's own mean, not the batch's."
    return "Not yet: advantage = (reward − its group's mean) / (its group's std + 1e-4)."
