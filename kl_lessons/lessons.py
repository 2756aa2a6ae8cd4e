"""The course's lessons, one entry each: the single list every other part of the project reads.

A lesson is a notebook, the library module(s) it teaches, a self-check module, one explorer (an ES module
with its state function and the controls a reader moves) and, when it trains, test files that check its
claims on other seeds. The explorer classes in :mod:`kl_lessons.web_widgets`, the notebook runner, the
syllabus tables in ``README.md`` and ``index.md``, ``myst.yml``'s table of contents and every lesson-keyed
test are read from :data:`LESSONS`; ``tests/test_lessons.py`` names any piece of a registered lesson that is
missing. Adding a lesson is one entry here (see CONTRIBUTING.md, "Adding a lesson").

This module imports nothing of the package (and no torch), so scripts and tests can read it cheaply; the state
functions are looked up by name in :mod:`kl_lessons.explorer_state` (its ``STATE_FUNCTIONS``).

>>> from kl_lessons.lessons import lesson
>>> lesson(4).notebook
'notebooks/04_beta_sweeps.ipynb'
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Lesson:
    """One lesson of the course and every piece that belongs to it.

    Attributes:
        number: its place in the course, from 1.
        slug: the notebook's name after the number (``notebooks/NN_slug.ipynb``).
        title: the heading the syllabus and the site use.
        outcome: "You will be able to …" in the README's syllabus table.
        summary: what the lesson does, one or two sentences, in ``index.md``'s syllabus.
        modules: the ``kl_lessons`` modules the lesson teaches (its library).
        explorer: the explorer's class name in :mod:`kl_lessons.web_widgets`.
        module: the explorer's bundled ES module in ``kl_lessons/web/`` (source in ``web/src/lessons/``).
        state_function: the name of its state function in :mod:`kl_lessons.explorer_state`.
        controls: the state keys a reader moves (sliders, buttons), shown by the explorer's ``repr``.
        seed_tests: test files that check the lesson's training claims on seeds other than its own.
    """

    number: int
    slug: str
    title: str
    outcome: str
    summary: str
    modules: tuple[str, ...]
    explorer: str
    module: str
    state_function: str
    controls: tuple[str, ...]
    seed_tests: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """The two-digit number used in file names and labels (``"04"``)."""
        return f"{self.number:02d}"

    @property
    def notebook(self) -> str:
        """The notebook's path from the repository root."""
        return f"notebooks/{self.label}_{self.slug}.ipynb"

    @property
    def self_check(self) -> str:
        """The self-check module a learner imports in the exercises."""
        return f"kl_lessons.self_checks.lesson{self.label}"

    @property
    def trains(self) -> bool:
        """Whether the lesson trains a model (and so checks its claims on other seeds)."""
        return bool(self.seed_tests)


LESSONS: tuple[Lesson, ...] = (
    Lesson(
        1, "what_kl_measures", "What KL measures",
        outcome="compute KL exactly, read it in nats and bits, and tell mass-covering from mode-seeking",
        summary="KL as the extra surprise of believing the wrong forecast, read in nats and bits, split term by "
                "term, and why RLHF's direction lets a model drop modes but never invent them.",
        modules=("divergence", "mode_seeking"),
        explorer="ForecastersExplorer", module="forecasters.js", state_function="forecasters_state",
        controls=("p_rain", "q_rain"),
    ),
    Lesson(
        2, "estimating_kl", "Estimating KL from samples",
        outcome="choose between k1, k2 and k3, and spot a negative-KL bug",
        summary="the estimators k1, k2 and k3 from sampled tokens, their bias and spread, and why a batch mean below "
                "zero means a bug in your sampling.",
        modules=("estimators", "sampling", "batch_spread"),
        explorer="EstimatorSpreadExplorer", module="estimator_spread.js", state_function="estimator_spread_state",
        controls=("drift", "sample_size"),
    ),
    Lesson(
        3, "kl_shaped_reward", "The KL-shaped reward",
        outcome="build per-token rewards with padding, and know KL-in-reward from KL-in-loss",
        summary="the per-token reward trainers really optimise, with the reward-model score on the last real token "
                "and padding masked out, and KL-in-reward versus KL-in-loss.",
        modules=("policy_gradient", "shaped_reward", "response_batch", "kl_in_loss"),
        explorer="RewardShapingExplorer", module="reward_shaping.js", state_function="reward_shaping_state",
        controls=("beta", "estimator"),
    ),
    Lesson(
        4, "beta_sweeps", "Sweeping β",
        outcome="derive the exact optimum, draw the reward–KL frontier and see Goodhart's law",
        summary="the exact optimum of \"reward minus β times KL\", the reward–KL frontier it traces, and Goodhart's "
                "law when the reward is only a proxy.",
        modules=("optimum", "toy_responses"),
        explorer="FrontierExplorer", module="frontier.js", state_function="frontier_state",
        controls=("beta",),
    ),
    Lesson(
        5, "adaptive_control", "Adaptive KL control",
        outcome="tune a proportional controller and keep per-token and per-sequence units apart",
        summary="a thermostat for β, comparing a threshold rule with the proportional controller trainers use, and "
                "the damage done by mixing per-token and per-sequence units.",
        modules=("controllers", "plant"),
        explorer="ControllerExplorer", module="controller_traces.js", state_function="controller_state",
        controls=("target", "horizon", "noise"),
    ),
    Lesson(
        6, "tiny_rlhf", "A tiny RLHF run",
        outcome="watch reward hacking, mode collapse and drift happen on a CPU, and stop them",
        summary="the capstone, a tiny RLHF run on a laptop CPU with and without the safety belt. A character-level "
                "model is fine-tuned against a reward model that can be fooled, and reward hacking, mode collapse "
                "and drift happen before your eyes.",
        modules=("tinylm", "corpus", "reward_models", "rlhf", "monitor"),
        explorer="TrainingScrubber", module="training_scrubber.js", state_function="training_scrubber_state",
        controls=("step", "front"),
        seed_tests=("tests/test_capstone_seed_0.py", "tests/test_capstone_seed_2.py"),
    ),
    Lesson(
        7, "kl_gradients", "The KL you differentiate",
        outcome="tell which objective a KL recipe's gradient really follows, on- and off-policy, and where training "
                "with it settles",
        summary="five ways trainers differentiate a KL penalty, checked exactly on a policy small enough to list "
                "every response, on- and off-policy, and where training with each one settles.",
        modules=("kl_gradients", "toy_sequences"),
        explorer="KLGradientsExplorer", module="kl_gradients.js", state_function="kl_gradients_state",
        controls=("recipe", "mode", "beta", "drift"),
    ),
    Lesson(
        8, "kl_in_practice", "KL in today's recipes",
        outcome="read DPO's β, say what β = 0 keeps and loses with a verifiable reward, tell `approx_kl` from the KL "
                "to the reference, and split the penalty into an entropy bonus and an anchor",
        summary="DPO's β as the same β, β = 0 with a reward that cannot be fooled (no hacking, but collapse), the two "
                "KLs trainers log, and the KL penalty as an entropy bonus plus an anchor.",
        modules=("dpo", "practice_map"),
        explorer="EntropyAnchorExplorer", module="entropy_anchor.js", state_function="entropy_anchor_state",
        controls=("beta", "alpha"),
        seed_tests=("tests/test_verifiable_seed_0.py", "tests/test_verifiable_seed_2.py"),
    ),
    Lesson(
        9, "kl_in_trl", "β in a real trainer",
        outcome="run TRL's GRPOTrainer, recompute its logged `kl`, read its log healthy and unhealthy, and say what "
                "`loss_type`, `scale_rewards`, `use_bias_correction_kl` and `sync_ref_model` do to β",
        summary="TRL's own GRPOTrainer on a GPT-2 made here, on a laptop CPU: lesson 6's hack in TRL's log, its `kl` "
                "recomputed from the completions, and the options that change what β means, measured through "
                "TRL's loss.",
        modules=("hf_tiny", "trl_run"),
        explorer="TRLLogScrubber", module="trl_log.js", state_function="trl_log_state",
        controls=("step", "beta", "key"),
        seed_tests=("tests/test_trl_seed_1.py", "tests/test_trl_seed_2.py"),
    ),
    Lesson(
        10, "diagnose_a_run", "Diagnose a run from its logs",
        outcome="read a TRL, verl or OpenRLHF log, say what each logged KL measures and in which unit, and name the "
                "fault behind a flag",
        summary="a casebook of real runs with one fault injected each, read from their logs: which KL a key holds, "
                "per token or per sequence, and the monitor's checks that tell each fault.",
        modules=("run_logs", "casebook"),
        explorer="LogReader", module="log_reader.js", state_function="log_reader_state",
        controls=("case", "step"),
        seed_tests=("tests/test_casebook_seed_1.py", "tests/test_casebook_seed_2.py"),
    ),
)

def lesson(number: int) -> Lesson:
    """The lesson with this number; a ValueError names the numbers there are."""
    for entry in LESSONS:
        if entry.number == number:
            return entry
    raise ValueError(f"number must be a lesson's number, one of {[e.number for e in LESSONS]}; got {number!r}")


def by_module(module: str) -> Lesson:
    """The lesson whose explorer is the ES module ``module`` (e.g. ``"frontier.js"``)."""
    for entry in LESSONS:
        if entry.module == module:
            return entry
    raise ValueError(f"module must be a lesson's explorer module, one of {[e.module for e in LESSONS]}; got {module!r}")


def syllabus_table() -> str:
    """The README's syllabus: a Markdown table, one row per lesson."""
    rows = ["| # | Lesson | You will be able to… |", "|---|---|---|"]
    rows += [f"| {e.label} | [{e.title}]({e.notebook}) | {e.outcome} |" for e in LESSONS]
    return "\n".join(rows)


def syllabus_list() -> str:
    """``index.md``'s syllabus: a numbered list, one item per lesson."""
    return "\n".join(f"{e.number}. [{e.title}]({e.notebook}): {e.summary}" for e in LESSONS)


def count_in_words() -> str:
    """How many lessons there are, in words, for prose that must not go stale ("eight lessons")."""
    words = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve")
    return words[len(LESSONS)] if len(LESSONS) < len(words) else str(len(LESSONS))


__all__ = ["LESSONS", "Lesson", "by_module", "count_in_words", "lesson", "syllabus_list", "syllabus_table"]
