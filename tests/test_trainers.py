"""Every trainer fact of the course, checked in the pinned trainers' own code (TRL installed; verl, OpenRLHF wheels).

The checks live in scripts/trainer_checks.py, shared with the drift watch (scripts/trainer_drift.py); each
failure message names the trainer's version and file and, for a page, the page, its line and the phrase.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest
import torch

from kl_lessons import practice_map as pm
from kl_lessons.estimators import kl_estimate
from kl_lessons.kl_gradients import RECIPES
from kl_lessons.toy_sequences import jackpot_toy

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import trainer_checks as tc  # noqa: E402
import trainer_sources as ts  # noqa: E402


@pytest.fixture(scope="module")
def sources() -> dict[str, ts.Source]:
    return {name: ts.pinned(name) for name in ("trl", "verl", "openrlhf")}


def test_the_pins_are_the_versions_the_facts_were_read_in(sources) -> None:
    assert {name: src.version for name, src in sources.items()} == pm.READ_IN
    assert f'"trl=={pm.READ_IN["trl"]}"' in (ROOT / "pyproject.toml").read_text()


@pytest.mark.parametrize("fact", pm.TRAINER_FACTS, ids=lambda f: f"{f.trainer}-{f.kind}-{f.name}-{f.value}")
def test_each_default_option_and_logged_key_is_in_the_pinned_code(fact: pm.TrainerFact, sources) -> None:
    assert tc.check_fact(fact, sources[fact.trainer]) is None, tc.check_fact(fact, sources[fact.trainer])


@pytest.mark.slow
def test_trl_fields_read_from_source_match_the_imported_dataclasses(sources) -> None:
    # The drift watch reads TRL's defaults with ast (a newer TRL cannot be imported beside the pinned one);
    # here that reading is cross-checked against the dataclasses themselves.
    import dataclasses

    import trl

    for cls in tc.TRL_CONFIGS:
        imported = {f.name: f.default for f in dataclasses.fields(getattr(trl, cls))}
        for name, value in sources["trl"].trl_config(cls).items():
            assert imported[name] == value, (cls, name)


@pytest.mark.parametrize("trainer", ["verl", "openrlhf"])
def test_each_estimator_is_the_courses_clamped_where_the_trainer_clamps(trainer: str, sources) -> None:
    assert tc.check_values(sources[trainer]) == []


def test_the_clamps_differ_from_the_course_exactly_where_stated(sources) -> None:
    # The course's estimators have no clamp; verl clamps k3 at 10 nats, OpenRLHF every estimator to ±10.
    lp, ref = tc.random_logprobs()
    k1, k3 = kl_estimate(lp, ref, "k1"), kl_estimate(lp, ref, "k3")
    verl_k3 = tc.trainer_estimate(sources["verl"], "low_var_kl", lp, ref)
    orl_k1 = tc.trainer_estimate(sources["openrlhf"], "k1", lp, ref).double()
    assert bool((k3 > 10).any()) and torch.equal(verl_k3[k3 > 10], torch.full_like(verl_k3[k3 > 10], 10.0))
    assert bool((k1.abs() > 10).any()) and torch.allclose(orl_k1[k1.abs() > 10], k1[k1.abs() > 10].clamp(-10, 10))
    # verl leaves k1 unclamped: the two trainers' k1 differ beyond ±10 nats.
    assert torch.equal(tc.trainer_estimate(sources["verl"], "k1", lp, ref), k1)


def test_a_clamped_token_has_zero_gradient_and_k3_plus_has_k2s_gradient(sources) -> None:
    lp, ref = tc.random_logprobs(200, seed=3)
    k3 = kl_estimate(lp, ref, "k3")
    for name, estimator in (("verl", "low_var_kl"), ("openrlhf", "k3")):
        x = lp.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(tc.trainer_estimate(sources[name], estimator, x, ref).sum(), x)
        clamped = k3 > 10
        assert bool(clamped.any()) and torch.all(g[clamped] == 0), name
        # Elsewhere it is k3's own gradient, 1 − π_ref/π.
        assert torch.allclose(g[~clamped].double(), 1 - (ref - lp)[~clamped].exp(), rtol=1e-5), name
    x = lp.clone().requires_grad_(True)
    value = tc.trainer_estimate(sources["verl"], "k3+", x, ref)
    (g,) = torch.autograd.grad(value.sum(), x)
    assert torch.allclose(value, k3.clamp(max=10)) and torch.allclose(g, lp - ref)  # k3's value, k2's gradient


@pytest.mark.slow
@pytest.mark.parametrize("claim", [c for c in pm.TRAINER_CLAIMS if c.trainer != "trl"],
                         ids=lambda c: f"{c.trainer}-{c.placement}-{c.setting}")
def test_each_trainer_function_placed_as_the_trainer_places_it_follows_the_maps_gradient(claim, sources) -> None:
    assert tc.check_gradient_claim(claim, sources[claim.trainer]) == []


@pytest.mark.slow
def test_the_k3_clamp_bites_on_lesson_7s_toy(sources) -> None:
    # Both branches of the check are exercised: at drift 1 on seed 0 some token's k3 passes 10 nats.
    claim = next(c for c in pm.TRAINER_CLAIMS if c.setting == "low_var_kl")
    bites = [tc.clamp_bites(sources["verl"], claim, jackpot_toy(v, t, s).policy(d), jackpot_toy(v, t, s).ref,
                            jackpot_toy(v, t, s).space) for s, v, t in tc.TOYS for d in tc.DRIFTS]
    assert any(bites) and not all(bites)


@pytest.mark.slow
def test_the_clamp_numbers_practice_md_states(sources) -> None:
    # "On lesson 7's toy (seed 0) at drift 1, two tokens pass 10 nats and k3 in the loss then follows none of the
    # gradients above (7 % off ∇KL(π_ref‖π)); at drift 0.25 none does."
    toy = jackpot_toy(3, 3, 0)
    for drift, passing in ((1.0, 2), (0.25, 0)):
        theta = toy.policy(drift)
        k3 = kl_estimate(tc._pick(theta, toy.space), tc._pick(toy.ref, toy.space), "k3")
        assert int((k3 > 10).sum()) == passing
        got = tc.placed_gradient(sources["verl"], "loss", "low_var_kl", theta, toy.ref, toy.space)
        err = tc.bias_metrics(got, pm.gradient_targets(theta, toy.ref, toy.space)["token_forward"])["rel_error"]
        assert (0.065 < err < 0.075) if passing else err < 1e-9, (drift, err)


@pytest.mark.slow
def test_openrlhf_unbiased_gradient_off_policy_weights_prefixes_by_pi_old(sources) -> None:
    assert tc.check_unbiased_off_policy(sources["openrlhf"]) == []


def test_openrlhf_clips_the_importance_weight_at_10(sources) -> None:
    # practice.md: "w = π/π_old (detached, clipped at 10)". A token with w = e³ ≈ 20 gets the gradient of w = 10.
    fn = sources["openrlhf"].functions()
    assert fn.KL_IS_WEIGHT_CLIP == 10.0
    lp = torch.tensor([-1.0], dtype=torch.float64, requires_grad=True)
    ref, old = torch.tensor([-2.0], dtype=torch.float64), torch.tensor([-4.0], dtype=torch.float64)
    value = fn.compute_approx_kl(lp, ref, log_probs_old=old, kl_estimator="k3", unbiased_gradient=True)
    (g,) = torch.autograd.grad(value.sum(), lp)
    assert value.item() == pytest.approx(kl_estimate(lp.detach(), ref, "k3").item(), rel=1e-6)
    assert g.item() == pytest.approx(10.0 * (lp - ref).item(), rel=1e-6)


def test_every_trainer_claim_is_stated_in_its_row() -> None:
    rows = {row.recipe: row for row in pm.PRACTICE_MAP}
    for claim in pm.TRAINER_CLAIMS:
        assert claim.trainer in pm.READ_IN and claim.row in rows, claim
        if claim.follows is not None:
            assert pm.TARGETS[claim.follows] in rows[claim.row].follows, claim


# ------------------------------------------------------------------------------------------------ TRL
@pytest.fixture(scope="module")
def trl_trainer(tmp_path_factory):
    """TRL's own GRPOTrainer on lesson 9's tiny GPT-2 (fresh weights) with a four-character tokenizer; no download."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    from kl_lessons.hf_tiny import build_model, build_tokenizer

    folder = tmp_path_factory.mktemp("tiny_gpt2")
    tok = build_tokenizer("\nab!")
    build_model(len(tok), seed=0).save_pretrained(folder)
    tok.save_pretrained(folder)
    args = GRPOConfig(output_dir=str(folder), use_cpu=True, bf16=False, report_to=[], beta=0.1,
                      per_device_train_batch_size=2, num_generations=2, max_completion_length=4, save_strategy="no")
    trainer = GRPOTrainer(model=str(folder), reward_funcs=lambda completions, **_: [0.0] * len(completions),
                          args=args, train_dataset=Dataset.from_dict({"prompt": ["\n"] * 2}), processing_class=tok)
    trainer.model.eval()  # "eval" mode: the loss is normalised by the tokens passed, with no accumulation steps
    return trainer


def trl_gradient(trainer, setting: str):
    """The expected gradient of TRL's GRPO KL term on a lesson-7 toy, through ``GRPOTrainer._compute_loss``.

    TRL's loss code runs as is; only the per-token log-probs come from the toy (each response's row of its own
    copy of the logits table), in place of the model's. Advantages are zero, so the policy term adds nothing;
    each response is a batch of its own under the ``"dapo"`` loss (``num_items_in_batch`` = its T tokens).
    """
    level, _, extra = setting.partition("+")

    def gradient(theta, ref, space):
        n, t = space.sequences.shape
        copies = theta.detach().expand(n, *theta.shape).clone().requires_grad_(True)
        lp = torch.log_softmax(copies, -1)[torch.arange(n).unsqueeze(-1), space.prefix_index, space.sequences]
        trainer._get_per_token_logps_and_entropies = lambda *a, **k: (lp, torch.zeros_like(lp), None)
        trainer.importance_sampling_level = level
        trainer.args.use_bias_correction_kl = extra != "nocorrection"
        inputs = {"prompt_ids": torch.ones(n, 1, dtype=torch.long), "prompt_mask": torch.ones(n, 1, dtype=torch.long),
                  "completion_ids": space.sequences, "completion_mask": torch.ones(n, t, dtype=torch.float64),
                  "advantages": torch.zeros(n, dtype=torch.float64), "num_items_in_batch": torch.tensor(float(t)),
                  "ref_per_token_logps": tc._pick(ref, space)}
        (grads,) = torch.autograd.grad(trainer._compute_loss(trainer.model, inputs), copies)
        # β/T: the "dapo" normaliser of one response of T tokens, times β.
        return torch.einsum("n,npv->pv", tc.sequence_probs(theta, space), grads) / (trainer.beta / t)

    return gradient


@pytest.mark.slow
@pytest.mark.parametrize("claim", [c for c in pm.TRAINER_CLAIMS if c.trainer == "trl"], ids=lambda c: c.setting)
def test_trl_grpo_kl_term_through_trls_own_loss_follows_the_maps_gradient(claim, sources, trl_trainer) -> None:
    assert trl_trainer.loss_type == "dapo" and trl_trainer.beta == 0.1
    assert tc.check_gradient_claim(claim, sources["trl"], trl_gradient(trl_trainer, claim.setting)) == []


@pytest.mark.slow
def test_trl_sequence_level_ratio_is_the_sequence_mean_on_every_token(sources, trl_trainer) -> None:
    # With "sequence", the ratio multiplying each token's k3 is exp(mean_t log π/π_old): the whole response's
    # tokens move it, so its expected gradient is none of the four (lesson 7's k3_ratio_loss is the token one).
    toy = jackpot_toy(3, 3, 1)
    theta = toy.policy(1.0)
    seq = trl_gradient(trl_trainer, "sequence")(theta, toy.ref, toy.space)
    tok = trl_gradient(trl_trainer, "token")(theta, toy.ref, toy.space)
    errors = {k: tc.bias_metrics(seq, v)["rel_error"] for k, v in pm.gradient_targets(theta, toy.ref,
                                                                                        toy.space).items()}
    assert min(errors.values()) > 1e-2, errors
    assert tc.bias_metrics(tok, pm.gradient_targets(theta, toy.ref, toy.space)["token_reverse"])["rel_error"] < 1e-9
    assert "k3_ratio_loss" in RECIPES


@pytest.mark.slow
def test_trl_loss_on_the_tiny_model_is_beta_times_the_mean_corrected_k3(trl_trainer) -> None:
    # The same loss code on the real model's own log-probs (no toy): with zero advantages it is β·Σ k3·ratio / n.
    trainer = trl_trainer
    trainer.__dict__.pop("_get_per_token_logps_and_entropies", None)
    trainer.importance_sampling_level, trainer.args.use_bias_correction_kl = "token", True
    ids = torch.tensor([[1], [1]])
    completion = torch.tensor([[2, 3, 4], [4, 4, 2]])
    mask = torch.ones(2, 3, dtype=torch.long)
    with torch.no_grad():
        lp = trainer._get_per_token_logps_and_entropies(trainer.model, torch.cat([ids, completion], 1),
                                                        torch.ones(2, 4, dtype=torch.long), 3)[0]
    ref = lp - 0.3 * torch.arange(6, dtype=lp.dtype).reshape(2, 3) / 6
    old = lp + 0.05
    inputs = {"prompt_ids": ids, "prompt_mask": torch.ones(2, 1, dtype=torch.long), "completion_ids": completion,
              "completion_mask": mask, "advantages": torch.zeros(2), "num_items_in_batch": torch.tensor(6.0),
              "ref_per_token_logps": ref, "old_per_token_logps": old}
    loss = trainer._compute_loss(trainer.model, inputs)
    want = trainer.beta * (kl_estimate(lp, ref, "k3") * (lp - old).exp()).sum() / 6
    # Float32 agreement: TRL loads the saved model in float32, and TRL writes k3 as exp(x) − x − 1, kl_estimate as
    # expm1(x) − x, which round differently.
    assert lp.dtype == torch.float32
    assert loss.item() == pytest.approx(want.item(), rel=1e-5)
    assert trainer._metrics["eval"]["kl"][-1] == pytest.approx(want.item() / trainer.beta, rel=1e-5)


# ------------------------------------------------------------------------------------------------ pages
def test_the_pages_and_lessons_state_only_what_the_pinned_trainers_do(sources) -> None:
    # practice.md, cheatsheet.md, glossary.md, index.md and every notebook's markdown; an old spelling is allowed
    # only on a line that dates the rename (see trainer_checks.PageScan.dates_a_rename).
    failures = tc.scan_pages(sources)
    assert not failures, "\n".join(failures)


def test_an_old_spelling_passes_only_beside_its_rename(sources) -> None:
    lines = [("a.md:1", "OpenRLHF's `--init_kl_coef` (renamed `--algo.kl.init_coef` in v0.10.2)"),
             ("a.md:2", "`--init_kl_coef` → `--algo.kl.init_coef`"),
             ("a.md:3", "OpenRLHF's `--init_kl_coef 0.01`")]
    assert [m.split(":")[1] for m in tc.scan_pages(sources, lines=lines)] == ["3"]


def _patched(src: ts.Source, old: str, new: str) -> ts.Source:
    return ts.Source(src.name, src.version + "+patched", src.origin,
                     lambda inner: src.read_file(inner).replace(old, new))


def test_a_renamed_flag_fails_naming_the_file_the_page_and_the_phrase(sources) -> None:
    # OpenRLHF before 0.10.2 spelled the flag --init_kl_coef; a copy patched back to it must fail the checks.
    old = _patched(sources["openrlhf"], '"--algo.kl.init_coef"', '"--init_kl_coef"')
    fact = next(f for f in pm.TRAINER_FACTS if f.name == "--algo.kl.init_coef")
    assert tc.check_fact(fact, old) == ("openrlhf 0.11.2+patched, openrlhf/cli/train_ppo_ray.py: no option "
                                        "--algo.kl.init_coef; did you mean --init_kl_coef?")
    found = tc.scan_pages({**sources, "openrlhf": old}, lines=[("practice.md:41", "| `--algo.kl.init_coef 0.01` |")])
    assert found == ["practice.md:41: `--algo.kl.init_coef`: not an option in openrlhf 0.11.2+patched, "
                     "openrlhf/cli/train_ppo_ray.py; did you mean --init_kl_coef?"]


def test_a_changed_default_or_estimator_fails(sources) -> None:
    changed = _patched(sources["verl"], "kl_loss_coef: 0.001", "kl_loss_coef: 0.01")
    assert "defaults to 0.01, the course says 0.001" in tc.check_fact(
        pm.TrainerFact("verl", "default", "actor_rollout_ref.actor.kl_loss_coef", 0.001), changed)
    unclamped = _patched(sources["verl"], "torch.clamp(kld, min=-10, max=10)", "kld")
    assert any("low_var_kl differs" in m for m in tc.check_values(unclamped))
    lines = [("cheatsheet.md:9", "verl's `kl_loss_coef: 0.01` and `kl_loss_type: k4`; TRL's default `beta=0.5`"),
             ("lesson:1", "the lesson runs TRL with `beta=0.5` and `loss_type=\"grpo\"`, not `loss_type=\"ppo\"`")]
    assert [m.split(": `")[1].split("`")[0] for m in tc.scan_pages(sources, lines=lines)] == [
        "kl_loss_coef: 0.01", "kl_loss_type: k4", "beta=0.5", 'loss_type="ppo"']


def test_the_wheels_are_small_and_read_without_importing_their_packages(sources) -> None:
    sizes = [ts.find_wheel(n, v).stat().st_size for n, v in ts.PINS.items()]
    assert sum(sizes) < 20e6
    assert "verl" not in sys.modules and "openrlhf" not in sys.modules


def test_the_logged_keys_table_names_only_checked_keys() -> None:
    checked = {(f.trainer, f.name) for f in pm.TRAINER_FACTS if f.kind == "key"}
    for label, keys, _, _ in pm.LOGGED_KEYS:
        trainer = tc._trainer_in(label)
        if trainer is not None:
            assert {(trainer, k) for k in keys} <= checked, (label, keys)
    assert {t for t, _ in checked} == {"trl", "verl", "openrlhf"}


def test_the_trainer_tables_quote_the_checked_defaults() -> None:
    table = pm.render_trainer_table()
    assert pm.setting("--algo.kl.init_coef") == "`--algo.kl.init_coef 0.01`" and "`--algo.kl.init_coef 0.01`" in table
    assert pm.setting("actor_rollout_ref.actor.use_kl_loss") == "`use_kl_loss: false`"
    assert pm.setting("GRPOConfig.scale_rewards") == '`scale_rewards="group"`'
    assert pm.setting("--algo.kl.use_loss") == "`--algo.kl.use_loss`"
    with pytest.raises(ValueError, match="name"):
        pm.setting("--init_kl_coef")


def test_rloo_beta_multiplies_the_summed_k1_while_its_logged_kl_is_a_per_token_mean(sources) -> None:
    # The cheat sheet and the map: RLOOConfig.beta times the k1 summed over each response, subtracted from its
    # reward; the logged "kl" divides the batch's summed k1 by its token count. Read as statements of TRL's code.
    import ast

    src = sources["trl"]
    statements = {ast.unparse(node) for node in ast.walk(ast.parse(src.text("trl_rloo")))
                  if isinstance(node, (ast.Assign, ast.Expr))}
    where = src.label("trl_rloo")
    assert "per_token_kl = old_per_token_logps - ref_per_token_logps" in statements, where
    assert "kl = (per_token_kl * completion_mask).sum(-1)" in statements, where
    assert "rewards = rewards - self.beta * kl" in statements, where
    assert any("(per_token_kl * completion_mask).sum(), completion_mask.sum().float()" in s for s in statements), where
    assert "self._metrics[mode]['kl'].append((kl_stats[0] / kl_stats[1].clamp(min=1.0)).item())" in statements, where
