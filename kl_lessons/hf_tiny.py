"""Lesson 9: a real ``transformers`` model, made here: a tiny GPT-2 and a character tokenizer.

TRL's trainers take a model *name or folder* and a tokenizer, as they would for a model from the Hub. This
module makes both from the course's corpus, with no download: a ``tokenizers`` word-level model whose "words"
are single characters, wrapped in ``PreTrainedTokenizerFast``, and a 2-layer GPT-2 of width 64 built from its
config and pretrained by next-character prediction. The folder it is saved in (``save_pretrained``) is what
TRL loads twice: once as the policy and once as the frozen reference.

The newline is both the start of a text (the prompt is ``"\\n"``, as in lesson 6) and its end (the
tokenizer's end-of-sequence token), so a sampled completion is one sentence, of its own length.

The model computes in float64 for the reason lesson 6's does: training is chaotic, and float32 rounding
differences between CPUs grow into printed digits; in float64 they stay far below them.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import warnings
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Iterator

import torch
from tqdm.auto import tqdm

from ._validate import count, positive, seed as as_seed
from .corpus import load_sentences
from ._cache import cache_dir, exclusive
from .tinylm import BOS

#: The padding token: id 0, never sampled (its logit is masked only by training, as a real model's pad is).
PAD = "<pad>"

#: The model's shape: small enough to pretrain in seconds on one core, a real GPT-2 all the same.
N_LAYER, N_EMBD, N_HEAD, N_POSITIONS = 2, 64, 4, 96


def corpus_text() -> str:
    """The training sentences joined by newlines, with a newline before the first and after the last."""
    return BOS + BOS.join(load_sentences("train")) + BOS


def build_tokenizer(text: str | None = None):
    """A character tokenizer as ``transformers`` expects one: ``PreTrainedTokenizerFast`` over ``tokenizers``.

    Every distinct character of ``text`` (default: the training corpus) is one token, after the padding token
    (id 0). ``"\\n"`` is the start and end token. Decoding joins characters with nothing between them.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    text = corpus_text() if text is None else text
    if not isinstance(text, str) or BOS not in text:
        raise ValueError("text must be a string that contains the newline (the start and end character)")
    vocab = {PAD: 0, **{ch: i + 1 for i, ch in enumerate(sorted(set(text)))}}
    core = Tokenizer(models.WordLevel(vocab, unk_token=PAD))
    # Every character (newline included: [\s\S] matches it) is a "word" of its own.
    core.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
    core.decoder = decoders.Fuse()
    return PreTrainedTokenizerFast(
        tokenizer_object=core, pad_token=PAD, eos_token=BOS, bos_token=BOS, unk_token=PAD, padding_side="left",
    )


def build_model(vocab_size: int, seed: int = 0):
    """A fresh GPT-2 (2 layers, width 64, 4 heads), float64, no dropout, weights drawn from ``seed``."""
    from transformers import GPT2Config, GPT2LMHeadModel

    vocab_size = count(vocab_size, "vocab_size", maximum=1_000_000)
    config = GPT2Config(
        vocab_size=vocab_size, n_positions=N_POSITIONS, n_embd=N_EMBD, n_layer=N_LAYER, n_head=N_HEAD,
        # No dropout: the policy's and the reference's log-probs of a text must be a function of the weights alone.
        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, bos_token_id=1, eos_token_id=1, pad_token_id=0,
    )
    with torch.random.fork_rng():
        torch.manual_seed(as_seed(seed))
        # Drawn in float32 then widened: float64 normals would be portable too, but this is how the Hub's
        # models are initialised; the widening itself is exact.
        model = GPT2LMHeadModel(config)
    return model.to(torch.float64)


def _key(args: tuple) -> str:
    """What a pretrained folder depends on: the arguments, this module's code, the corpus and the versions."""
    import tokenizers
    import transformers

    key = hashlib.sha256(repr((args, torch.__version__, transformers.__version__, tokenizers.__version__)).encode())
    key.update(Path(__file__).read_bytes())
    key.update(resources.files("kl_lessons").joinpath("data/corpus.txt").read_bytes())
    return key.hexdigest()[:20]


def pretrain_hf(
    steps: int = 300, batch_size: int = 32, window: int = 48, lr: float = 3e-3, seed: int = 0, progress: bool = True,
) -> tuple[Path, list[float]]:
    """Pretrain the tiny GPT-2 on the corpus and save it (with its tokenizer) in a folder; return it and the losses.

    Random windows of ``window`` characters, Adam with a learning rate decaying linearly to zero, float64.
    The folder lives in the cache (``KL_LESSONS_CACHE``, else ``~/.cache/kl-lessons``) under a name that
    hashes the arguments, this module's code, the corpus and the torch/transformers/tokenizers versions, so
    a second call with the same arguments loads the same weights, bit for bit, and a change retrains.
    ``progress=True`` shows a bar while it trains (none when it loads).

    Returns
    -------
    folder : pathlib.Path
        Holds ``config.json``, the weights, the tokenizer and ``losses.json``: pass it to
        ``AutoModelForCausalLM.from_pretrained`` or to TRL as the model.
    losses : list of float
        Training cross-entropy per step, nats per character.
    """
    steps = count(steps, "steps", maximum=10**7)
    batch_size = count(batch_size, "batch_size", maximum=100_000)
    window = count(window, "window", maximum=N_POSITIONS - 1)
    lr = positive(lr, "lr")
    seed = as_seed(seed)
    if not isinstance(progress, bool):
        raise ValueError(f"progress must be True or False, got {progress!r}")
    folder = cache_dir() / f"gpt2-tiny-{_key((steps, batch_size, window, lr, seed))}"
    folder.parent.mkdir(parents=True, exist_ok=True)
    with exclusive(folder.with_suffix(".lock")):
        if not (folder / "losses.json").exists():
            with quiet():  # transformers' notices (e.g. about the config's loss_type) are not the lesson's
                model, tokenizer, losses = _pretrain(steps, batch_size, window, lr, seed, progress)
            # Saved under a private name, then renamed: a reader never sees half a folder.
            partial = folder.with_name(f"{folder.name}.{os.getpid()}.part")
            shutil.rmtree(partial, ignore_errors=True)
            with quiet():
                model.save_pretrained(partial)
                tokenizer.save_pretrained(partial)
            (partial / "losses.json").write_text(json.dumps(losses))
            shutil.rmtree(folder, ignore_errors=True)
            os.replace(partial, folder)
    return folder, json.loads((folder / "losses.json").read_text())


def _pretrain(steps: int, batch_size: int, window: int, lr: float, seed: int, progress: bool):
    """The training itself, for :func:`pretrain_hf` (arguments already checked)."""
    text = corpus_text()
    tokenizer = build_tokenizer(text)
    data = torch.tensor(tokenizer(text)["input_ids"], dtype=torch.long)
    if window > len(data) - 2:
        raise ValueError(f"window must be shorter than the corpus: at most {len(data) - 2} characters, got {window}")
    model = build_model(len(tokenizer), seed).train()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: 1.0 - i / steps)
    gen = torch.Generator().manual_seed(seed)
    losses = []
    for _ in tqdm(range(steps), desc="pretraining GPT-2", disable=not progress):
        starts = torch.randint(0, len(data) - window, (batch_size, 1), generator=gen)
        chunk = data[starts + torch.arange(window)]
        loss = model(input_ids=chunk, labels=chunk).loss  # the model shifts the labels itself
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
        if not math.isfinite(losses[-1]):
            raise ValueError(f"pretraining diverged at step {len(losses) - 1} (loss {losses[-1]}); lower lr (got {lr:g})")
    return model.eval(), tokenizer, losses


@contextmanager
def quiet() -> Iterator[None]:
    """Silence what the libraries print while training: their progress bars, info logs and FutureWarnings.

    Their text changes between versions and machines, and the lesson's outputs are compared as text.
    """
    import transformers
    from datasets.utils import logging as ds_logging

    level = transformers.logging.get_verbosity()
    bars = transformers.utils.logging.is_progress_bar_enabled()
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    ds_logging.disable_progress_bar()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", UserWarning)
            yield
    finally:
        transformers.logging.set_verbosity(level)
        if bars:
            transformers.utils.logging.enable_progress_bar()


def load(folder: str | os.PathLike):
    """The model (float64, eval mode) and tokenizer saved in ``folder`` by :func:`pretrain_hf` or a trainer."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = Path(folder)
    if not (folder / "config.json").is_file():
        raise ValueError(f"folder must hold a saved model (config.json), got {str(folder)!r}")
    with quiet():  # no loading bar: its text differs between runs
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float64)
        return model.eval(), AutoTokenizer.from_pretrained(folder)
