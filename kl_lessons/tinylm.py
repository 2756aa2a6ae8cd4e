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

import hashlib
import math
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from ._cache import cache_dir, exclusive
from ._validate import count, positive, seed as as_seed
from .corpus import load_sentences

#: The start-of-text character (also the sentence separator of the corpus).
BOS = "\n"

#: Longest text :func:`sample` draws and largest batch it draws at once (far above the lessons' 32 × 64).
MAX_LENGTH, MAX_BATCH = 100_000, 1_000_000


def set_determinism(seed: int = 0, threads: int = 1) -> None:
    """Seed torch and fix the thread count.

    One thread keeps float reductions in the same order on every run, so two runs on
    the same machine produce bit-identical samples; float64 keeps runs on different
    machines equal far below the printed precision (see the module docstring).
    ``torch.use_deterministic_algorithms`` adds nothing to that on a CPU (the
    pretraining losses match bit for bit without it) and slows pretraining by half.
    """
    torch.manual_seed(as_seed(seed))
    torch.set_num_threads(count(threads, "threads", maximum=1024))


@dataclass(frozen=True)
class CharVocab:
    """The characters the model knows; ``chars[i]`` is token ``i``."""

    chars: str

    def __post_init__(self) -> None:
        if not isinstance(self.chars, str) or not self.chars:
            raise ValueError(f"chars must be a non-empty string, got {self.chars!r}")
        if len(set(self.chars)) != len(self.chars):
            raise ValueError(f"chars must not repeat a character, got {self.chars!r}")

    @classmethod
    def from_text(cls, text: str) -> "CharVocab":
        if not isinstance(text, str):
            raise ValueError(f"text must be a string, got {type(text).__name__}")
        return cls("".join(sorted(set(text) | {BOS})))

    @property
    def size(self) -> int:
        return len(self.chars)

    @property
    def bos(self) -> int:
        if BOS not in self.chars:
            raise ValueError("the vocabulary has no start character (newline); build it with CharVocab.from_text")
        return self.chars.index(BOS)

    def encode(self, text: str) -> torch.Tensor:
        """Token ids of ``text``, shape (len(text),), int64."""
        if not isinstance(text, str):
            raise ValueError(f"text must be a string, got {type(text).__name__}")
        unknown = set(text) - set(self.chars)
        if unknown:
            raise ValueError(f"text has characters outside the vocabulary: {sorted(unknown)}")
        lookup = {ch: i for i, ch in enumerate(self.chars)}
        return torch.tensor([lookup[ch] for ch in text], dtype=torch.long)

    def decode(self, tokens: torch.Tensor) -> list[str]:
        """Texts of a batch of token ids of shape (B, T)."""
        _check_tokens(tokens, self.size)
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
        vocab_size = count(vocab_size, "vocab_size", maximum=1_000_000)
        embed_dim = count(embed_dim, "embed_dim", maximum=100_000)
        hidden_dim = count(hidden_dim, "hidden_dim", maximum=100_000)
        if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
            raise ValueError(f"dtype must be a floating torch dtype, got {dtype!r}")
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


def check_model(model: object, vocab: object, name: str = "model") -> None:
    """Raise ``ValueError`` unless ``model`` is a :class:`TinyLM` whose vocabulary is ``vocab``'s size.

    Public API: the check every function that takes a model and its vocabulary runs first (here, in
    :mod:`~kl_lessons.rlhf` and :mod:`~kl_lessons.reward_models`); call it on a model you built yourself.
    """
    if not isinstance(vocab, CharVocab):
        raise ValueError(f"vocab must be a CharVocab, got {type(vocab).__name__}")
    if not isinstance(model, TinyLM):
        raise ValueError(f"{name} must be a TinyLM, got {type(model).__name__}")
    sizes = {model.embed.num_embeddings, model.head.out_features}
    if sizes != {vocab.size}:
        raise ValueError(f"{name} has a vocabulary of {min(sizes)} characters but vocab has {vocab.size}")


def _check_tokens(tokens: object, vocab_size: int, name: str = "tokens") -> torch.Tensor:
    """Token ids: an int64 tensor of shape (B, T), B, T ≥ 1, every id in [0, vocab_size)."""
    if not isinstance(tokens, torch.Tensor) or tokens.ndim != 2 or tokens.dtype != torch.long or tokens.is_meta:
        shape = tuple(tokens.shape) if isinstance(tokens, torch.Tensor) else type(tokens).__name__
        dtype = tokens.dtype if isinstance(tokens, torch.Tensor) else ""
        raise ValueError(f"{name} must be an int64 tensor of shape (B, T), got {shape} {dtype}")
    if tokens.numel() == 0:
        raise ValueError(f"{name} is empty, got shape {tuple(tokens.shape)}")
    low, high = int(tokens.min()), int(tokens.max())
    if low < 0 or high >= vocab_size:
        raise ValueError(f"{name} must hold ids in [0, {vocab_size - 1}], got ids from {low} to {high}")
    return tokens


def _draw(probs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One index per row of ``probs`` (shape (B, V)), drawn by inverse-CDF sampling; shape (B, 1)."""
    u = torch.rand((probs.shape[0], 1), generator=generator, dtype=torch.float64)
    cdf = probs.double().cumsum(-1)
    # Rounding can leave the last cumulative value a hair below u; the clamp keeps the index in range.
    return (cdf <= u).sum(-1, keepdim=True).clamp_(max=probs.shape[-1] - 1)


@torch.no_grad()
def sample(
    model: TinyLM, vocab: CharVocab, batch_size: int, length: int, generator: torch.Generator, *,
    temperature: float = 1.0, banned: str = "",
) -> Rollout:
    """Draw ``batch_size`` texts of ``length`` characters from ``model``, by default at temperature 1.

    No top-k, no top-p: with the defaults the tokens are exact samples from the model, which is what
    the sampled KL estimators assume (lesson 2). ``temperature`` (divides the logits) and ``banned``
    (characters never drawn, like a sampler's ``min_length`` banning the end token) make a sampler that is
    *not* the model: lesson 10 trains with one to show what that does to the logged KL.

    Each character is drawn by inverting the cumulative distribution at one uniform
    number: the character is the first whose cumulative probability exceeds it.
    Uniforms come from ``generator`` one by one in float64, and the running sum is
    sequential, so the draws are the same on every CPU (``torch.multinomial`` may use
    a vectorised random-number kernel that is not).

    The rollout's log-probabilities and entropies are the sampler's (what a serving engine reports).
    """
    check_model(model, vocab)
    batch_size = count(batch_size, "batch_size", maximum=MAX_BATCH)
    length = count(length, "length", maximum=MAX_LENGTH)
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    temperature = positive(temperature, "temperature")
    if not isinstance(banned, str) or any(c not in vocab.chars for c in banned):
        raise ValueError(f"banned must be a string of the vocabulary's characters, got {banned!r}")
    ban = torch.zeros(vocab.size, dtype=torch.bool)
    ban[[vocab.chars.index(c) for c in banned]] = True
    if bool(ban.all()):
        raise ValueError("banned must leave at least one character to draw")
    token = torch.full((batch_size, 1), vocab.bos, dtype=torch.long)
    state, picks, logps, ents = None, [], [], []
    for _ in range(length):
        logits, state = model(token, state)
        logits = logits[:, -1] if temperature == 1.0 else logits[:, -1] / temperature
        logp = torch.log_softmax(logits.masked_fill(ban, -math.inf) if banned else logits, dim=-1)
        token = _draw(logp.exp(), generator)
        picks.append(token)
        logps.append(logp.gather(-1, token))
        ents.append(-(logp.exp() * logp.nan_to_num(neginf=0.0)).sum(-1, keepdim=True))
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
    check_model(model, vocab)
    _check_tokens(tokens, vocab.size)
    start = torch.full((tokens.shape[0], 1), vocab.bos, dtype=torch.long)
    logits, _ = model(torch.cat([start, tokens[:, :-1]], 1))
    logp = torch.log_softmax(logits, dim=-1)
    return logp.gather(-1, tokens.unsqueeze(-1)).squeeze(-1), -(logp.exp() * logp).sum(-1)




def _cache_file(args: tuple) -> Path:
    """The file a pretraining run with these arguments is kept in.

    The key covers everything the result depends on: the arguments, this module's code, the corpus and
    torch's version. Change any of them and the model is trained afresh.
    """
    key = hashlib.sha256(repr((args, torch.__version__)).encode())
    key.update(Path(__file__).read_bytes())
    key.update(resources.files("kl_lessons").joinpath("data/corpus.txt").read_bytes())
    return cache_dir() / f"tinylm-{key.hexdigest()[:20]}.pt"


def pretrain(
    steps: int = 600, batch_size: int = 32, window: int = 48, lr: float = 1e-2, seed: int = 0, cache: bool = True,
    progress: bool = True,
) -> tuple[TinyLM, CharVocab, list[float]]:
    """Train the reference model on the training sentences by next-character prediction.

    Random windows of ``window`` characters are cut from the corpus (sentences
    joined by newlines). Adam with a learning rate that decays linearly to zero.

    Pretraining takes seconds to half a minute, and lessons 6 and 8 both need the same
    model, so with ``cache=True`` a finished model is saved to disk (in the folder named
    by ``KL_LESSONS_CACHE``, else ``~/.cache/kl-lessons``) and later calls with the
    same arguments load it: the same weights and losses, bit for bit. The file's name
    hashes the arguments, this module's code, the corpus and torch's version, so a
    change to any of them trains afresh. Delete the folder to retrain.

    ``progress=True`` shows a progress bar while it trains (none when it loads).

    Returns
    -------
    model : TinyLM
        The trained model, in eval mode.
    vocab : CharVocab
    losses : list of float
        Training cross-entropy per step, in nats per character.
    """
    steps = count(steps, "steps", maximum=10**7)
    batch_size = count(batch_size, "batch_size", maximum=MAX_BATCH)
    window = count(window, "window", maximum=MAX_LENGTH)
    lr = positive(lr, "lr")
    seed = as_seed(seed)
    if not isinstance(cache, bool):
        raise ValueError(f"cache must be True or False, got {cache!r}")
    if not isinstance(progress, bool):
        raise ValueError(f"progress must be True or False, got {progress!r}")
    if not cache:
        return _pretrain(steps, batch_size, window, lr, seed, progress)
    path = _cache_file((steps, batch_size, window, lr, seed))
    path.parent.mkdir(parents=True, exist_ok=True)
    with exclusive(path.with_suffix(".lock")):  # two processes that want one model train it once
        if not path.exists():
            model, vocab, losses = _pretrain(steps, batch_size, window, lr, seed, progress)
            # Write under a private name, then rename: a reader never sees half a file.
            partial = path.with_suffix(f".{os.getpid()}.part")
            # The global random state is saved too: a fresh run leaves it where the model's initialisation left
            # it, and code after pretrain() that draws from it must see the same numbers either way.
            record = {"state": model.state_dict(), "chars": vocab.chars, "losses": losses, "rng": torch.get_rng_state()}
            torch.save(record, partial)
            os.replace(partial, path)
            return model, vocab, losses
    saved = torch.load(path, weights_only=True)
    vocab = CharVocab(saved["chars"])
    model = TinyLM(vocab.size)
    model.load_state_dict(saved["state"])
    torch.set_rng_state(saved["rng"])
    return model.eval(), vocab, list(saved["losses"])


def _pretrain(
    steps: int, batch_size: int, window: int, lr: float, seed: int, progress: bool = False
) -> tuple[TinyLM, CharVocab, list[float]]:
    """The training itself, for :func:`pretrain` (arguments already checked)."""
    torch.manual_seed(seed)
    text = BOS + BOS.join(load_sentences("train")) + BOS
    vocab = CharVocab.from_text(text)
    data = vocab.encode(text)
    if window > len(data) - 2:
        raise ValueError(f"window must be shorter than the corpus: at most {len(data) - 2} characters, got {window}")
    model = TinyLM(vocab.size)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: 1.0 - i / steps)
    gen = torch.Generator().manual_seed(seed)
    losses = []
    for _ in tqdm(range(steps), desc="pretraining", disable=not progress):
        starts = torch.randint(0, len(data) - window - 1, (batch_size, 1), generator=gen)
        chunk = data[starts + torch.arange(window + 1)]
        logits, _ = model(chunk[:, :-1])
        loss = nn.functional.cross_entropy(logits.reshape(-1, vocab.size), chunk[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
        if not math.isfinite(losses[-1]):
            raise ValueError(f"pretraining diverged at step {len(losses) - 1} (loss {losses[-1]}); lower lr (got {lr:g})")
    return model.eval(), vocab, losses
