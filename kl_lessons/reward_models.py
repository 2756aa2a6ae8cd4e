"""Lessons 6 and 8: two reward models, one that can be fooled and one that judges quality, and a verifiable reward.

* :func:`proxy_reward` is what the policy is trained on. It was meant to reward
  cheerful text, but it only counts exclamation marks and a few upbeat words, so
  "!!!!!!!!" beats any real sentence: a reward that can be hacked.
* :func:`gold_reward` stands in for what we actually want (the "human" judge the
  proxy imitates): fluent text made of real words, not repeating itself, with a
  small bonus for being cheerful. The policy never sees it; we only watch it.

* :func:`question_reward` (lesson 8) is a *verifiable* reward, like a unit test or a
  maths checker: 1 if the text opens with one of the grammar's questions, word for
  word, else 0. Nothing scores without doing the task, so it cannot be hacked.
* :func:`question_mark_reward` (lesson 8) is the same checker with a hole, like a unit test that checks
  only the form of an answer: 1 if the text's first line ends with "?". Every answer
  :func:`question_reward` accepts passes it, and so does "the cat likes the hat?".

All take a list of texts and return a float64 tensor of shape (len(texts),).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import torch

from ._validate import count, positive, seed as as_seed
from .corpus import load_sentences, questions
from .tinylm import MAX_BATCH, MAX_LENGTH, CharVocab, TinyLM, check_model, sample

#: The words the proxy (and, a little, the gold judge) count as upbeat.
UPBEAT_WORDS = ("great", "good", "fun", "nice", "happy")

_WORD = re.compile(r"[a-z]+")


def _check_texts(texts: Sequence[str], name: str = "texts") -> list[str]:
    if isinstance(texts, (str, bytes, dict)) or not isinstance(texts, Iterable):
        raise ValueError(f"{name} must be a list of strings, got {type(texts).__name__}")
    texts = list(texts)
    if not all(isinstance(t, str) for t in texts):
        raise ValueError(f"{name} must be a list of strings")
    if len(texts) == 0:
        raise ValueError(f"{name} is empty")
    return list(texts)


def upbeat_count(text: str) -> int:
    """Number of "!" characters plus upbeat words in ``text``.

    Public API: the count behind :func:`proxy_reward`, to see why one text scores what it does.
    """
    if not isinstance(text, str):
        raise ValueError(f"text must be a string, got {type(text).__name__}")
    return text.count("!") + sum(word in UPBEAT_WORDS for word in _WORD.findall(text))


def proxy_reward(texts: Sequence[str]) -> torch.Tensor:
    """The hackable proxy: one point per "!" and per upbeat word.

    Parameters
    ----------
    texts : list of str

    Returns
    -------
    torch.Tensor, shape (len(texts),), float64
        Reward in points (unbounded above: 32 exclamation marks score 32).
    """
    return torch.tensor([float(upbeat_count(t)) for t in _check_texts(texts)], dtype=torch.float64)


_QUESTIONS = frozenset(questions())


def solved_question(text: str) -> str | None:
    """The grammar's question that ``text`` opens with (its first line, exactly), or ``None``.

    Public API: what :func:`question_reward` checks and :func:`answer_spread` counts, to read one text.
    """
    if not isinstance(text, str):
        raise ValueError(f"text must be a string, got {type(text).__name__}")
    first_line = text.split("\n", 1)[0]
    return first_line if first_line in _QUESTIONS else None


def question_reward(texts: Sequence[str]) -> torch.Tensor:
    """A verifiable reward: 1.0 for each text whose first line is one of the grammar's 98 questions, else 0.0.

    Returns a float64 tensor of shape (len(texts),), like the other rewards here.
    """
    return torch.tensor([float(solved_question(t) is not None) for t in _check_texts(texts)], dtype=torch.float64)


def question_mark_reward(texts: Sequence[str]) -> torch.Tensor:
    """A verifiable reward with a hole: 1.0 for each text whose first line ends with "?", else 0.0.

    It checks the form of an answer, not the answer, as a unit test with a hole does. Every text that
    :func:`question_reward` scores 1 scores 1 here too (each of the grammar's questions ends with "?"), and so
    does a statement with a question mark, "the cat likes the hat?". Returns a float64 tensor of shape
    (len(texts),).
    """
    return torch.tensor([float(t.split("\n", 1)[0].endswith("?")) for t in _check_texts(texts)], dtype=torch.float64)


def answer_spread(model: TinyLM, vocab: CharVocab, n: int = 256, length: int = 40, seed: int = 99) -> tuple[float, int]:
    """How often ``model`` solves the question task, and with how many different questions (lesson 8).

    Draws ``n`` fresh texts of ``length`` characters (with a generator seeded by ``seed``, so two models are
    compared on the same random numbers) and returns the share that :func:`question_reward` scores 1 and the
    number of distinct questions among them.
    """
    check_model(model, vocab)
    n, length = count(n, "n", maximum=MAX_BATCH), count(length, "length", maximum=MAX_LENGTH)
    texts = vocab.decode(sample(model, vocab, n, length, torch.Generator().manual_seed(as_seed(seed))).tokens)
    found = [q for q in map(solved_question, texts) if q]
    return len(found) / len(texts), len(set(found))


@dataclass
class CharTrigramJudge:
    """A character trigram model with add-``k`` smoothing, fitted on held-out sentences.

    It never saw the reference model's training text, so its log-likelihood is a
    second opinion on fluency rather than an echo of the reference.
    """

    alphabet: str
    k: float = 0.05
    counts: Counter = field(default_factory=Counter)
    context_counts: Counter = field(default_factory=Counter)
    lexicon: frozenset = frozenset()

    def __post_init__(self) -> None:
        if not isinstance(self.alphabet, str) or not self.alphabet:
            raise ValueError(f"alphabet must be a non-empty string of characters, got {self.alphabet!r}")
        self.k = positive(self.k, "k")

    @classmethod
    def fit(cls, sentences: Sequence[str], alphabet: str, k: float = 0.05) -> "CharTrigramJudge":
        """Count the trigrams of ``sentences``; ``alphabet`` non-empty, add-``k`` smoothing with k > 0."""
        judge = cls(alphabet=alphabet, k=k)
        text = "\n\n" + "\n".join(_check_texts(sentences, "sentences")) + "\n"
        for i in range(2, len(text)):
            judge.counts[text[i - 2 : i + 1]] += 1
            judge.context_counts[text[i - 2 : i]] += 1
        judge.lexicon = frozenset(_WORD.findall(text))
        return judge

    def next_char_logprob(self, context: str, char: str) -> float:
        """log p(``char`` | the last two characters of ``context``), in nats."""
        if not isinstance(context, str) or not isinstance(char, str) or len(char) != 1:
            raise ValueError(f"context must be a string and char one character, got {context!r}, {char!r}")
        pair = ("\n\n" + context)[-2:]
        num = self.counts[pair + char] + self.k
        return math.log(num / (self.context_counts[pair] + self.k * len(self.alphabet)))

    def loglik_per_char(self, text: str) -> float:
        """Mean log p(character | two before) over ``text``, in nats per character."""
        if not isinstance(text, str):
            raise ValueError(f"text must be a string, got {type(text).__name__}")
        # The same terms, summed in the same order, as next_char_logprob(text[:i], text[i]); each trigram's
        # value is computed once (the capstone scores 2,048 characters a step, mostly the same trigrams).
        padded = "\n\n" + text
        cache = self.__dict__.setdefault("_trigram_logprob", {})
        total = 0.0
        for i in range(len(text)):
            trigram = padded[i : i + 3]
            value = cache.get(trigram)
            if value is None:
                value = cache[trigram] = self.next_char_logprob(trigram[:2], trigram[2])
            total += value
        return total / max(1, len(text))


def default_judge(alphabet: str) -> CharTrigramJudge:
    """The gold judge fitted on the corpus's held-out sentences."""
    return CharTrigramJudge.fit(load_sentences("heldout"), alphabet)


def gold_reward(texts: Sequence[str], judge: CharTrigramJudge) -> torch.Tensor:
    """What we really want: fluent, real, varied and (a little) cheerful text.

    ``gold = fluency + real_words − repeats + 0.5·cheerful`` where

    * fluency: the judge's log-likelihood per character (nats, about −0.5 for
      corpus-like text, below −3 for "!!!!");
    * real_words: share of words that the judge's sentences contain (0 to 1);
    * repeats: share of words that repeat an earlier word of the same text (0 to 1);
    * cheerful: 1 if the text has at least one upbeat word, else 0. Counting it once
      is the difference from the proxy, which counts every repetition.

    Parameters
    ----------
    texts : list of str
    judge : CharTrigramJudge
        From :func:`default_judge`.

    Returns
    -------
    torch.Tensor, shape (len(texts),), float64
        Gold score, higher is better (arbitrary units).
    """
    if not isinstance(judge, CharTrigramJudge):
        raise ValueError(f"judge must be a CharTrigramJudge (see default_judge), got {type(judge).__name__}")
    scores = []
    for text in _check_texts(texts):
        words = text.split()
        plain = ["".join(_WORD.findall(w)) for w in words]
        real = sum(p in judge.lexicon for p in plain) / max(1, len(words))
        repeats = (len(plain) - len(set(plain))) / max(1, len(plain))
        cheerful = float(any(p in UPBEAT_WORDS for p in plain))
        scores.append(judge.loglik_per_char(text) + real - repeats + 0.5 * cheerful)
    return torch.tensor(scores, dtype=torch.float64)
