"""The practice map: each row's "the gradient follows" claim holds on exact toys, and both pages show the same table."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
import torch

from kl_lessons import practice_map as pm
from kl_lessons.kl_gradients import RECIPES, expected_gradient
from kl_lessons.toy_sequences import jackpot_toy, token_logprobs

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("practice_map_script", ROOT / "scripts" / "practice_map.py")
script = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(script)

#: Lesson 7's toy with several seeds and shapes (V, T); the claims must hold on every one.
TOYS = [(seed, 3, 3) for seed in (0, 1, 2, 3, 4)] + [(5, 2, 4), (6, 4, 2)]
CLAIMS = [(row.recipe, claim) for row in pm.PRACTICE_MAP for claim in row.claims]
GRADIENT_CLAIMS = [(name, c) for name, c in CLAIMS if c.method != pm.DPO_FIT]
ids = [f"{name}-{c.method}" for name, c in GRADIENT_CLAIMS]


@pytest.mark.parametrize("row_name, claim", GRADIENT_CLAIMS, ids=ids)
@pytest.mark.parametrize("seed, vocab, length", TOYS)
def test_each_recipe_follows_the_gradient_its_row_names(row_name: str, claim: pm.Claim, seed: int, vocab: int,
                                                        length: int) -> None:
    assert pm.gradient_follows(claim.method, seed, vocab_size=vocab, length=length) == claim.follows, row_name


@pytest.mark.parametrize("seed, vocab, length", TOYS)
def test_the_targets_are_far_apart_on_every_toy(seed: int, vocab: int, length: int) -> None:
    # A match means something only if no other target is close: the runner-up is off by more than 1 %.
    for recipe in RECIPES:
        errors = sorted(m["rel_error"] for m in pm.follows_metrics(recipe, seed, vocab_size=vocab,
                                                                   length=length).values())
        assert errors[0] < 1e-9 < 1e-2 < errors[1], (recipe, errors)


def test_a_match_is_a_cosine_of_one() -> None:
    for recipe in RECIPES:
        metrics = pm.follows_metrics(recipe, 2)
        assert metrics[pm.gradient_follows(recipe, 2)]["cosine"] == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("seed", [0, 3])
def test_rloo_whole_response_credit_has_the_return_to_go_expected_gradient(seed: int) -> None:
    # RLOO credits every token with the k1 summed over the whole response; on average that is k1_reward_rtg.
    toy = jackpot_toy(3, 3, seed)
    theta = toy.policy(1.0).clone().requires_grad_(True)
    lp = token_logprobs(theta, toy.space)
    seq_k1 = (lp - token_logprobs(toy.ref, toy.space)).sum(-1).detach()
    (whole,) = torch.autograd.grad((lp.sum(-1).exp().detach() * lp.sum(-1) * seq_k1).sum(), theta)
    rtg = expected_gradient(toy.policy(1.0), toy.ref, toy.space, "k1_reward_rtg")
    assert torch.allclose(whole, rtg, atol=1e-12)


@pytest.mark.parametrize("beta", [0.05, 0.1, 0.3, 1.0])
def test_dpo_row_reaches_pi_beta_on_lesson_4s_toy(beta: float) -> None:
    (dpo_row,) = [row for row in pm.PRACTICE_MAP if row.recipe == "DPO"]
    assert dpo_row.claims == (pm.Claim(pm.DPO_FIT, "tilted_optimum"),)
    assert pm.dpo_follows(beta) == "tilted_optimum"


def test_rows_with_no_kl_have_no_recipe_and_the_others_have_one() -> None:
    for row in pm.PRACTICE_MAP:
        if row.placement == "none":
            assert row.claims == () and row.default_beta == "0", row.recipe
        else:
            assert row.claims, row.recipe
    assert {r.recipe for r in pm.PRACTICE_MAP if not r.claims} == {"DAPO", "Dr. GRPO"}


def test_claims_name_real_recipes_and_the_cell_says_what_they_follow() -> None:
    for row in pm.PRACTICE_MAP:
        for claim in row.claims:
            assert claim.method in RECIPES or claim.method == pm.DPO_FIT, row.recipe
            assert pm.TARGETS[claim.follows] in row.follows, (row.recipe, claim.follows)


def test_every_source_key_is_in_the_bibliography() -> None:
    keys = set(re.findall(r"^@\w+\{([^,\s]+),", (ROOT / "references.bib").read_text(), re.MULTILINE))
    missing = sorted({key for row in pm.PRACTICE_MAP for key in row.sources} - keys)
    assert not missing, missing


def test_render_table_has_one_line_per_row_and_cites_every_key() -> None:
    lines = pm.render_table().splitlines()
    assert len(lines) == 2 + len(pm.PRACTICE_MAP)
    assert all(line.count(" | ") == len(pm.COLUMNS) - 1 for line in lines[:1] + lines[2:])
    assert lines[2].endswith("[@ziegler2019finetuning; @lmhumanpreferences; @ouyang2022training] |")


def test_both_pages_show_the_table_the_library_renders() -> None:
    assert script.stale() == [], "run python scripts/practice_map.py"
    for page in script.PAGES:
        assert pm.render_table() in (ROOT / page).read_text(), page


def test_the_script_refuses_a_page_without_one_block() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        script.updated("no markers here\n")
    block = f"{script.START}\n\nold\n\n{script.END}"
    want = f"before\n{script.START}\n\n{pm.render_table()}\n{script.END}\nafter\n"
    assert script.updated(f"before\n{block}\nafter\n") == want
