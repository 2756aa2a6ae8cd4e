"""Lesson 6: the tiny corpus the reference model learns English from.

A small grammar writes plain sentences about people, animals, places and days.
The text ships as ``kl_lessons/data/corpus.txt`` (one sentence per line), so
nothing is downloaded. Run ``python -m kl_lessons.corpus`` to regenerate it.

The first lines train the reference model; the last :data:`HELDOUT_SENTENCES`
lines are kept apart for the gold judge, so the judge never read the training text.
"""

from __future__ import annotations

import itertools
import random
from importlib import resources
from pathlib import Path

from ._validate import count, seed as as_seed

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


#: The grammar's sentence shapes: a pattern, the word list each "{}" is drawn from (in order), and
#: the closing mark. The list order matters: a seed picks shapes by position.
_TEMPLATES = (
    ("{} {} {} {}", (_SUBJECTS, _VERBS, _PLACES, _TIMES), "."),
    ("{} is {} today", (_SUBJECTS, _ADJECTIVES), "."),
    ("{} likes the {}", (_SUBJECTS, _THINGS), "."),
    ("it was a {} day at {}", (_DAYS, _PLACES), "."),
    ("did {} see the {}", (_SUBJECTS, _THINGS), "?"),
    ("we had fun at {}", (_PLACES,), "."),
    ("{} found a {} near {}", (_SUBJECTS, _THINGS, _PLACES), "."),
)


def _sentence(rng: random.Random) -> str:
    pattern, slots, end = _TEMPLATES[rng.randrange(len(_TEMPLATES))]
    words = pattern.format(*[rng.choice(options) for options in slots])
    # A few sentences shout: the reference model knows "!" exists, but it is rare.
    if end == "." and rng.random() < 0.08:
        end = "!"
    return words + end


def generate_corpus(n_sentences: int = N_SENTENCES, seed: int = 0) -> list[str]:
    """Write ``n_sentences`` sentences from the grammar, reproducibly from ``seed``."""
    n = count(n_sentences, "n_sentences", maximum=10**7)
    rng = random.Random(as_seed(seed))
    return [_sentence(rng) for _ in range(n)]


def questions() -> tuple[str, ...]:
    """Every question the grammar can write, in a fixed order (lesson 8's verifiable task).

    They are the sentences of the grammar's "?" shapes, every slot filled every possible way:
    "did the cat see the red ball?" and its 14 × 7 = 98 siblings.
    """
    found = []
    for pattern, slots, end in _TEMPLATES:
        if end == "?":
            found.extend(pattern.format(*words) + end for words in itertools.product(*slots))
    return tuple(found)


def load_sentences(split: str = "train") -> list[str]:
    """The shipped sentences: ``"train"`` (for the reference), ``"heldout"`` (for the judge) or ``"all"``."""
    if not isinstance(split, str) or split not in ("train", "heldout", "all"):
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
