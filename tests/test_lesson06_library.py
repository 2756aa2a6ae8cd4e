"""Lesson 6 library: the tiny model, the reward models, the RL loop and the self-check."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from kl_lessons.controllers import FixedKLController
from kl_lessons.corpus import HELDOUT_SENTENCES, N_SENTENCES, generate_corpus, load_sentences
from kl_lessons.reward_models import CharTrigramJudge, default_judge, gold_reward, proxy_reward, upbeat_count
from kl_lessons.rlhf import METRIC_KEYS, distinct_n, train
from kl_lessons.self_checks.lesson06 import _exact_text_kl, check_full_kl
from kl_lessons.tinylm import BOS, CharVocab, TinyLM, pretrain, sample, score

VOCAB = CharVocab.from_text("\n".join(load_sentences("all")))


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One thread, as in the notebook: tiny models run faster without thread hand-offs."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def reference() -> TinyLM:
    """A briefly pretrained model: enough to speak a little, cheap enough for a unit test."""
    model, vocab, losses = pretrain(steps=120, seed=0)
    assert vocab == VOCAB
    return model


def random_model(seed: int) -> TinyLM:
    torch.manual_seed(seed)
    return TinyLM(VOCAB.size).eval()


# --- corpus and vocabulary -------------------------------------------------------------


def test_shipped_corpus_is_what_the_grammar_writes():
    assert load_sentences("all") == generate_corpus()
    assert len(load_sentences("train")) == N_SENTENCES - HELDOUT_SENTENCES
    assert load_sentences("train") + load_sentences("heldout") == load_sentences("all")
    with pytest.raises(ValueError, match="split"):
        load_sentences("test")


def test_vocab_round_trip_and_unknown_characters():
    text = "the dog is happy!\nwe had fun."
    assert VOCAB.decode(VOCAB.encode(text).unsqueeze(0)) == [text]
    assert VOCAB.chars[VOCAB.bos] == BOS
    with pytest.raises(ValueError, match="outside the vocabulary"):
        VOCAB.encode("the dog is HAPPY")


# --- model and sampling ----------------------------------------------------------------


def test_forward_shapes():
    model = random_model(0)
    logits, state = model(torch.zeros(3, 7, dtype=torch.long))
    assert logits.shape == (3, 7, VOCAB.size)
    assert state.shape == (1, 3, model.gru.hidden_size)


def test_sampled_logprobs_and_entropies_match_a_fresh_forward_pass():
    model = random_model(1)
    roll = sample(model, VOCAB, 5, 9, torch.Generator().manual_seed(0))
    assert roll.tokens.shape == roll.logprobs.shape == roll.entropies.shape == (5, 9)
    logprobs, entropies = score(model, VOCAB, roll.tokens)
    torch.testing.assert_close(roll.logprobs, logprobs.detach(), atol=1e-5, rtol=0)
    # Cross-check the entropy against torch.distributions on the same logits.
    start = torch.full((5, 1), VOCAB.bos)
    logits, _ = model(torch.cat([start, roll.tokens[:, :-1]], 1))
    expected = torch.distributions.Categorical(logits=logits).entropy()
    torch.testing.assert_close(roll.entropies, expected.detach(), atol=1e-5, rtol=0)
    torch.testing.assert_close(entropies.detach(), expected.detach(), atol=1e-5, rtol=0)
    assert bool((roll.logprobs <= 0).all()) and bool((roll.entropies <= math.log(VOCAB.size) + 1e-5).all())


def test_batch_sampling_is_deterministic_by_seed():
    model = random_model(2)
    first = sample(model, VOCAB, 8, 12, torch.Generator().manual_seed(5))
    again = sample(model, VOCAB, 8, 12, torch.Generator().manual_seed(5))
    other = sample(model, VOCAB, 8, 12, torch.Generator().manual_seed(6))
    assert torch.equal(first.tokens, again.tokens) and torch.equal(first.logprobs, again.logprobs)
    assert not torch.equal(first.tokens, other.tokens)


def test_sampling_follows_the_model_distribution():
    # The first character's empirical frequencies match softmax(logits) (Monte Carlo, 4000 draws).
    model = random_model(3)
    roll = sample(model, VOCAB, 4000, 1, torch.Generator().manual_seed(0))
    probs = torch.softmax(model(torch.tensor([[VOCAB.bos]]))[0][0, -1], -1).detach()
    freq = torch.bincount(roll.tokens[:, 0], minlength=VOCAB.size).float() / 4000
    assert float((freq - probs).abs().max()) < 4 * math.sqrt(0.25 / 4000)


@pytest.mark.parametrize("bad", [0, -1, 2.5])
def test_sample_validates_sizes(bad):
    with pytest.raises(ValueError, match="batch_size"):
        sample(random_model(0), VOCAB, bad, 4, torch.Generator())
    with pytest.raises(ValueError, match="length"):
        sample(random_model(0), VOCAB, 2, bad, torch.Generator())


def test_pretrain_validates_arguments():
    with pytest.raises(ValueError, match="steps"):
        pretrain(steps=0)
    with pytest.raises(ValueError, match="window"):
        pretrain(window=0)
    with pytest.raises(ValueError, match="lr"):
        pretrain(lr=-1.0)


def test_score_validates_tokens():
    with pytest.raises(ValueError, match="tokens"):
        score(random_model(0), VOCAB, torch.zeros(4, dtype=torch.long))


def test_pretraining_learns_the_corpus(reference):
    _, _, losses = pretrain(steps=60, seed=0)
    assert sum(losses[-10:]) / 10 < 0.6 * sum(losses[:10]) / 10
    texts = VOCAB.decode(sample(reference, VOCAB, 32, 32, torch.Generator().manual_seed(0)).tokens)
    judge = default_judge(VOCAB.chars)
    assert float(gold_reward(texts, judge).mean()) > float(gold_reward(["qzx kv!!?p ." * 3] * 32, judge).mean())


# --- reward models ----------------------------------------------------------------------


def test_the_lesson_lists_the_proxys_upbeat_words_as_the_library_has_them():
    """Lesson 6 names the proxy's words in prose; they must be the library's list, in its order, not a placeholder."""
    import re
    from pathlib import Path

    import nbformat

    from kl_lessons.reward_models import UPBEAT_WORDS

    notebook = nbformat.read(Path(__file__).parents[1] / "notebooks" / "06_tiny_rlhf.ipynb", as_version=4)
    prose = next(c.source for c in notebook.cells if c.cell_type == "markdown" and "**proxy reward**" in c.source)
    listed = re.search(r"upbeat word\s+\(([^)]*)\)", prose)
    assert listed, "the proxy's bullet should list the upbeat words in parentheses"
    assert tuple(w.strip() for w in listed.group(1).split(",")) == UPBEAT_WORDS


def test_proxy_counts_bangs_and_upbeat_words():
    scores = proxy_reward(["the dog is happy!", "!!!!!!", "it was a cold day.", "great fun, good nice day"])
    assert scores.tolist() == [2.0, 6.0, 0.0, 4.0]
    assert upbeat_count("happy happy!") == 3


def test_gold_prefers_real_sentences_to_hacks():
    judge = default_judge(VOCAB.chars)
    sentence, hack, repeats = load_sentences("heldout")[0], "we sho!!!!!!!!!!!!!!!!!!!!!!!!!!", "great great great great"
    gold = gold_reward([sentence, hack, repeats], judge)
    assert float(gold[0]) > float(gold[1]) and float(gold[0]) > float(gold[2])
    proxy = proxy_reward([sentence, hack, repeats])
    assert float(proxy[1]) > float(proxy[0]) and float(proxy[2]) > float(proxy[0])


def test_judge_probabilities_sum_to_one():
    judge = CharTrigramJudge.fit(load_sentences("heldout"), VOCAB.chars)
    for context in ["", "th", "!!", "qq"]:
        total = sum(math.exp(judge.next_char_logprob(context, c)) for c in VOCAB.chars)
        assert total == pytest.approx(1.0, abs=1e-9)
    text = "the dog."
    mean = sum(judge.next_char_logprob(text[:i], text[i]) for i in range(len(text))) / len(text)
    assert judge.loglik_per_char(text) == pytest.approx(mean)


@pytest.mark.parametrize("bad", ["a single string", [], ["ok", 3]])
def test_reward_models_validate_texts(bad):
    with pytest.raises(ValueError, match="texts"):
        proxy_reward(bad)
    with pytest.raises(ValueError, match="texts"):
        gold_reward(bad, default_judge(VOCAB.chars))


# --- the RL loop -------------------------------------------------------------------------


def test_distinct_n_by_hand():
    assert distinct_n(["a b c", "a b d"]) == pytest.approx(3 / 4)
    assert distinct_n(["!!!!", "!!!!"]) == pytest.approx(1 / 2)        # a short text is one n-gram of its own
    assert distinct_n(["rive!!!!"] * 63 + ["we had"]) == pytest.approx(2 / 64)   # collapsed: near 0, not 1
    assert distinct_n(["", " "]) == 0.0
    assert distinct_n(["a b a b"], n=1) == pytest.approx(2 / 4)
    with pytest.raises(ValueError, match="n must"):
        distinct_n(["a b"], n=0)


@given(st.lists(st.text(alphabet="ab !", max_size=12), min_size=1, max_size=6), st.integers(1, 3))
def test_distinct_n_is_a_share(texts, n):
    assert 0.0 <= distinct_n(texts, n) <= 1.0


def test_short_run_without_penalty_raises_the_proxy(reference):
    judge = default_judge(VOCAB.chars)
    run = train(reference, VOCAB, FixedKLController(0.0), judge, steps=30, batch_size=32,
                sample_at=(0, 29), progress=False)
    assert set(METRIC_KEYS) <= set(run.metrics) and all(len(v) == 30 for v in run.metrics.values())
    proxy = run.metrics["proxy"]
    assert sum(proxy[-5:]) / 5 > sum(proxy[:5]) / 5 + 0.5
    assert run.metrics["kl_mean"][0] == 0.0  # the policy starts as an exact copy
    assert sorted(run.samples) == [0, 29] and len(run.samples[0]) == 3
    # Same arguments, same run: sampling is seeded and the reference is left untouched.
    again = train(reference, VOCAB, FixedKLController(0.0), judge, steps=30, batch_size=32, progress=False)
    assert again.metrics == run.metrics


def test_penalty_holds_kl_down(reference):
    judge = default_judge(VOCAB.chars)
    kwargs = dict(steps=30, batch_size=32, progress=False)
    free = train(reference, VOCAB, FixedKLController(0.0), judge, **kwargs)
    held = train(reference, VOCAB, FixedKLController(2.0), judge, **kwargs)
    assert sum(held.metrics["kl_mean"][-5:]) < 0.1 * sum(free.metrics["kl_mean"][-5:])
    assert held.metrics["beta"] == [2.0] * 30


def test_k3_records_a_kl_that_is_never_negative(reference):
    run = train(reference, VOCAB, FixedKLController(0.5), default_judge(VOCAB.chars), steps=8, batch_size=16,
                estimator="k3", progress=False)
    assert run.metrics["kl_mean"][0] == 0.0 and all(v >= 0 for v in run.metrics["kl_mean"])


def test_train_validates_arguments(reference):
    judge = default_judge(VOCAB.chars)
    with pytest.raises(ValueError, match="estimator"):
        train(reference, VOCAB, FixedKLController(0.1), judge, estimator="k4", progress=False)
    with pytest.raises(ValueError, match="steps"):
        train(reference, VOCAB, FixedKLController(0.1), judge, steps=0, progress=False)
    with pytest.raises(ValueError, match="lr"):
        train(reference, VOCAB, FixedKLController(0.1), judge, lr=0.0, progress=False)


# --- self-check --------------------------------------------------------------------------


def test_exact_text_kl_matches_torch_distributions():
    policy, ref = random_model(4), random_model(5)
    tokens = sample(policy, VOCAB, 3, 6, torch.Generator().manual_seed(0)).tokens
    start = torch.full((3, 1), VOCAB.bos)
    inputs = torch.cat([start, tokens[:, :-1]], 1)
    p = torch.distributions.Categorical(logits=policy(inputs)[0])
    q = torch.distributions.Categorical(logits=ref(inputs)[0])
    expected = torch.distributions.kl_divergence(p, q).sum(-1).detach()
    torch.testing.assert_close(_exact_text_kl(policy, ref, VOCAB, tokens), expected, atol=1e-5, rtol=0)


def test_self_check_messages():
    assert check_full_kl(_exact_text_kl).startswith("Correct")
    assert "KL(π_ref‖π)" in check_full_kl(lambda p, r, v, t: _exact_text_kl(r, p, v, t))
    assert check_full_kl(lambda p, r, v, t: _exact_text_kl(p, r, v, t)[:2]).startswith("Not yet")
    assert check_full_kl(lambda p, r, v, t: 1 / 0).startswith("Not yet: your function raised ZeroDivisionError")


def test_full_kl_check_names_the_per_token_mean():
    """Averaging the per-position KL over the text (a per-token mean) instead of summing it is named as such."""
    def per_token_mean(policy, reference, vocab, tokens):
        return _exact_text_kl(policy, reference, vocab, tokens) / tokens.shape[1]

    message = check_full_kl(per_token_mean)
    assert message.startswith("Not yet: that is the mean KL per character") and "sum over its positions" in message
    # The slip is recognised by its value, not by its shape: a vector of the right shape but wrong values is not it.
    assert "mean KL per character" not in check_full_kl(lambda p, r, v, t: 2 * _exact_text_kl(p, r, v, t))


def test_shout_threshold_check_recomputes_and_names_slips():
    from kl_lessons.self_checks.lesson06 import check_shout_threshold

    assert check_shout_threshold(1 / 8.4, -8.4).startswith("Correct")
    assert "cost in nats" in check_shout_threshold(8.4, -8.4)
    assert "bits" in check_shout_threshold(math.log(2) / 8.4, -8.4)
    assert "sign" in check_shout_threshold(-1 / 8.4, -8.4)
    for bad in (("x", -8.4), (float("nan"), -8.4), (10**400, -8.4), (0.1, 2.0)):
        assert check_shout_threshold(*bad).startswith(("Please", "log π_ref"))


def test_beta_step_limit_check_recomputes_and_names_slips():
    from kl_lessons.self_checks.lesson06 import check_beta_step_limit

    assert check_beta_step_limit(0.2 * 64 / 10_000).startswith("Correct")
    assert check_beta_step_limit(0.2 * 256 / 20_000, batch_size=256, horizon=20_000).startswith("Correct")
    assert "factor" in check_beta_step_limit(1.00128)
    assert "percent" in check_beta_step_limit(0.128)
    assert "512" in check_beta_step_limit(0.01024)
    assert "clipped" in check_beta_step_limit(0.0064)
    assert "64/horizon" in check_beta_step_limit(0.00002)
    assert check_beta_step_limit(10**400).startswith("Please")
