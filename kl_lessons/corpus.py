"""Lesson 6: the tiny corpus the reference model learns English from.

A small grammar writes plain sentences about people, animals, places and days.
The text ships as ``kl_lessons/data/corpus.txt`` (one sentence per line), so
nothing is downloaded. Run ``python -m kl_lessons.corpus`` to regenerate it.

The first lines train the reference model; the last :data:`HELDOUT_SENTENCES`
lines are kept apart for the gold judge, so the judge never read the training text.
"""

from __future__ import annotations

import random
from importlib import resources
from pathlib import Path

#: How many sentences the shipped corpus holds, and how many of them are held out.
N_SENTENCES = 320
HELDOUT_SENTENCES = 80

_SUBJECTS = [
    "the cat", "the dog", "my friend", "the old man", "a little girl", "the teacher", "our team",
    "the bird", "my sister", "the farmer", "my brother", "the baker", "a young boy", "the puppy",
]
_PLACES = [
    "the park", "the river", "the garden", "the market", "the school", "the old house", "the hill",
    "the lake", "the beach", "the town", "the forest", "the shop",
]
_VERBS = ["walks to", "runs to", "looks at", "sits by", "waits near", "sings in", "reads in", "plays in"]
_TIMES = ["in the morning", "after lunch", "at night", "every day", "on sunday", "before dinner"]
_ADJECTIVES = ["happy", "sleepy", "quiet", "tall", "small", "busy", "kind", "brave", "hungry", "tired"]
_THINGS = ["red ball", "warm coat", "new book", "green apple", "big boat", "soft hat", "little kite"]
_DAYS = ["great", "good", "long", "cold", "nice", "rainy", "fun", "busy"]


def _sentence(rng: random.Random) -> str:
    c = rng.choice
    template = rng.randrange(7)
    if template == 0:
        words, end = f"{c(_SUBJECTS)} {c(_VERBS)} {c(_PLACES)} {c(_TIMES)}", "."
    elif template == 1:
        words, end = f"{c(_SUBJECTS)} is {c(_ADJECTIVES)} today", "."
    elif template == 2:
        words, end = f"{c(_SUBJECTS)} likes the {c(_THINGS)}", "."
    elif template == 3:
        words, end = f"it was a {c(_DAYS)} day at {c(_PLACES)}", "."
    elif template == 4:
        words, end = f"did {c(_SUBJECTS)} see the {c(_THINGS)}", "?"
    elif template == 5:
        words, end = f"we had fun at {c(_PLACES)}", "."
    else:
        words, end = f"{c(_SUBJECTS)} found a {c(_THINGS)} near {c(_PLACES)}", "."
    # A few sentences shout: the reference model knows "!" exists, but it is rare.
    if end == "." and rng.random() < 0.08:
        end = "!"
    return words + end


def generate_corpus(n_sentences: int = N_SENTENCES, seed: int = 0) -> list[str]:
    """Write ``n_sentences`` sentences from the grammar, reproducibly from ``seed``."""
    if n_sentences < 1:
        raise ValueError(f"n_sentences must be >= 1, got {n_sentences}")
    rng = random.Random(seed)
    return [_sentence(rng) for _ in range(n_sentences)]


def load_sentences(split: str = "train") -> list[str]:
    """The shipped sentences: ``"train"`` (for the reference), ``"heldout"`` (for the judge) or ``"all"``."""
    if split not in ("train", "heldout", "all"):
        raise ValueError(f"split must be 'train', 'heldout' or 'all', got {split!r}")
    text = resources.files("kl_lessons").joinpath("data/corpus.txt").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line]
    if split == "train":
        return lines[:-HELDOUT_SENTENCES]
    if split == "heldout":
        return lines[-HELDOUT_SENTENCES:]
    return lines


if __name__ == "__main__":
    target = Path(__file__).with_name("data") / "corpus.txt"
    target.parent.mkdir(exist_ok=True)
    target.write_text("\n".join(generate_corpus()) + "\n", encoding="utf-8")
    print(f"wrote {target.name}")
