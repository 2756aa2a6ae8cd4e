"""Lesson 8's library: the verifiable reward, and the trainer's entropy bonus, step KL and reference resets."""

import itertools
import math

import pytest
import torch

from kl_lessons.controllers import FixedKLController
from kl_lessons.corpus import load_sentences, questions
from kl_lessons.divergence import entropy
from kl_lessons.dpo import exact_pair_weights, fit_dpo, implicit_reward
from kl_lessons.optimum import regularised_policy
from kl_lessons.reward_models import (
    answer_spread, default_judge, question_mark_reward, question_reward, solved_question,
)
from kl_lessons.self_checks.lesson08 import (
    check_cross_entropy, check_dpo_constant, check_matching_entropy_bonus, check_reset_run, dpo_constant,
    matching_entropy_bonus,
)
from kl_lessons.toy_responses import make_toy_responses
from kl_lessons.rlhf import METRIC_KEYS, train
from kl_lessons.shaped_reward import kl_penalized_rewards
from kl_lessons.tinylm import pretrain, sample


@pytest.fixture(scope="module")
def small():
    model, vocab, _ = pretrain(steps=40, seed=0)
    return model, vocab, default_judge(vocab.chars)


def letter_e(texts):
    """A reward that tells short samples of a weak model apart (the proxy scores most of them 0)."""
    return torch.tensor([float(t.count("e")) for t in texts], dtype=torch.float64)


def _run(small, **kw):
    model, vocab, judge = small
    args = {"steps": 6, "batch_size": 8, "length": 12, "seed": 0, "progress": False, "reward_fn": letter_e,
            "controller": FixedKLController(0.1), **kw}
    return train(model, vocab, judge=judge, **args)


def test_the_grammar_has_98_questions_and_the_corpus_asks_only_those():
    found = questions()
    assert len(found) == len(set(found)) == 14 * 7
    asked = [s for s in load_sentences("all") if s.endswith("?")]
    assert asked and all(s in found for s in asked)


def test_the_verifiable_reward_scores_exactly_the_grammars_questions():
    assert question_reward(list(questions())).tolist() == [1.0] * 98
    # What follows the first line does not matter; the first line must be a question, word for word.
    assert question_reward(["did the cat see the red ball?\nzz!!", "did the cat see the red ball"]).tolist() == [1, 0]
    near_misses = ["did the cat see the red ball?!", " did the cat see the red ball?", "Did the cat see the red ball?",
                   "did the cat see the blue ball?", "did the cat see the red ball.", "?", "", "did did did?"]
    assert question_reward(near_misses).tolist() == [0.0] * len(near_misses)
    assert solved_question("did my friend see the soft hat?\nyes") == "did my friend see the soft hat?"
    assert solved_question("the cat sits by the lake.") is None


@pytest.mark.parametrize("bad", ["did the cat see the red ball?", [], [3], None])
def test_the_verifiable_reward_wants_a_list_of_texts(bad):
    with pytest.raises(ValueError, match="texts"):
        question_reward(bad)
    with pytest.raises(ValueError, match="texts"):
        question_mark_reward(bad)


def test_the_checker_with_a_hole_accepts_every_answer_and_more():
    """question_mark_reward passes every text question_reward passes, and texts that are no answer at all."""
    answers = [q + tail for q in questions() for tail in ("", "\nzz!!")]
    assert question_mark_reward(answers).tolist() == [1.0] * len(answers)
    holes = ["the cat likes the hat?", "?", "did did did?\nwe had fun.", "did the cat see the red ball?!?"]
    assert question_mark_reward(holes).tolist() == [1.0] * len(holes) and question_reward(holes).tolist() == [0.0] * 4
    misses = ["did the cat see the red ball", "the cat?!", "we had fun.\ndid the cat see the red ball?", ""]
    assert question_mark_reward(misses).tolist() == [0.0] * len(misses)
    # On any texts at all, the hole only adds: where the exact checker says 1, so does the hole.
    texts = ["".join(chars) for chars in itertools.product("a?\n", repeat=4)] + list(load_sentences("all"))
    assert bool((question_mark_reward(texts) >= question_reward(texts)).all())


def test_the_kl_penalty_is_an_entropy_bonus_plus_an_anchor():
    g = torch.Generator().manual_seed(0)
    logp, ref = -torch.rand(4, 5, generator=g, dtype=torch.float64) * 3, -torch.rand(4, 5, generator=g, dtype=torch.float64) * 3
    scores, beta = torch.zeros(4, dtype=torch.float64), 0.3
    penalised, _ = kl_penalized_rewards(scores, logp, ref, beta, estimator="k1")
    assert torch.allclose(penalised, beta * -logp + beta * ref, atol=1e-15)


def test_the_new_options_change_nothing_when_off(small):
    plain = _run(small)
    off = _run(small, entropy_bonus=0.0, reset_reference_every=None)
    tracked = _run(small, track_step_kl=True)
    assert plain.metrics == off.metrics
    assert set(plain.metrics) == set(METRIC_KEYS) and set(tracked.metrics) == set(METRIC_KEYS) | {"step_kl"}
    # Measuring the step costs a forward pass; it does not change the training.
    assert all(plain.metrics[k] == tracked.metrics[k] for k in METRIC_KEYS)


def test_step_kl_is_the_kl_between_the_policy_before_and_after_each_update(small):
    step = _run(small, track_step_kl=True, lr=1e-2).metrics["step_kl"]
    assert all(v >= 0 for v in step) and max(step) > 0
    # A smaller learning rate moves the policy less at the first step, where both start from the reference.
    slow = _run(small, track_step_kl=True, lr=1e-3).metrics["step_kl"]
    assert slow[0] < step[0]


def test_an_entropy_bonus_raises_entropy_and_no_reward_is_needed(small):
    def no_reward(texts):
        return torch.zeros(len(texts), dtype=torch.float64)
    bonus = _run(small, controller=FixedKLController(0.0), entropy_bonus=2.0, reward_fn=no_reward, lr=2e-2, steps=12)
    entropy = bonus.metrics["entropy"]
    assert sum(entropy[-3:]) / 3 > sum(entropy[:3]) / 3


def test_a_reference_reset_puts_the_kl_back_to_zero(small):
    run = _run(small, controller=FixedKLController(0.0), reset_reference_every=3, lr=2e-2, track_step_kl=True)
    kl = run.metrics["kl_mean"]
    assert kl[0] == kl[3] == 0.0  # right after a reset the policy is its own reference
    assert kl[2] > 0 and kl[5] > 0


@pytest.mark.parametrize(("name", "value"), list(itertools.chain(
    [("entropy_bonus", v) for v in (-0.1, float("nan"), "0.1")],
    [("track_step_kl", v) for v in (1, "yes")],
    [("reset_reference_every", v) for v in (0, -2, 2.5)],
)))
def test_bad_options_name_themselves(small, name, value):
    with pytest.raises(ValueError, match=name):
        _run(small, **{name: value})


# ---- the self-checks: right answers pass, each common slip gets its own hint, junk gets advice


def test_answer_spread_counts_solved_texts_and_distinct_questions(small):
    model, vocab, _ = small
    share, distinct = answer_spread(model, vocab, n=64, length=40, seed=3)
    texts = vocab.decode(sample(model, vocab, 64, 40, torch.Generator().manual_seed(3)).tokens)
    solved = [solved_question(t) for t in texts if solved_question(t)]
    assert share == len(solved) / 64 and distinct == len(set(solved))


def test_dpo_constant_is_minus_beta_log_z_and_matches_the_fit():
    toy = make_toy_responses()
    fit = fit_dpo(toy.ref_probs, exact_pair_weights(toy.ref_probs, toy.gold), 0.3)
    shift = implicit_reward(fit.policy, toy.ref_probs, 0.3) - toy.gold
    assert abs(float(shift.mean()) - dpo_constant(0.3)) < 1e-12
    assert check_dpo_constant(round(dpo_constant(), 4)).startswith("Correct")
    assert "wrong sign" in check_dpo_constant(-dpo_constant())
    assert "multiply by β" in check_dpo_constant(dpo_constant() / 0.3)
    assert "proxy" in check_dpo_constant(-0.3 * float(torch.logsumexp(toy.ref_probs.log() + toy.proxy / 0.3, 0)))
    for junk in (..., None, "x", float("nan"), torch.ones(2)):
        assert "fill in" in check_dpo_constant(junk)


def test_matching_entropy_bonus_gives_pi_the_entropy_of_pi_ref():
    toy = make_toy_responses()
    alpha = matching_entropy_bonus()
    policy = regularised_policy(toy.ref_probs, toy.proxy, 0.0, alpha)
    assert abs(float(entropy(policy)) - float(entropy(toy.ref_probs))) < 1e-9
    assert check_matching_entropy_bonus(round(alpha, 3)).startswith("Correct")
    assert "raise α" in check_matching_entropy_bonus(alpha / 2) and "lower α" in check_matching_entropy_bonus(2 * alpha)
    assert "positive" in check_matching_entropy_bonus(-1.0)
    assert "fill in" in check_matching_entropy_bonus(...)


def test_check_cross_entropy_tells_the_right_function_from_the_usual_slips():
    assert check_cross_entropy(lambda p, q: -torch.xlogy(p, q).sum()).startswith("Correct")
    slips = {
        "swapped": lambda p, q: -torch.xlogy(q, p).sum(),
        "bits": lambda p, q: -torch.xlogy(p, q).sum() / math.log(2),
        "sign": lambda p, q: torch.xlogy(p, q).sum(),
        "KL(p‖q)": lambda p, q: (torch.xlogy(p, p) - torch.xlogy(p, q)).sum(),
        "entropy H(p)": lambda p, q: -torch.xlogy(p, p).sum(),
        "0·log 0": lambda p, q: -(p * q.log()).sum(),
        "returns None": lambda p, q: None,
        "raised": lambda p, q: 1 / 0,
    }
    for hint, fn in slips.items():
        message = check_cross_entropy(fn)
        assert message.startswith(("Not yet", "Your function")) and hint in message, (hint, message)
    assert "function itself" in check_cross_entropy(3)
    calls = []
    check_cross_entropy(lambda p, q: calls.append(1) or -torch.xlogy(p, q).sum())
    assert len(calls) == 4  # the learner's function runs once per case, not twice


def test_check_reset_run_wants_beta_03_with_resets(small):
    with_resets = _run(small, controller=FixedKLController(0.3), reset_reference_every=2, steps=6)
    assert check_reset_run(with_resets, every=2).startswith("Correct")
    assert "reset_reference_every=2" in check_reset_run(_run(small, controller=FixedKLController(0.3)), every=2)
    assert "β = 0.1" in check_reset_run(_run(small), every=2)
    assert "too few" in check_reset_run(with_resets, every=25)
    for junk in (..., None, "run", {"kl_mean": []}):
        assert "Please pass the run" in check_reset_run(junk)
