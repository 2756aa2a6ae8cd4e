"""The practice map: where today's recipes put the KL, and what their gradient follows, checked by code.

Each row of :data:`PRACTICE_MAP` is one recipe as a trainer ships it: its estimator, where the
KL goes (reward or loss), its default β, what its expected gradient follows, and the
``references.bib`` keys of its sources. :func:`render_table` writes the rows as the markdown
table that the course's "β in practice" page and its cheat sheet both show, so the table has
one source.

A row's "the gradient follows" cell is a claim about an expectation, so it can be computed
exactly. Each row lists its :class:`Claim` objects: the lesson-7 recipe
(:data:`kl_lessons.kl_gradients.RECIPES`) it corresponds to and the gradient that recipe
should follow (a key of :data:`TARGETS`), or, for DPO, the fit of :mod:`kl_lessons.dpo` and
the optimum it should reach. :func:`gradient_follows` computes which target a recipe's
on-policy expected gradient equals on lesson 7's toy (:func:`~kl_lessons.toy_sequences.jackpot_toy`),
and :func:`dpo_follows` whether DPO's exact fit on lesson 4's toy is π_β. A row with no KL term
has no claim.

RLOO credits the k1 summed over the whole response to every token, not only the k1 still to
come. The extra terms pair a token's score with the k1 of earlier tokens, which that score
does not change, so they average to zero: its expected gradient is that of ``k1_reward_rtg``.

The checks are on-policy (the batch was sampled by the policy being updated) and with the exact
return-to-go or, equivalently in expectation, an exact value baseline. KL values are in nats;
gradients in nats per unit of logit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from ._validate import count, positive, seed as as_seed
from .dpo import exact_pair_weights, fit_dpo
from .kl_gradients import (
    RECIPES,
    bias_metrics,
    check_recipe,
    expected_gradient,
    local_forward_kl_gradient,
    local_kl_gradient,
)
from .optimum import tilted_policy
from .toy_responses import make_toy_responses
from .toy_sequences import exact_kl_gradient, jackpot_toy

#: What a recipe can follow, each with the words the table's "the gradient follows" column uses for it.
TARGETS: dict[str, str] = {
    "sequence_reverse": "∇KL(π‖π_ref) of the whole sequence",
    "token_reverse": "per token, ∇KL(π‖π_ref) with the prefix held fixed",
    "token_forward": "per token, ∇KL(π_ref‖π)",
    "sequence_forward": "∇KL(π_ref‖π) of the whole sequence",
    "tilted_optimum": "π_β ∝ π_ref·exp(r/β)",
}

#: The name a :class:`Claim` gives DPO's fit, in place of a lesson-7 recipe.
DPO_FIT = "kl_lessons.dpo.fit_dpo"

#: The table's column headings, in order.
COLUMNS = ("recipe", "estimator", "placement", "default β", "the gradient follows", "source")


@dataclass(frozen=True)
class Claim:
    """One checkable part of a row's "the gradient follows" cell.

    Attributes
    ----------
    method : str
        A key of :data:`~kl_lessons.kl_gradients.RECIPES`, or :data:`DPO_FIT`.
    follows : str
        A key of :data:`TARGETS`: what ``method``'s expected gradient equals (for DPO: where its fit ends).
    """

    method: str
    follows: str


@dataclass(frozen=True)
class PracticeRow:
    """One row of the practice map: the table's six cells and the claims behind the fifth.

    Attributes
    ----------
    recipe, estimator, placement, default_beta, follows : str
        The cells, as markdown.
    sources : tuple of str
        ``references.bib`` keys, rendered as ``[@a; @b]``.
    claims : tuple of Claim
        What the code checks; empty for a recipe with no KL term.
    """

    recipe: str
    estimator: str
    placement: str
    default_beta: str
    follows: str
    sources: tuple[str, ...]
    claims: tuple[Claim, ...] = ()


#: The trainer versions every trainer fact below was read in (December 2026): TRL as pinned in pyproject.toml,
#: verl and OpenRLHF from their wheels (``scripts/trainer_sources.py`` holds those pins). tests/test_trainers.py
#: reads each fact in that version's own code, so a rename or a changed default fails a test.
READ_IN: dict[str, str] = {"trl": "1.16.0", "verl": "0.9.1", "openrlhf": "0.11.2"}
#: When the facts were last read against :data:`READ_IN`.
READ_ON = "December 2026"

#: Today's recipes. The facts were read in the trainers' code, pull requests and release notes
#: (see the "β in practice" page for dates); the claims are checked in tests/test_practice_map.py and, for the
#: trainers' own code, in tests/test_trainers.py (:data:`TRAINER_CLAIMS`).
PRACTICE_MAP: tuple[PracticeRow, ...] = (
    PracticeRow(
        "PPO / InstructGPT", "k1 per token", "reward, with the full return-to-go",
        "Ziegler et al.'s code: 0.15 adaptive, target 6 nats per sequence (sentiment); 0.03 fixed (TL;DR)",
        "∇KL(π‖π_ref) of the whole sequence",
        ("ziegler2019finetuning", "lmhumanpreferences", "ouyang2022training"),
        (Claim("k1_reward_rtg", "sequence_reverse"),),
    ),
    PracticeRow(
        "RLOO", "k1, summed over the response", "reward",
        "TRL's `RLOOConfig`: `beta=0.05` (TRL 1.16.0), times the *summed* k1; its logged `kl` is a per-token mean",
        "∇KL(π‖π_ref) of the whole sequence", ("ahmadian2024back",),
        (Claim("k1_reward_rtg", "sequence_reverse"),),
    ),
    PracticeRow(
        "GRPO (DeepSeekMath)", "k3 per token", "loss", "0.04",
        "per token, ∇KL(π_ref‖π): the other direction (lesson 7)", ("shao2024deepseekmath", "tang2025pitfalls"),
        (Claim("k3_loss", "token_forward"),),
    ),
    PracticeRow(
        "DAPO", "none", "none", "0", "the reward alone; clip-higher and entropy watch instead",
        ("p8_yu2025dapo", "p8_verl_dapo_recipe"),
    ),
    PracticeRow(
        "Dr. GRPO", "none", "none", "0", "the reward alone", ("p8_liu2025understanding", "p8_drgrpo_code"),
    ),
    PracticeRow(
        "TRL GRPO today", "k3 × π/π_old per token (`use_bias_correction_kl=True`, the default since v1.10)", "loss",
        "`beta=0.0` (since May 2025; TRL 1.16.0); run in [lesson 9](notebooks/09_kl_in_trl.ipynb)",
        "if β > 0 and `importance_sampling_level=\"token\"` (the default): per token, ∇KL(π‖π_ref) with the prefix "
        "held fixed (lesson 7); with `\"sequence\"` the ratio is the sequence's mean, put on every token, and the "
        "gradient follows none of these; with `use_bias_correction_kl=False`: per token, ∇KL(π_ref‖π)",
        ("p8_trl_pr3516", "l07_trl_v1_10_0", "l07_deepseek2025v32"),
        (Claim("k3_ratio_loss", "token_reverse"),),
    ),
    PracticeRow(
        "verl PPO",
        "reward: k1 (`kl_penalty: kl`); loss: k3 (`kl_loss_type: low_var_kl`, clamped at 10 nats, where its "
        "gradient is zero); also `k2`/`mse`, `abs`, and `k3+`/`low_var_kl+` (k3's value, k2's gradient)",
        "both off by default", "0.001 for either, when switched on",
        "reward: ∇KL(π‖π_ref) of the whole sequence; loss `low_var_kl`/`k3`: per token, ∇KL(π_ref‖π), as GRPO; "
        "loss `k2`, `mse`, `k3+`: per token, ∇KL(π‖π_ref) with the prefix held fixed",
        ("sheng2025hybridflow",),
        (Claim("k1_reward_rtg", "sequence_reverse"), Claim("k3_loss", "token_forward")),
    ),
    PracticeRow(
        "OpenRLHF PPO", "k1 (`--algo.kl.estimator`; every estimator clamped to ±10 nats)",
        "reward; loss with `--algo.kl.use_loss`", "0.01 (`--algo.kl.init_coef`)",
        "reward: ∇KL(π‖π_ref) of the whole sequence; loss k3: per token, ∇KL(π_ref‖π); loss with "
        "`--algo.kl.unbiased_gradient`: per token, ∇KL(π‖π_ref) with the prefix held fixed, whatever the estimator",
        ("hu2024openrlhf",),
        (Claim("k1_reward_rtg", "sequence_reverse"),),
    ),
    PracticeRow(
        "DPO", "none sampled: the KL is solved in closed form", "built into the loss", "TRL's `DPOConfig`: `beta=0.1`",
        "its exact minimiser is π_β ∝ π_ref·exp(r/β) of the preference reward r", ("rafailov2023direct",),
        (Claim(DPO_FIT, "tilted_optimum"),),
    ),
)


@dataclass(frozen=True)
class TrainerClaim:
    """What one trainer's own KL code follows, placed as that trainer places it (checked in tests/test_trainers.py).

    Attributes
    ----------
    row : str
        The :data:`PRACTICE_MAP` row whose "the gradient follows" cell states it.
    trainer : str
        "trl", "verl" or "openrlhf" (a key of :data:`READ_IN`).
    placement : str
        "reward" (the estimate at sampling time, credited with the return-to-go) or "loss" (differentiated).
    setting : str
        The trainer's option value: verl's ``kl_penalty``/``kl_loss_type``; OpenRLHF's ``--algo.kl.estimator``,
        with ``+unbiased`` for ``--algo.kl.unbiased_gradient``; TRL's ``importance_sampling_level``, with
        ``+nocorrection`` for ``use_bias_correction_kl=False``.
    follows : str or None
        A key of :data:`TARGETS`, or None: the expected gradient equals none of them.
    """

    row: str
    trainer: str
    placement: str
    setting: str
    follows: str | None


#: Every option the map's trainer rows speak of, and the gradient each one's expected value equals.
TRAINER_CLAIMS: tuple[TrainerClaim, ...] = (
    TrainerClaim("verl PPO", "verl", "reward", "kl", "sequence_reverse"),
    *(TrainerClaim("verl PPO", "verl", "loss", s, "token_forward") for s in ("low_var_kl", "k3")),
    *(TrainerClaim("verl PPO", "verl", "loss", s, "token_reverse") for s in ("k2", "mse", "k3+", "low_var_kl+")),
    TrainerClaim("OpenRLHF PPO", "openrlhf", "reward", "k1", "sequence_reverse"),
    TrainerClaim("OpenRLHF PPO", "openrlhf", "loss", "k3", "token_forward"),
    TrainerClaim("OpenRLHF PPO", "openrlhf", "loss", "k2", "token_reverse"),
    *(TrainerClaim("OpenRLHF PPO", "openrlhf", "loss", f"{s}+unbiased", "token_reverse") for s in ("k1", "k2", "k3")),
    TrainerClaim("TRL GRPO today", "trl", "loss", "token", "token_reverse"),
    TrainerClaim("TRL GRPO today", "trl", "loss", "token+nocorrection", "token_forward"),
    TrainerClaim("TRL GRPO today", "trl", "loss", "sequence", None),
)


@dataclass(frozen=True)
class TrainerFact:
    """One default, option or logged key the course states, to be found in the trainer's own code.

    Attributes
    ----------
    trainer : str
        A key of :data:`READ_IN`.
    kind : str
        "default" (``name`` defaults to ``value``), "option" (``value`` is accepted for ``name``), or "key"
        (the trainer logs a metric called ``name``).
    name : str
        verl: a dotted key of its ``ppo_trainer.yaml``; OpenRLHF: a flag; TRL: ``Config.field``; for "key", the
        logged name.
    value : object
        The default or option value; unused for "key".
    """

    trainer: str
    kind: str
    name: str
    value: Any = None


#: The defaults, options and logged keys that "β in practice" and the cheat sheet state.
TRAINER_FACTS: tuple[TrainerFact, ...] = (
    *(TrainerFact("trl", "default", f"GRPOConfig.{k}", v) for k, v in (
        ("beta", 0.0), ("use_bias_correction_kl", True), ("loss_type", "dapo"),
        ("importance_sampling_level", "token"), ("scale_rewards", "group"), ("entropy_coef", 0.0),
        ("sync_ref_model", False), ("ref_model_mixup_alpha", 0.6), ("ref_model_sync_steps", 512),
        ("vllm_importance_sampling_correction", True), ("num_iterations", 1))),
    TrainerFact("trl", "option", "GRPOConfig.scale_rewards", "none"),
    TrainerFact("trl", "option", "GRPOConfig.importance_sampling_level", "sequence"),
    TrainerFact("trl", "default", "RLOOConfig.beta", 0.05),
    TrainerFact("trl", "default", "DPOConfig.beta", 0.1),
    TrainerFact("trl", "key", "kl"),
    TrainerFact("trl", "key", "entropy"),
    *(TrainerFact("verl", "default", k, v) for k, v in (
        ("algorithm.use_kl_in_reward", False), ("algorithm.kl_penalty", "kl"), ("algorithm.kl_ctrl.type", "fixed"),
        ("algorithm.kl_ctrl.kl_coef", 0.001), ("algorithm.kl_ctrl.target_kl", 0.1),
        ("algorithm.kl_ctrl.horizon", 10000), ("algorithm.adv_estimator", "gae"),
        ("actor_rollout_ref.actor.use_kl_loss", False), ("actor_rollout_ref.actor.kl_loss_coef", 0.001),
        ("actor_rollout_ref.actor.kl_loss_type", "low_var_kl"),
        ("actor_rollout_ref.actor.loss_agg_mode", "token-mean"), ("actor_rollout_ref.actor.ppo_epochs", 1),
        ("actor_rollout_ref.actor.ppo_mini_batch_size", 256), ("data.train_batch_size", 1024))),
    *(TrainerFact("verl", "option", "algorithm.kl_penalty", v) for v in ("kl", "k1", "low_var_kl", "k3")),
    *(TrainerFact("verl", "option", "actor_rollout_ref.actor.kl_loss_type", v)
      for v in ("low_var_kl", "k3", "k2", "mse", "abs", "k3+", "low_var_kl+")),
    TrainerFact("verl", "option", "algorithm.kl_ctrl.type", "adaptive"),
    *(TrainerFact("verl", "key", k) for k in ("actor/reward_kl_penalty", "actor/reward_kl_penalty_coeff",
                                             "actor/kl_loss", "actor/ppo_kl")),
    *(TrainerFact("openrlhf", "default", k, v) for k, v in (
        ("--algo.kl.init_coef", 0.01), ("--algo.kl.estimator", "k1"), ("--algo.kl.use_loss", False),
        ("--algo.kl.unbiased_gradient", False), ("--algo.kl.target", None), ("--algo.kl.horizon", 10000),
        ("--algo.advantage.estimator", "gae"), ("--rollout.temperature", 1.0))),
    *(TrainerFact("openrlhf", "option", "--algo.kl.estimator", v) for v in ("k1", "k2", "k3")),
    TrainerFact("openrlhf", "key", "kl"),
)

#: Each default of :data:`TRAINER_FACTS` by name, for prose that quotes a number.
TRAINER_FACTS_VALUE: dict[str, Any] = {f.name: f.value for f in TRAINER_FACTS if f.kind == "default"}


def setting(name: str, short: str | None = None) -> str:
    """A default of :data:`TRAINER_FACTS` written as its trainer spells it, in backticks.

    TRL: ```beta=0.0```; verl: ```kl_loss_coef: 0.001``` (``short`` is the part of the dotted key to show, by
    default its last part); OpenRLHF: ```--algo.kl.init_coef 0.01``` (a switch: the flag alone). The tables below
    take their defaults from here, so a page cannot state a default the checked facts do not hold.
    """
    hits = [f for f in TRAINER_FACTS if f.kind == "default" and f.name == name]
    if len(hits) != 1:
        raise ValueError(f"name must be the name of one default in TRAINER_FACTS, got {name!r}")
    fact = hits[0]
    value = fact.value
    if fact.trainer == "trl":
        shown = f'"{value}"' if isinstance(value, str) else repr(value)
        return f"`{name.split('.', 1)[1]}={shown}`"
    if fact.trainer == "verl":
        shown = str(value).lower() if isinstance(value, bool) else str(value)
        return f"`{short or name.rsplit('.', 1)[-1]}: {shown}`"
    return f"`{name}`" if isinstance(value, bool) else f"`{name} {value}`"


#: The "Three trainers side by side" table of "β in practice": its header, then one row per question.
TRAINER_TABLE: tuple[tuple[str, str, str, str], ...] = (
    ("", "TRL `GRPOTrainer`", "verl PPO", "OpenRLHF PPO"),
    ("KL on out of the box?", f"no: {setting('GRPOConfig.beta')} [@p8_trl_pr3516]",
     f"no: {setting('algorithm.use_kl_in_reward')} and {setting('actor_rollout_ref.actor.use_kl_loss')}",
     "yes, in the reward"),
    ("coefficient if you turn it on", "`beta` (DeepSeekMath used 0.04)",
     f"{setting('algorithm.kl_ctrl.kl_coef', 'kl_ctrl.kl_coef')} (reward) or "
     f"{setting('actor_rollout_ref.actor.kl_loss_coef')} (loss)", setting("--algo.kl.init_coef")),
    ("estimator", f"k3 per token, times the ratio π/π_old: {setting('GRPOConfig.use_bias_correction_kl')} (the "
                  "default since TRL v1.10 [@l07_trl_v1_10_0]), per token with "
                  f"{setting('GRPOConfig.importance_sampling_level')}",
     f"reward: {setting('algorithm.kl_penalty', 'algorithm.kl_penalty')} (k1); loss: "
     f"{setting('actor_rollout_ref.actor.kl_loss_type')} (k3, clamped at 10 nats, where its gradient is zero); also "
     "`k2`, `mse`, `abs`, and `k3+` (k3's value, k2's gradient)",
     f"{setting('--algo.kl.estimator')}; every estimator, k1 included, clamped to ±10 nats"),
    ("placement", f"loss ({setting('GRPOConfig.loss_type')})", "reward or loss, your choice",
     "reward; loss with `--algo.kl.use_loss` (and `--algo.kl.unbiased_gradient` for the reverse-KL gradient)"),
    ("controller", f"none; {setting('GRPOConfig.sync_ref_model')} (when on, π_ref moves towards π every "
                   f"{TRAINER_FACTS_VALUE['GRPOConfig.ref_model_sync_steps']} steps with α = "
                   f"{TRAINER_FACTS_VALUE['GRPOConfig.ref_model_mixup_alpha']})",
     f"{setting('algorithm.kl_ctrl.type', 'kl_ctrl.type')} (`adaptive` with "
     f"{setting('algorithm.kl_ctrl.target_kl')}, per token)",
     f"fixed unless you set `--algo.kl.target` (with {setting('--algo.kl.horizon')})"),
    ("advantage", f"group-standardised: {setting('GRPOConfig.scale_rewards')}",
     f"GAE with a critic ({setting('algorithm.adv_estimator')})",
     f"GAE with a critic ({setting('--algo.advantage.estimator')})"),
)

#: The "KL keys each trainer logs" table: trainer, key(s), what it is, unit. Every TRL, verl and OpenRLHF key is a
#: "key" fact of :data:`TRAINER_FACTS` (so checked in the trainer's code); CleanRL's is quoted from its script.
LOGGED_KEYS: tuple[tuple[str, tuple[str, ...], str, str], ...] = (
    ("TRL GRPO", ("kl",), "k3 (times the ratio with `use_bias_correction_kl`) averaged over every completion token of "
     "the batch; logged only when `beta ≠ 0`. Some older versions averaged each completion first, then the "
     "completions", "nats per token, mean"),
    ("TRL GRPO", ("entropy",), "mean entropy over completion tokens", "nats per token, mean"),
    ("verl", ("actor/reward_kl_penalty",), "the in-reward estimate (`kl_penalty`), averaged over each response's "
     "tokens, then over the batch", "nats per token, mean"),
    ("verl", ("actor/reward_kl_penalty_coeff",), "the β used this step", "reward per nat"),
    ("verl", ("actor/kl_loss",), "the in-loss estimate (`kl_loss_type`), aggregated as "
     f"{setting('actor_rollout_ref.actor.loss_agg_mode')} (the default)", "nats per token, mean"),
    ("verl", ("actor/ppo_kl",), "k1 between π_old and π on the update's tokens: the trust region, not the reference",
     "nats per token, mean"),
    ("OpenRLHF", ("kl",), "the in-reward estimate (`--algo.kl.estimator`) averaged over each response's tokens, then "
     "over the batch; with `--algo.kl.use_loss`, the in-loss estimate averaged over the batch's tokens",
     "nats per token, mean"),
    ("CleanRL PPO", ("losses/approx_kl", "losses/old_approx_kl"), "k3 and k1 between π_old and π on the last "
     "minibatch", "nats per step, mean"),
)


def _markdown(rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(_cell(c) for c in rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows[1:]]
    return "\n".join(lines) + "\n"


def render_trainer_table() -> str:
    """:data:`TRAINER_TABLE` as a markdown table; ends with a newline."""
    return _markdown(TRAINER_TABLE)


def render_keys_table() -> str:
    """:data:`LOGGED_KEYS` as a markdown table (trainer, key, what it is, unit); ends with a newline."""
    rows = [("trainer", "key", "what it is", "unit")]
    rows += [(t, ", ".join(f"`{k}`" for k in keys), what, unit) for t, keys, what, unit in LOGGED_KEYS]
    return _markdown(rows)


def _cell(text: str) -> str:
    # A bare "|" would end the cell early; no row has one today, but a future edit should not break the table.
    return text.replace("|", "\\|")


def render_table(rows: Sequence[PracticeRow] = PRACTICE_MAP) -> str:
    """The practice map as a markdown table, sources cited as ``[@key; @key]``; ends with a newline.

    Parameters
    ----------
    rows : sequence of PracticeRow
        By default :data:`PRACTICE_MAP`.
    """
    if isinstance(rows, (str, bytes)) or not isinstance(rows, Sequence) or not rows \
            or not all(isinstance(r, PracticeRow) for r in rows):
        raise ValueError("rows must be a non-empty sequence of PracticeRow")
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in rows:
        cite = "[" + "; ".join(f"@{key}" for key in r.sources) + "]"
        cells = [r.recipe, r.estimator, r.placement, r.default_beta, r.follows]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + f" | {cite} |")
    return "\n".join(lines) + "\n"


def follows_metrics(
    recipe: str, seed: int = 1, *, vocab_size: int = 3, length: int = 3, drift: float = 1.0
) -> dict[str, dict[str, float]]:
    """A recipe's on-policy expected gradient against every gradient in :data:`TARGETS`, on lesson 7's toy.

    The toy is :func:`~kl_lessons.toy_sequences.jackpot_toy` (``vocab_size``, ``length``, ``seed``)
    at the current policy π = π_old + drift·step, and the responses are drawn from π itself.

    Parameters
    ----------
    recipe : str
        A key of :data:`~kl_lessons.kl_gradients.RECIPES`.
    seed : int
        The toy's seed (≥ 0).
    vocab_size, length : int
        V ≥ 2 and T ≥ 2 (with one token, per-token and whole-sequence gradients are the same).
    drift : float
        How far π has moved from π_old (≥ 0).

    Returns
    -------
    dict
        For each gradient target ("sequence_reverse", "token_reverse", "token_forward",
        "sequence_forward"): :func:`~kl_lessons.kl_gradients.bias_metrics` of the recipe's expected
        gradient against it, ``rel_error`` and ``cosine``.
    """
    if not isinstance(recipe, str):  # check_recipe looks the name up in a dict, which an unhashable value breaks
        raise ValueError(f"recipe must be one of {tuple(RECIPES)}, got {recipe!r}")
    check_recipe(recipe)
    v = count(vocab_size, "vocab_size", minimum=2)
    t = count(length, "length", minimum=2)
    move = positive(drift, "drift", allow_zero=True)
    toy = jackpot_toy(v, t, as_seed(seed))
    theta, ref, space = toy.policy(move), toy.ref, toy.space
    got = expected_gradient(theta, ref, space, recipe)
    return {name: bias_metrics(got, exact) for name, exact in gradient_targets(theta, ref, space).items()}


def gradient_targets(logits: Any, ref_logits: Any, space: Any) -> dict[str, Any]:
    """The on-policy gradients a KL recipe can follow, each of :data:`TARGETS` but the DPO optimum, shape (P, V).

    Used by :func:`follows_metrics` and by the checks of the trainers' own code (tests/test_trainers.py,
    scripts/trainer_drift.py), so both compare with the same four vectors.
    """
    return {
        "sequence_reverse": exact_kl_gradient(logits, ref_logits, space),
        "token_reverse": local_kl_gradient(logits, ref_logits, space),
        "token_forward": local_forward_kl_gradient(logits, ref_logits, space),
        "sequence_forward": exact_kl_gradient(logits, ref_logits, space, direction="forward"),
    }


def gradient_follows(
    recipe: str,
    seed: int = 1,
    *,
    vocab_size: int = 3,
    length: int = 3,
    drift: float = 1.0,
    tolerance: float = 1e-9,
) -> str | None:
    """Which gradient of :data:`TARGETS` a recipe's on-policy expected gradient equals, on lesson 7's toy.

    Returns the target with the smallest relative error ‖g − target‖/‖target‖ when that error is
    below ``tolerance`` (> 0), else ``None``. Equal means equal vectors, so a cosine of 1 and the same
    length. The other arguments are those of :func:`follows_metrics`.
    """
    tol = positive(tolerance, "tolerance")
    metrics = follows_metrics(recipe, seed, vocab_size=vocab_size, length=length, drift=drift)
    best = min(metrics, key=lambda name: metrics[name]["rel_error"])
    return best if metrics[best]["rel_error"] < tol else None


def dpo_follows(beta: float = 0.1, *, tolerance: float = 1e-9) -> str | None:
    """``"tilted_optimum"`` if DPO's exact fit on lesson 4's toy is π_β ∝ π_ref·exp(r/β), else ``None``.

    The fit is :func:`~kl_lessons.dpo.fit_dpo` on the pair weights that Bradley–Terry preferences
    under the toy's proxy reward give in expectation (:func:`~kl_lessons.dpo.exact_pair_weights`);
    it counts as π_β when no response's probability differs by ``tolerance`` (> 0) or more.

    Parameters
    ----------
    beta : float
        β > 0, in reward units per nat (TRL's ``DPOConfig`` default is 0.1).
    """
    b, tol = positive(beta, "beta"), positive(tolerance, "tolerance")
    toy = make_toy_responses()
    fit = fit_dpo(toy.ref_probs, exact_pair_weights(toy.ref_probs, toy.proxy), b)
    gap = float((fit.policy - tilted_policy(toy.ref_probs, toy.proxy, b)).abs().max())
    return "tilted_optimum" if gap < tol else None


__all__ = [
    "COLUMNS",
    "Claim",
    "READ_IN",
    "READ_ON",
    "TRAINER_CLAIMS",
    "TRAINER_FACTS",
    "TRAINER_FACTS_VALUE",
    "TRAINER_TABLE",
    "LOGGED_KEYS",
    "TrainerClaim",
    "TrainerFact",
    "DPO_FIT",
    "PRACTICE_MAP",
    "PracticeRow",
    "TARGETS",
    "dpo_follows",
    "follows_metrics",
    "gradient_follows",
    "gradient_targets",
    "render_keys_table",
    "render_table",
    "render_trainer_table",
    "setting",
]
