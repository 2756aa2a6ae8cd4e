"""Lesson 6: a character-level language model small enough to read in one screen.

An embedding, a one-layer GRU and a linear head turn the characters so far into
logits for the next character (in the spirit of makemore / minGPT, but smaller).
Every text starts from the newline character, which also separates sentences in
the corpus, so "\\n" plays the part of the prompt.

All log-probabilities and entropies are in nats.

The model computes in float64 on purpose. Training is chaotic: a rounding difference
in one step changes the next step's samples, and over 150 steps a float32 difference
of 1e-7 (another CPU, another thread count, another kernel) grows into the second
printed digit. In float64 the same differences start near 1e-16 and stay far below
anything the lessons print, so every machine re-runs the capstone to the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .corpus import load_sentences

#: The start-of-text character (also the sentence separator of the corpus).
BOS = "\n"


def set_determinism(seed: int = 0, threads: int = 1) -> None:
    """Seed torch and fix the thread count.

    One thread keeps float reductions in the same order on every run, so two runs on
    the same machine produce bit-identical samples; float64 keeps runs on different
    machines equal far below the printed precision (see the module docstring).
    ``torch.use_deterministic_algorithms`` adds nothing to that on a CPU (the
    pretraining losses match bit for bit without it) and slows pretraining by half.
    """
    torch.manual_seed(seed)
    torch.set_num_threads(threads)


@dataclass(frozen=True)
class CharVocab:
    """The characters the model knows; ``chars[i]`` is token ``i``."""

    chars: str

    @classmethod
    def from_text(cls, text: str) -> "CharVocab":
        return cls("".join(sorted(set(text) | {BOS})))

    @property
    def size(self) -> int:
        return len(self.chars)

    @property
    def bos(self) -> int:
        return self.chars.index(BOS)

    def encode(self, text: str) -> torch.Tensor:
        """Token ids of ``text``, shape (len(text),), int64."""
        unknown = set(text) - set(self.chars)
        if unknown:
            raise ValueError(f"text has characters outside the vocabulary: {sorted(unknown)}")
        lookup = {ch: i for i, ch in enumerate(self.chars)}
        return torch.tensor([lookup[ch] for ch in text], dtype=torch.long)

    def decode(self, tokens: torch.Tensor) -> list[str]:
        """Texts of a batch of token ids of shape (B, T)."""
        return ["".join(self.chars[i] for i in row) for row in tokens.tolist()]


class TinyLM(nn.Module):
    """Embedding → GRU → linear head: logits for the next character.

    Parameters
    ----------
    vocab_size : int
        Number of characters V.
    embed_dim, hidden_dim : int
        Width of the character embedding and of the GRU state.
    dtype : torch.dtype
        Floating-point type of the weights and of everything computed from them;
        float64 by default, so results do not depend on the CPU (see the module docstring).
    """

    def __init__(
        self, vocab_size: int, embed_dim: int = 16, hidden_dim: int = 64, dtype: torch.dtype = torch.float64
    ) -> None:
        super().__init__()
        # Weights are drawn directly in ``dtype``: torch draws float32 normals with a CPU-specific vector kernel.
        self.embed = nn.Embedding(vocab_size, embed_dim, dtype=dtype)
        self.gru = nn.GRU(embed_dim, hidden_dim, batch_first=True, dtype=dtype)
        self.head = nn.Linear(hidden_dim, vocab_size, dtype=dtype)

    def forward(self, tokens: torch.Tensor, state: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits of shape (B, T, V) for the character after each input, and the new GRU state."""
        out, state = self.gru(self.embed(tokens), state)
        return self.head(out), state


@dataclass(frozen=True)
class Rollout:
    """A batch of sampled texts.

    Attributes
    ----------
    tokens : torch.Tensor, shape (B, T), int64
        The sampled characters (the start character is not included).
    logprobs : torch.Tensor, shape (B, T)
        log π(token) under the model that sampled it, in nats.
    entropies : torch.Tensor, shape (B, T)
        Entropy of the full next-character distribution at each step, in nats.
    """

    tokens: torch.Tensor
    logprobs: torch.Tensor
    entropies: torch.Tensor


def _check_counts(**counts: int) -> None:
    for name, value in counts.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an int >= 1, got {value!r}")


def _draw(probs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One index per row of ``probs`` (shape (B, V)), drawn by inverse-CDF sampling; shape (B, 1)."""
    u = torch.rand((probs.shape[0], 1), generator=generator, dtype=torch.float64)
    cdf = probs.double().cumsum(-1)
    # Rounding can leave the last cumulative value a hair below u; the clamp keeps the index in range.
    return (cdf <= u).sum(-1, keepdim=True).clamp_(max=probs.shape[-1] - 1)


@torch.no_grad()
def sample(model: TinyLM, vocab: CharVocab, batch_size: int, length: int, generator: torch.Generator) -> Rollout:
    """Draw ``batch_size`` texts of ``length`` characters from ``model`` at temperature 1.

    No top-k, no top-p: the tokens are exact samples from the model, which is what
    the sampled KL estimators assume (lesson 2).

    Each character is drawn by inverting the cumulative distribution at one uniform
    number: the character is the first whose cumulative probability exceeds it.
    Uniforms come from ``generator`` one by one in float64, and the running sum is
    sequential, so the draws are the same on every CPU (``torch.multinomial`` may use
    a vectorised random-number kernel that is not).
    """
    _check_counts(batch_size=batch_size, length=length)
    token = torch.full((batch_size, 1), vocab.bos, dtype=torch.long)
    state, picks, logps, ents = None, [], [], []
    for _ in range(length):
        logits, state = model(token, state)
        logp = torch.log_softmax(logits[:, -1], dim=-1)
        token = _draw(logp.exp(), generator)
        picks.append(token)
        logps.append(logp.gather(-1, token))
        ents.append(-(logp.exp() * logp).sum(-1, keepdim=True))
    return Rollout(torch.cat(picks, 1), torch.cat(logps, 1), torch.cat(ents, 1))


def score(model: TinyLM, vocab: CharVocab, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token log-probs and full-vocabulary entropies of given texts, in one pass.

    Parameters
    ----------
    tokens : torch.Tensor, shape (B, T), int64
        Texts that start right after the start character.

    Returns
    -------
    logprobs, entropies : torch.Tensor, shape (B, T)
        log p(token_t | earlier tokens) and the entropy of that next-character
        distribution, in nats. Gradients flow through both.
    """
    if tokens.ndim != 2 or tokens.dtype != torch.long:
        raise ValueError(f"tokens must be an int64 tensor of shape (B, T), got {tuple(tokens.shape)} {tokens.dtype}")
    start = torch.full((tokens.shape[0], 1), vocab.bos, dtype=torch.long)
    logits, _ = model(torch.cat([start, tokens[:, :-1]], 1))
    logp = torch.log_softmax(logits, dim=-1)
    return logp.gather(-1, tokens.unsqueeze(-1)).squeeze(-1), -(logp.exp() * logp).sum(-1)


def pretrain(
    steps: int = 600, batch_size: int = 32, window: int = 48, lr: float = 1e-2, seed: int = 0
) -> tuple[TinyLM, CharVocab, list[float]]:
    """Train the reference model on the training sentences by next-character prediction.

    Random windows of ``window`` characters are cut from the corpus (sentences
    joined by newlines). Adam with a learning rate that decays linearly to zero.

    Returns
    -------
    model : TinyLM
        The trained model, in eval mode.
    vocab : CharVocab
    losses : list of float
        Training cross-entropy per step, in nats per character.
    """
    _check_counts(steps=steps, batch_size=batch_size, window=window)
    if not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr!r}")
    torch.manual_seed(seed)
    text = BOS + BOS.join(load_sentences("train")) + BOS
    vocab = CharVocab.from_text(text)
    data = vocab.encode(text)
    model = TinyLM(vocab.size)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: 1.0 - i / steps)
    gen = torch.Generator().manual_seed(seed)
    losses = []
    for _ in range(steps):
        starts = torch.randint(0, len(data) - window - 1, (batch_size, 1), generator=gen)
        chunk = data[starts + torch.arange(window + 1)]
        logits, _ = model(chunk[:, :-1])
        loss = nn.functional.cross_entropy(logits.reshape(-1, vocab.size), chunk[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
    return model.eval(), vocab, losses
