"""Self-checks for lesson 3 (the KL-shaped reward).

Each function returns a short message; a wrong answer gets a hint, never a traceback.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from ..kl_in_loss import expected_estimator_gradient, reverse_kl_gradient
from ..response_batch import cafe_review_batch
from ..shaped_reward import kl_penalized_rewards
from . import _finite_answer, _number, _shown

#: How close a β answer must be (reward units per nat); the exercise asks for 3 decimals.
BETA_TOLERANCE = 1e-3


def overtake_beta(winner: str = "B", loser: str = "A") -> float:
    """The β at which ``winner``'s shaped total catches up with ``loser``'s in the café batch.

    Solves s_w − β·K_w = s_l − β·K_l for β, with K the summed per-token k1 in nats over real tokens.
    """
    return _overtake(winner, loser, masked=True)


def _overtake(winner: str, loser: str, masked: bool) -> float:
    """:func:`overtake_beta`, or with ``masked=False`` the β a learner gets who forgot the padding mask."""
    batch = cafe_review_batch()
    for name, label in (("winner", winner), ("loser", loser)):
        if label not in batch.labels:
            raise ValueError(f"{name} must be one of the batch's labels {tuple(batch.labels)}, got {label!r}")
    if winner == loser:
        raise ValueError(f"winner and loser must differ, got {winner!r} twice")
    i, j = batch.labels.index(winner), batch.labels.index(loser)
    if masked:
        kl = batch.kl_totals()
    else:  # every position counts, padding included, as kl_penalized_rewards does without a mask
        kl = kl_penalized_rewards(batch.scores, batch.logprobs, batch.ref_logprobs, 0.0)[1].sum(-1)
    s = batch.scores
    return float((s[j] - s[i]) / (kl[j] - kl[i]))


def check_overtake_beta(answer: Any) -> str:
    """Check the β (reward units per nat) at which review B overtakes review A.

    B is the one review with no padding and A has three padding positions, so a β computed
    without the padding mask differs from the right one; that slip is named.

    Parameters
    ----------
    answer : float
        Your β, to three decimals.

    Returns
    -------
    str
        "Correct" with the reason, or a hint.
    """
    if answer is Ellipsis:
        return "Fill in your β first: replace the ... with a number, such as 0.123."
    beta = _number(answer)
    if beta is None:
        return f"Please pass a number, such as 0.123 (got {_shown(answer)})."
    if not math.isfinite(beta) or beta < 0:
        return "β is a finite number ≥ 0: a stiffer rubber band, never a negative one."
    target = overtake_beta("B", "A")
    if abs(beta - target) <= BETA_TOLERANCE:
        return (
            f"Correct: β* = (s_A − s_B) / (Σkl_A − Σkl_B) = {target:.4f}, with Σkl over real tokens only. Above it, "
            "A's extra score no longer pays for its extra nats."
        )
    if abs(beta - _overtake("B", "A", masked=False)) <= BETA_TOLERANCE:
        return (
            "Not yet: that β counts padding as KL (the mask was forgotten). A's three padding positions add "
            "phantom nats that B, unpadded, never pays. Sum kl_t over real tokens only: pass mask=batch.mask, "
            "or use batch.kl_totals()."
        )
    if abs(beta - overtake_beta("C", "A")) <= BETA_TOLERANCE:
        return "Not yet: that is where C catches up with A. The exercise asks about B, the longest review."
    if beta > 1 and abs(1 / beta - target) <= BETA_TOLERANCE:
        return "Close: that is the reciprocal. β is reward per nat, so the score gap goes on top."
    try:
        totals = cafe_review_batch().shaped_totals(beta)
    except ValueError as err:  # e.g. a β so large that β·KL overflows
        return f"Not yet: β = {beta:.4g} is far too large to check ({err}). Try a number near 0.1."
    a, b = float(totals[0]), float(totals[1])
    side = "A is still ahead, so go higher" if a > b else "B is already ahead, so go lower"
    return f"Not yet: at β = {beta:.4f}, A totals {a:+.3f} and B totals {b:+.3f}; {side}."


def check_loss_estimator(answer: Any) -> str:
    """Check which estimator, differentiated directly in the loss, follows ∇KL(π‖π_ref) on average.

    The check does not store the answer: it computes each estimator's expected
    loss gradient on a random toy policy and compares it with the exact gradient.

    Parameters
    ----------
    answer : {"k1", "k2", "k3"}
        Your choice.
    """
    if answer is Ellipsis:
        return "Fill in your choice first: replace the ... with 'k1', 'k2' or 'k3'."
    choice = answer.strip().lower() if isinstance(answer, str) else ""
    if choice not in ("k1", "k2", "k3"):
        return f"Pick one of 'k1', 'k2' or 'k3' (got {_shown(answer)})."
    gen = torch.Generator().manual_seed(3)
    logits = 2 * torch.randn(5, generator=gen, dtype=torch.float64)
    ref = torch.softmax(torch.randn(5, generator=gen, dtype=torch.float64), -1)
    exact = reverse_kl_gradient(logits, ref)
    expected = expected_estimator_gradient(logits, ref, "loss", choice)
    if torch.allclose(expected, exact, atol=1e-10):
        return (
            "Correct: ∇½(log π − log π_ref)² = (log π − log π_ref)·∇log π, which is k1-in-the-reward's "
            "score-function term, sample by sample, so its mean is ∇KL(π‖π_ref)."
        )
    if choice == "k1":
        return "Not this one: ∇log π(y) averages to zero under π, so k1 in the loss pushes nowhere on average."
    return "Not this one: k3 in the loss averages to π − π_ref, the gradient of KL(π_ref‖π), the other direction."


#: The per-token-or-per-response exercise: a response's length, its mean drift per token (nats),
#: InstructGPT's β (reward units per nat) and the score the penalty should match.
UNITS_TASK = {"tokens": 40, "nats_per_token": 0.15, "beta": 0.02, "score_to_match": 1.0}

#: How close both answers must be: within rounding to three decimals, or 0.1 % for larger numbers.
UNITS_ATOL, UNITS_RTOL = 5e-4, 1e-3


def response_penalty(beta: float) -> float:
    """What ``beta`` takes off the reward of the exercise's response, in reward units.

    The response is shaped as lesson 3 shapes one (score 0, every token drifting by
    ``UNITS_TASK["nats_per_token"]``), so the penalty is −Σ_t r_t = β·Σ_t kl_t.
    """
    t = UNITS_TASK
    logprobs = torch.full((1, t["tokens"]), -1.0, dtype=torch.float64)
    rewards, _ = kl_penalized_rewards([0.0], logprobs, logprobs - t["nats_per_token"], beta)
    return -float(rewards.sum())


def check_response_penalty(penalty: Any, beta_for_one: Any) -> str:
    """Check the per-token-or-per-response exercise (settings in :data:`UNITS_TASK`).

    Parameters
    ----------
    penalty : float
        What β = 0.02 takes off the reward of a 40-token response drifting 0.15 nats per token
        (reward units, as a positive amount).
    beta_for_one : float
        The β (reward units per nat) at which that penalty equals a score of 1.0.

    Returns
    -------
    str
        "Correct" with the numbers, or a hint that names the likely slip.
    """
    if penalty is Ellipsis or beta_for_one is Ellipsis:
        return "Fill in both answers first: replace each ... with a number."
    p, b = _finite_answer(penalty), _finite_answer(beta_for_one)
    if p is None or b is None:
        return "Please pass two finite numbers: the penalty (reward units) and the β that makes it 1.0."
    t = UNITS_TASK
    want_p = response_penalty(t["beta"])
    kl_nats = response_penalty(1.0)  # β = 1 charges exactly the response's KL in nats
    want_b = t["score_to_match"] / kl_nats
    per_token = want_p / t["tokens"]

    def near(x: float, y: float) -> bool:
        return math.isclose(x, y, rel_tol=UNITS_RTOL, abs_tol=UNITS_ATOL)

    if not near(p, want_p):
        if near(p, per_token):
            return (f"Not yet: {p:.4g} is what one token pays. The reward charges the KL summed over all "
                    f"{t['tokens']} tokens.")
        if near(p, -want_p):
            return "Right size, but give the penalty as the amount taken off the reward: a positive number."
        if near(p, want_p / math.log(2)):
            return "Not yet: that prices the KL in bits. β multiplies nats, and 0.15 per token is already in nats."
        return (f"Not yet: the penalty is β times the response's KL, and the response's KL is the sum of its "
                f"{t['tokens']} per-token KLs.")
    if not near(b, want_b):
        if near(b, t["score_to_match"] / t["nats_per_token"]):
            return "Penalty right. That β makes one token's penalty 1.0; the reward charges the summed KL."
        if near(b, kl_nats / t["score_to_match"]):
            return "Penalty right. That is the reciprocal: β is reward per nat, so divide the score by the KL."
        if near(b, t["score_to_match"] / want_p):
            return "Penalty right. Divide the score by the KL in nats, not by the penalty: β is reward per nat."
        if near(b, t["score_to_match"] * math.log(2) / kl_nats):
            return "Penalty right. That β is per bit of KL; β multiplies nats, so use the KL in nats."
        return "Penalty right. Now solve β·KL = 1.0 for β, with the response's KL in nats."
    return (f"Correct: {t['tokens']} × {t['nats_per_token']} = {kl_nats:.4g} nats, so β = {t['beta']} charges "
            f"{want_p:.4g}, and β = {want_b:.4f} charges a whole point. Both are sums over the response, "
            "like Ziegler et al.'s 6-nat target.")


#: Rewards the group-advantage check runs a learner's function on: one row per prompt, G responses each.
#: Row 2's rewards are all equal (no signal: advantages 0, not NaN); the rows' means differ, so a batch-wide mean
#: is told apart from a per-group one.
GROUP_REWARDS = ((1.0, 0.0, 0.0, 1.0), (3.0, 1.0, 2.0, 0.0), (0.5, 0.5, 0.5, 0.5), (10.0, 4.0, 7.0, 7.0))


def check_group_advantages(advantages_fn: Any) -> str:
    """Check a learner's GRPO advantages against :func:`kl_lessons.policy_gradient.group_advantages`.

    Parameters
    ----------
    advantages_fn : callable
        ``advantages_fn(rewards)`` taking a float64 tensor of shape (prompts, G) and returning the advantages,
        same shape: each reward minus its group's mean, divided by the group's sample standard deviation
        (÷ (G − 1)) plus a small ε such as 1e-4.

    Returns
    -------
    str
        "Correct: …" or a hint that names the likely slip. It never raises.
    """
    from ..policy_gradient import group_advantages

    if advantages_fn is Ellipsis:
        return "Fill in your function first: replace the ... with it."
    if not callable(advantages_fn):
        return f"Pass your function itself, e.g. check_group_advantages(my_advantages) (got {_shown(advantages_fn)})."
    rewards = torch.tensor(GROUP_REWARDS, dtype=torch.float64)
    try:
        result = advantages_fn(rewards.clone())
    except Exception as err:  # noqa: BLE001 - any failure becomes a hint, not a traceback
        return f"Your function raised {type(err).__name__}: {str(err)[:80]}. It should take a (prompts, G) tensor."
    if result is None or result is Ellipsis:
        return "Your function returns nothing yet: fill in its body and return the advantages, one per response."
    try:
        got = torch.as_tensor(result, dtype=torch.float64)
    except Exception:  # noqa: BLE001 - anything that is not numbers gets the same advice
        return f"Return a tensor of numbers, one advantage per response (got {_shown(result)})."
    if got.shape != rewards.shape:
        return f"Return one advantage per response, shape {tuple(rewards.shape)}; got {tuple(got.shape)}."
    if bool(torch.isnan(got[2]).any()) and not bool(torch.isnan(got[[0, 1, 3]]).any()):
        return ("Nearly: a group whose rewards are all equal has standard deviation 0, so its advantages came out "
                "NaN. Add a small ε to the standard deviation (TRL adds 1e-4): such a group then gets advantage 0.")

    def near(want: torch.Tensor) -> bool:
        return bool(torch.allclose(got, want, rtol=1e-3, atol=1e-3))

    centred = rewards - rewards.mean(-1, keepdim=True)
    if near(group_advantages(rewards)):
        return ("Correct: within each group the advantages sum to zero, responses better than their siblings get a "
                "positive one, and a group of equal rewards teaches nothing. Multiplying a group's rewards by 10 "
                "leaves them unchanged (up to ε): the KL term is weighed against standardised advantages.")
    if near(centred):
        return "Not yet: that only subtracts the group's mean. GRPO also divides by the group's standard deviation."
    population = rewards.std(-1, correction=0, keepdim=True)
    if near(centred / (population + 1e-4)):
        return ("Nearly: you divided by the population standard deviation (÷ G). TRL's GRPOTrainer, which this "
                "course follows, uses the sample one (÷ (G − 1)): torch's default .std().")
    whole = rewards - rewards.mean()
    if near(whole / (rewards.std() + 1e-4)) or near(whole) or near(whole / (rewards.std(-1, keepdim=True) + 1e-4)):
        return ("Not yet: the mean is taken over the whole batch. GRPO compares each response with the other "
                "responses to the same prompt: take the mean along the last axis (dim=-1, keepdim=True).")
    return "Not yet: for each row, (r − r.mean()) / (r.std() + 1e-4), along the last axis."
