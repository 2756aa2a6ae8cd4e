"""Self-check for lesson 6: the exact KL of a text, from full-vocabulary logits.

For a text x sampled from π, the chain rule gives the per-text KL as a sum over
positions of the exact next-character KL, Σ_t KL(π(·|x_<t) ‖ π_ref(·|x_<t)).
Averaged over sampled texts it estimates KL(π‖π_ref) without bias, like k1, but
with far less noise, because each term already averages over the whole vocabulary.
"""

from __future__ import annotations

import math
from typing import Callable

import torch

from ..tinylm import CharVocab, TinyLM, sample
from . import _finite_answer, _unfilled

#: The signature the learner's function must have.
FullKLFn = Callable[[TinyLM, TinyLM, CharVocab, torch.Tensor], torch.Tensor]


def _exact_text_kl(policy: TinyLM, reference: TinyLM, vocab: CharVocab, tokens: torch.Tensor) -> torch.Tensor:
    start = torch.full((tokens.shape[0], 1), vocab.bos, dtype=torch.long)
    inputs = torch.cat([start, tokens[:, :-1]], 1)
    with torch.no_grad():
        logp = torch.log_softmax(policy(inputs)[0], -1)
        logq = torch.log_softmax(reference(inputs)[0], -1)
    return (logp.exp() * (logp - logq)).sum(-1).sum(-1)


def check_full_kl(fn: FullKLFn) -> str:
    """Check ``fn(policy, reference, vocab, tokens)`` → per-text exact KL, shape (B,), in nats.

    Two small, differently seeded models stand in for the policy and the reference.
    Returns a message; never raises for a wrong answer.
    """
    if _unfilled(fn) or not callable(fn):
        return "Fill in text_kl's body, then pass the function itself: check_full_kl(text_kl)."
    vocab = CharVocab("\n !.?abcdefghijklmnopqrstuvwxyz")
    with torch.random.fork_rng():
        torch.manual_seed(1)
        policy = TinyLM(vocab.size).eval()
        torch.manual_seed(2)
        reference = TinyLM(vocab.size).eval()
    tokens = sample(policy, vocab, 6, 10, torch.Generator().manual_seed(3)).tokens
    expected = _exact_text_kl(policy, reference, vocab, tokens)
    try:
        answer = fn(policy, reference, vocab, tokens)
        if answer is None or _unfilled(answer):  # the starter's body is still `...`
            return "Your text_kl returns nothing yet: fill in its body so that it returns one KL per text."
        got = torch.as_tensor(answer).detach().to(expected.dtype)
    except Exception as err:  # a learner's bug should read as advice, not a traceback
        return f"Not yet: your function raised {type(err).__name__}: {err}"
    if got.shape != expected.shape:
        return f"Not yet: expected one KL per text, shape {tuple(expected.shape)}, got {tuple(got.shape)}."
    if bool((got < -1e-5).any()):
        return "Not yet: an exact KL is never negative. Did you sum p·log(p/q) with p from the policy?"
    reversed_kl = _exact_text_kl(reference, policy, vocab, tokens)
    if torch.allclose(got, reversed_kl, atol=1e-4) and not torch.allclose(got, expected, atol=1e-4):
        return "Not yet: that is KL(π_ref‖π). RLHF penalises KL(π‖π_ref): weight by the policy's probabilities."
    per_token = expected / tokens.shape[1]
    if torch.allclose(got, per_token, atol=1e-5) and not torch.allclose(got, expected, atol=1e-4):
        return (
            "Not yet: that is the mean KL per character. The KL of a text is the sum over its positions (the "
            f"chain rule): sum over the last dimension instead of averaging, which is {tokens.shape[1]} times more."
        )
    if not torch.allclose(got, expected, atol=1e-4):
        return (
            f"Not yet: for the first text you gave {float(got[0]):.4f} nats, expected {float(expected[0]):.4f}. "
            "Sum the per-position KL over every position of the text."
        )
    return "Correct: the exact per-text KL, summed over positions by the chain rule."


def check_shout_threshold(beta: float, logp_bang: float) -> str:
    """Check the back-of-envelope β below which shouting pays, from log π_ref("!" after "!").

    Once the policy writes "!" with probability near 1, each extra "!" earns 1 proxy point
    and costs β·(0 − log π_ref) in KL, so shouting pays while β < −1/log π_ref.
    Returns a message; never raises for a wrong answer.
    """
    if _unfilled(beta, logp_bang):
        return "Fill in your threshold β and the log π_ref that section 5 printed (in nats)."
    b, lp = _finite_answer(beta), _finite_answer(logp_bang)
    if b is None or lp is None:
        return "Please pass two finite numbers: your threshold β and the log π_ref you measured (in nats, < 0)."
    if lp >= 0:
        return "log π_ref of a character is a log-probability: it is negative. Pass the value the cell printed."
    expected = -1.0 / lp
    if math.isclose(b, expected, rel_tol=0.05):
        return (f"Correct: shouting pays while β < 1/{-lp:.2f} = {expected:.3f}. That is lesson 4's tilt "
                "π_ref·exp(r/β) read one token at a time.")
    if math.isclose(b, -lp, rel_tol=0.02):
        return "Not yet: that is the cost in nats. The threshold is where β·cost equals the 1 point earned."
    if math.isclose(b, -1.0 / (lp / math.log(2)), rel_tol=0.02):
        return "Not yet: you converted to bits. The KL penalty is β times nats: keep log π_ref in nats."
    if math.isclose(b, 1.0 / lp, rel_tol=0.02):
        return "Not yet: mind the sign. The cost −log π_ref is positive, so the threshold β is positive."
    return f"Not yet: set 1 point earned equal to β·(0 − log π_ref) and solve for β (log π_ref = {lp:.2f})."


def check_beta_step_limit(answer: float, batch_size: int = 64, horizon: int = 10_000) -> str:
    """Check the largest fractional change of β in one step of the proportional controller.

    β ← β·(1 + e·n/horizon) with e clipped to [−0.2, 0.2] and n the texts per step, so β moves by
    at most 0.2·n/horizon per step. Returns a message; never raises for a wrong answer.
    """
    if _unfilled(answer):
        return "Fill in your bound: the largest fractional change of β in one step (e.g. 0.01 for 1 %)."
    a = _finite_answer(answer)
    if a is None:
        return "Please pass one finite number: the largest fractional change of β in one step (e.g. 0.01 for 1 %)."
    expected = 0.2 * batch_size / horizon
    if math.isclose(a, expected, rel_tol=1e-3):
        return (f"Correct: at most ±{expected:.5f} per step, so 150 steps move β by at most a factor "
                f"{(1 + expected) ** 150:.3f} either way.")
    if math.isclose(a, 1 + expected, rel_tol=1e-6):
        return f"Almost: that is the factor 1 + {expected:.5f}. The change itself is the part after the 1."
    if math.isclose(a, 100 * expected, rel_tol=1e-3):
        return "Almost: that is the change in percent. Give it as a fraction (1 % = 0.01)."
    if math.isclose(a, 0.2 * 512 / horizon, rel_tol=1e-3):
        return "Not yet: 512 was Ziegler et al.'s batch size. This run feeds the controller 64 texts per step."
    if math.isclose(a, batch_size / horizon, rel_tol=1e-3):
        return "Not yet: the error e is clipped to [−0.2, 0.2] before it is scaled, so the bound has a 0.2 in it."
    if math.isclose(a, 0.2 / horizon, rel_tol=1e-3):
        return "Not yet: one update counts n_steps = 64 texts, so the clipped error is scaled by 64/horizon."
    return "Not yet: write the update β ← β·(1 + e·n/horizon) and put in the largest allowed error e."
