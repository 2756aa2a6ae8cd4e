"""Self-check for lesson 6: the exact KL of a text, from full-vocabulary logits.

For a text x sampled from π, the chain rule gives the per-text KL as a sum over
positions of the exact next-character KL, Σ_t KL(π(·|x_<t) ‖ π_ref(·|x_<t)).
Averaged over sampled texts it estimates KL(π‖π_ref) without bias, like k1, but
with far less noise, because each term already averages over the whole vocabulary.
"""

from __future__ import annotations

from typing import Callable

import torch

from ..tinylm import CharVocab, TinyLM, sample

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
    vocab = CharVocab("\n !.?abcdefghijklmnopqrstuvwxyz")
    with torch.random.fork_rng():
        torch.manual_seed(1)
        policy = TinyLM(vocab.size).eval()
        torch.manual_seed(2)
        reference = TinyLM(vocab.size).eval()
    tokens = sample(policy, vocab, 6, 10, torch.Generator().manual_seed(3)).tokens
    expected = _exact_text_kl(policy, reference, vocab, tokens)
    try:
        got = torch.as_tensor(fn(policy, reference, vocab, tokens)).detach().to(expected.dtype)
    except Exception as err:  # a learner's bug should read as advice, not a traceback
        return f"Not yet: your function raised {type(err).__name__}: {err}"
    if got.shape != expected.shape:
        return f"Not yet: expected one KL per text, shape {tuple(expected.shape)}, got {tuple(got.shape)}."
    if bool((got < -1e-5).any()):
        return "Not yet: an exact KL is never negative. Did you sum p·log(p/q) with p from the policy?"
    reversed_kl = _exact_text_kl(reference, policy, vocab, tokens)
    if torch.allclose(got, reversed_kl, atol=1e-4) and not torch.allclose(got, expected, atol=1e-4):
        return "Not yet: that is KL(π_ref‖π). RLHF penalises KL(π‖π_ref): weight by the policy's probabilities."
    if not torch.allclose(got, expected, atol=1e-4):
        return (
            f"Not yet: for the first text you gave {float(got[0]):.4f} nats, expected {float(expected[0]):.4f}. "
            "Sum the per-position KL over every position of the text."
        )
    return "Correct: the exact per-text KL, summed over positions by the chain rule."
