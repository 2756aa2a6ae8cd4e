"""Every trainer fact the course states, checked against one version of the trainer's own code.

Used twice: by tests/test_trainers.py against the pinned versions, and by scripts/trainer_drift.py against the
newest releases. Each check returns a list of failure messages (empty when the course is right); every message
names the trainer's version and file, and, for a page, the page, its line (or notebook cell) and the phrase.

* :func:`check_facts`: :data:`kl_lessons.practice_map.TRAINER_FACTS` (defaults, options, logged keys).
* :func:`check_values`: each estimator of verl and OpenRLHF against :func:`kl_lessons.estimators.kl_estimate`,
  clamps included: the course's estimators have none, the trainers clamp, and exactly where is asserted.
* :func:`check_gradient_claim`: one :data:`~kl_lessons.practice_map.TRAINER_CLAIMS` entry, the trainer's function
  placed as the trainer places it, on lesson 7's toys, exactly (an expectation over every response).
* :func:`scan_pages`: every flag, ``key: value``, ``name=value`` and logged key on the course's pages.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any, Callable

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from kl_lessons import practice_map as pm  # noqa: E402
from kl_lessons.estimators import kl_estimate  # noqa: E402
from kl_lessons.kl_gradients import bias_metrics, local_kl_gradient  # noqa: E402
from kl_lessons.toy_sequences import jackpot_toy, sequence_probs  # noqa: E402
from trainer_sources import Source  # noqa: E402

#: The pages whose trainer facts are scanned, and the notebooks (their markdown cells).
PAGES = ("practice.md", "cheatsheet.md", "glossary.md", "index.md")
#: Lesson 7's toys (seed, V, T) the gradient claims must hold on, as in tests/test_practice_map.py.
TOYS = ((0, 3, 3), (1, 3, 3), (5, 2, 4))
#: verl's top-level config sections: a dotted ``name=value`` starting with one of them is a verl override.
VERL_SECTIONS = ("algorithm.", "actor_rollout_ref.", "critic.", "data.", "trainer.", "reward_model.")
#: TRL config classes whose fields a ``name=value`` on a page may set.
TRL_CONFIGS = ("GRPOConfig", "RLOOConfig", "DPOConfig")
#: Trainer names as a page writes them, for tables whose column or first cell says which trainer a cell is about.
TRAINER_WORDS = {"OpenRLHF": "openrlhf", "verl": "verl", "TRL": "trl"}


# ------------------------------------------------------------------------------------------------ facts
def verl_choices(src: Source, key: str) -> list[Any] | None:
    """The values verl's code accepts for a config key, read in the function that dispatches on it."""
    leaf = key.rsplit(".", 1)[-1]
    if leaf in ("kl_penalty", "kl_loss_type"):
        base = src.string_choices("verl_core", "kl_penalty_forward", "kl_penalty")
        # kl_penalty strips one trailing "+" before it dispatches (the straight-through variants), where it does.
        plus = "kl_penalty.endswith('+')" in src.function_source("verl_core", "kl_penalty")
        return base + ([b + "+" for b in base] if plus else [])
    if leaf == "loss_agg_mode":
        return src.string_choices("verl_core", "agg_loss", "loss_agg_mode")
    if leaf == "type" and "kl_ctrl" in key:
        return src.string_choices("verl_core", "get_kl_controller", "kl_ctrl.type")
    if leaf == "adv_estimator":
        return re.findall(r'^    [A-Z_]+ = "([a-z_]+)"', src.text("verl_core"), re.MULTILINE)
    return None


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return a is b or a == b and type(a) is type(b)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(float(a) - float(b)) <= 1e-12 * max(1.0, abs(float(b)))
    return a == b


def check_fact(fact: pm.TrainerFact, src: Source) -> str | None:
    """None if the trainer's code at ``src`` agrees with ``fact``, else what differs and where it was read."""
    if fact.kind == "key":
        return _check_key(fact, src)
    if src.name == "verl":
        config, where = src.verl_config(), src.label("verl_yaml")
        if fact.name not in config:
            return f"{where}: no key {fact.name} (the course states {fact.kind} {fact.value!r})"
        if fact.kind == "default":
            ok = _same(config[fact.name], fact.value)
            return None if ok else f"{where}: {fact.name} defaults to {config[fact.name]!r}, the course says " \
                                   f"{fact.value!r}"
        choices = verl_choices(src, fact.name) or []
        return None if fact.value in choices else f"{src.label('verl_core')}: {fact.name} accepts {choices}, not " \
                                                  f"{fact.value!r}"
    if src.name == "openrlhf":
        options, where = src.openrlhf_options(), src.label("openrlhf_cli")
        if fact.name not in options:
            return f"{where}: no option {fact.name}{_nearest_flag(fact.name, options)}"
        info = options[fact.name]
        if fact.kind == "default":
            return None if _same(info["default"], fact.value) else \
                f"{where}: {fact.name} defaults to {info['default']!r}, the course says {fact.value!r}"
        return None if info["choices"] and fact.value in info["choices"] else \
            f"{where}: {fact.name} accepts {info['choices']}, not {fact.value!r}"
    cls, name = fact.name.split(".", 1)
    fields = src.trl_config(cls)
    where = src.label({"GRPOConfig": "trl_grpo_config", "RLOOConfig": "trl_rloo_config",
                       "DPOConfig": "trl_dpo_config"}[cls])
    if name not in fields:
        return f"{where}: {cls} has no field {name}"
    if fact.kind == "default":
        return None if _same(fields[name], fact.value) else \
            f"{where}: {cls}.{name} defaults to {fields[name]!r}, the course says {fact.value!r}"
    return None if _trl_accepts(src, cls, name, fact.value) else \
        f"{where}: {cls}.{name}'s documented values do not include {fact.value!r}"


def _trl_accepts(src: Source, cls: str, name: str, value: Any) -> bool:
    if _same(src.trl_config(cls).get(name), value):
        return True
    help_text = src.trl_help(cls, name)
    return any(f"{q}{value}{q}" in help_text for q in ("`", '"', "'", "`'"))


#: Where each trainer's logged keys are written, and how: (file key, pattern with {key}).
KEY_PATTERNS = {
    "trl": (("trl_grpo", '_metrics[mode]["{key}"]'), ("trl_rloo", '_metrics[mode]["{key}"]')),
    "openrlhf": (("openrlhf_maker", 'info["{key}"]'), ("openrlhf_actor", 'info["{key}"]')),
}


def _check_key(fact: pm.TrainerFact, src: Source) -> str | None:
    if src.name == "verl":
        # The actor's loss metrics are logged under "actor/" by the trainer (rename_dict(actor_output, "actor/")).
        leaf = fact.name.removeprefix("actor/")
        places = [("verl_trainer", f'"{fact.name}"'), ("verl_core", f'"{fact.name}"'),
                  ("verl_losses", f'metrics["{leaf}"]')]
        renamed = 'rename_dict(actor_output, "actor/")' in src.text("verl_trainer")
        for key, literal in places:
            if literal in src.text(key) and (key != "verl_losses" or renamed):
                return None
        return f"{src.name} {src.version}: no metric {fact.name!r} logged in " + \
            ", ".join(src.label(k).split(", ", 1)[1] for k, _ in places)
    for key, pattern in KEY_PATTERNS[src.name]:
        if pattern.format(key=fact.name) in src.text(key):
            return None
    return f"{src.name} {src.version}: no metric {fact.name!r} logged in " + \
        ", ".join(src.label(k).split(", ", 1)[1] for k, _ in KEY_PATTERNS[src.name])


def _nearest_flag(flag: str, options: dict[str, Any]) -> str:
    words = set(re.split(r"[_.\-]+", flag.strip("-")))
    best = max(options, key=lambda o: (len(words & set(re.split(r"[_.\-]+", o.strip("-")))), -len(o)))
    shared = words & set(re.split(r"[_.\-]+", best.strip("-")))
    return f"; did you mean {best}?" if len(shared) >= max(2, len(words) - 1) else ""


def check_facts(sources: dict[str, Source]) -> list[str]:
    """Every :data:`~kl_lessons.practice_map.TRAINER_FACTS` entry whose trainer is in ``sources``."""
    out = []
    for fact in pm.TRAINER_FACTS:
        if fact.trainer in sources and (msg := check_fact(fact, sources[fact.trainer])):
            out.append(msg)
    return out


# ------------------------------------------------------------------------------------------------ values
def random_logprobs(n: int = 4000, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Log-probs of π and π_ref for ``n`` tokens, spread so that some log-ratios pass every clamp (±10, ±20)."""
    gen = torch.Generator().manual_seed(seed)
    lp = -torch.rand(n, generator=gen, dtype=torch.float64) * 30
    ref = -torch.rand(n, generator=gen, dtype=torch.float64) * 30
    return lp, ref


def trainer_estimate(src: Source, estimator: str, lp: torch.Tensor, ref: torch.Tensor, **kw: Any) -> torch.Tensor:
    """The trainer's own per-token KL estimate: verl's ``kl_penalty``, OpenRLHF's ``compute_approx_kl``."""
    fn = src.functions()
    if src.name == "verl":
        return fn.kl_penalty(lp, ref, estimator)
    return fn.compute_approx_kl(lp, ref, kl_estimator=estimator, **kw)


#: For each trainer and estimator name: the course's estimator and the clamp the trainer applies to it,
#: (low, high) in nats (None: no bound). This is the claim; :func:`check_values` measures it.
CLAMPS: dict[str, dict[str, tuple[str, float | None, float | None]]] = {
    "verl": {"kl": ("k1", None, None), "k1": ("k1", None, None), "mse": ("k2", None, None),
             "k2": ("k2", None, None), "low_var_kl": ("k3", None, 10.0), "k3": ("k3", None, 10.0),
             "k3+": ("k3", None, 10.0), "low_var_kl+": ("k3", None, 10.0), "abs": ("abs", None, None)},
    "openrlhf": {"k1": ("k1", -10.0, 10.0), "k2": ("k2", None, 10.0), "k3": ("k3", None, 10.0)},
}


def check_values(src: Source, seed: int = 0) -> list[str]:
    """Each estimator's value equals the course's ``kl_estimate``, clamped exactly as :data:`CLAMPS` says.

    The clamp must matter on these log-probs (some tokens differ from the course's value), so a trainer that
    drops or moves a clamp fails too. OpenRLHF computes in float32 (``.float()``), so it is compared at 1e-5.
    """
    lp, ref = random_logprobs(seed=seed)
    out = []
    for name, (course, low, high) in CLAMPS[src.name].items():
        want = (lp - ref).abs() if course == "abs" else kl_estimate(lp, ref, course)
        clamped = want if low is None and high is None else want.clamp(min=low, max=high)
        got = trainer_estimate(src, name, lp, ref).to(torch.float64)
        tol = 1e-5 if src.name == "openrlhf" else 1e-12
        err = ((got - clamped).abs() / clamped.abs().clamp(min=1.0)).max().item()
        where = src.label("verl_core" if src.name == "verl" else "openrlhf_utils")
        if err > tol:
            out.append(f"{where}: {name} differs from the course's {course} clamped to [{low}, {high}] by {err:.3g}")
        moved = int(((want - clamped).abs() > 1e-6).sum())
        if (low is not None or high is not None) and moved == 0:
            out.append(f"{where}: the test log-probs never reach {name}'s clamp")
    return out


# ------------------------------------------------------------------------------------------------ gradients
def _pick(table: torch.Tensor, space: Any) -> torch.Tensor:
    return torch.log_softmax(table, -1)[space.prefix_index, space.sequences]


def placed_gradient(src: Source, placement: str, setting: str, theta: torch.Tensor, ref: torch.Tensor, space: Any,
                    old: torch.Tensor | None = None, agg_mode: str = "token-mean") -> torch.Tensor:
    """A trainer's expected KL gradient on a toy, its function placed as the trainer places it (β = 1).

    ``"reward"``: the estimate is computed at sampling time from π_old's log-probs (verl's ``apply_kl_penalty``
    on ``old_log_probs``; OpenRLHF's ``compute_reward`` with a zero score), subtracted from the token rewards, and
    credited with the return-to-go (GAE with γ = λ = 1 and an exact value, in expectation), times the ratio
    π/π_old. ``"loss"``: the estimate of the current π, aggregated by the trainer's own function (verl's
    ``agg_loss`` with ``agg_mode``, OpenRLHF's ``aggregate_loss`` per token) and differentiated.

    Each response is its own batch of one; the expectation weights response y by its probability under the
    sampling policy (π_old if given, else π). A loss aggregated as a mean over a response's T tokens is divided
    back by its aggregation factor, so the result is the gradient of the KL summed over the response, as the
    targets are. Returns shape (P, V), nats per unit of logit.
    """
    fn = src.functions()
    n_seq, t_len = space.sequences.shape
    copies = theta.detach().expand(n_seq, *theta.shape).clone().requires_grad_(True)
    rows = torch.arange(n_seq).unsqueeze(-1)
    lp = torch.log_softmax(copies, -1)[rows, space.prefix_index, space.sequences]
    lo = lp.detach() if old is None else _pick(old, space)
    lr = _pick(ref, space)
    mask = torch.ones(n_seq, t_len, dtype=torch.float64)
    estimator, _, extra = setting.partition("+")
    if placement == "reward":
        if src.name == "verl":
            kl = fn.kl_penalty(lo, lr, estimator) * mask
            rewards = torch.zeros_like(kl) - 1.0 * kl  # token_level_scores − β·kld, as apply_kl_penalty writes it
        else:
            kl = fn.compute_approx_kl(lo, lr, kl_estimator=estimator).to(torch.float64)
            rewards = fn.compute_reward(torch.zeros(n_seq, dtype=torch.float64), 1.0, kl, action_mask=mask)
        to_go = rewards.flip(-1).cumsum(-1).flip(-1).detach()
        total = -(torch.exp(lp - lo) * to_go).sum()  # the penalty's gradient is minus the reward's
        scale = 1.0
    else:
        if src.name == "verl":
            kl = fn.kl_penalty(lp, lr, setting)
            aggregate = lambda x, m: fn.agg_loss(x, m, agg_mode)  # noqa: E731
        else:
            kl = fn.compute_approx_kl(lp, lr, log_probs_old=lo, kl_estimator=estimator,
                                      unbiased_gradient=extra == "unbiased")
            aggregate = lambda x, m: fn.aggregate_loss(x, m, token_level_loss=True)  # noqa: E731
        # Each response is a batch of its own: vmap calls the aggregation once per row, in one pass.
        total = torch.func.vmap(lambda k, m: aggregate(k[None], m[None]))(kl, mask).sum()
        # A mean over the response's tokens is 1/T of their sum; read the factor off the trainer's own function.
        scale = float(aggregate(torch.ones(1, t_len, dtype=torch.float64), mask[:1])) / t_len
    (grads,) = torch.autograd.grad(total, copies)
    weights = sequence_probs(theta if old is None else old, space)
    return torch.einsum("n,npv->pv", weights, grads.to(torch.float64)) / scale


def tolerance(src: Source) -> float:
    """1e-9, as the map's own checks; OpenRLHF casts log-probs to float32 (``.float()``), so 1e-5 there."""
    return 1e-5 if src.name == "openrlhf" else 1e-9


_TARGETS: dict[tuple, dict[str, torch.Tensor]] = {}


def follows(got: torch.Tensor, theta: torch.Tensor, ref: torch.Tensor, space: Any, tol: float,
            key: tuple | None = None) -> str | None:
    """The :data:`~kl_lessons.practice_map.TARGETS` key ``got`` equals (relative error < ``tol``), or None.

    ``key`` names the toy and drift, so that the targets are computed once for every claim checked on it.
    """
    if key is None or key not in _TARGETS:
        targets = pm.gradient_targets(theta, ref, space)
        if key is not None:
            _TARGETS[key] = targets
    else:
        targets = _TARGETS[key]
    errors = {k: bias_metrics(got, v)["rel_error"] for k, v in targets.items()}
    best = min(errors, key=errors.get)
    return best if errors[best] < tol else None


#: Drifts of π from π_old on lesson 7's toys: at 0.25 no token's k3 reaches 10 nats, at 1.0 some do (seed 0).
DRIFTS = (0.25, 1.0)


def clamp_bites(src: Source, claim: pm.TrainerClaim, theta: torch.Tensor, ref: torch.Tensor, space: Any) -> bool:
    """Whether the trainer's clamp changes a differentiated value on this toy (then its gradient there is zero).

    Only a loss differentiates the value; the straight-through settings (``k3+``, ``+unbiased``) take their
    gradient from k2, which no clamp touches.
    """
    estimator, _, extra = claim.setting.partition("+")
    if claim.placement != "loss" or src.name == "trl" or claim.setting.endswith("+") or extra == "unbiased":
        return False
    course, low, high = CLAMPS[src.name][claim.setting if src.name == "verl" else estimator]
    lp, lr = _pick(theta, space), _pick(ref, space)
    value = (lp - lr).abs() if course == "abs" else kl_estimate(lp, lr, course)
    below = low is not None and bool((value < low).any())
    return below or (high is not None and bool((value > high).any()))


def check_gradient_claim(claim: pm.TrainerClaim, src: Source,
                         gradient: Callable[..., torch.Tensor] | None = None) -> list[str]:
    """One trainer claim on every toy of :data:`TOYS` at every drift of :data:`DRIFTS`, on-policy.

    Where the trainer's clamp bites (:func:`clamp_bites`) the claim is that the gradient follows none of the
    targets: the clamped tokens contribute zero. ``gradient(theta, ref, space)`` computes the trainer's expected
    gradient; by default :func:`placed_gradient` with the claim's placement and setting (TRL's goes through its
    own trainer: tests/test_trainers.py passes it). Returns one message per toy where the claim fails.
    """
    out = []
    for seed, v, t in TOYS:
        toy = jackpot_toy(v, t, seed)
        for drift in DRIFTS:
            theta = toy.policy(drift)
            got = gradient(theta, toy.ref, toy.space) if gradient else \
                placed_gradient(src, claim.placement, claim.setting, theta, toy.ref, toy.space)
            bites = clamp_bites(src, claim, theta, toy.ref, toy.space)
            want = None if bites else claim.follows
            found = follows(got, theta, toy.ref, toy.space, tolerance(src), key=(seed, v, t, drift))
            if found != want:
                out.append(f"{src.name} {src.version}: {claim.setting} in the {claim.placement} follows {found}, "
                           f"the practice map's row {claim.row!r} says {claim.follows}"
                           f"{' except where the clamp bites' if bites else ''} (lesson 7's toy seed {seed}, "
                           f"V={v}, T={t}, drift {drift})")
    return out


def check_unbiased_off_policy(src: Source, seed: int = 1, drift: float = 1.0) -> list[str]:
    """OpenRLHF's ``unbiased_gradient`` off-policy: per token ∇KL(π‖π_ref), at the prefixes π_old reaches.

    The weight w = π/π_old is per token, not per prefix: it corrects which token is drawn, not which prefix it is
    drawn after. So off-policy the expected gradient is Σ_h π_old(h)·∇KL(π(·|h)‖π_ref(·|h)), not the on-policy
    target (which weights prefixes by π). Holds while no token's w passes its clip (``KL_IS_WEIGHT_CLIP``).
    """
    toy = jackpot_toy(3, 3, seed)
    theta, space = toy.policy(drift), toy.space
    w_max = float((_pick(theta, space) - _pick(toy.old, space)).exp().max())
    clip = float(src.functions().KL_IS_WEIGHT_CLIP)
    out = [] if w_max < clip else [f"toy's largest w {w_max:.3g} passes the clip {clip}: pick a smaller drift"]
    for est in ("k1", "k3"):
        got = placed_gradient(src, "loss", f"{est}+unbiased", theta, toy.ref, space, old=toy.old)
        want = local_kl_gradient(theta, toy.ref, space, weights_logits=toy.old)
        err = bias_metrics(got, want)["rel_error"]
        on_target = bias_metrics(got, local_kl_gradient(theta, toy.ref, space))["rel_error"]
        if not (err < tolerance(src) and on_target > 1e-2):
            out.append(f"{src.label('openrlhf_utils')}: {est}+unbiased off-policy is {err:.3g} from the per-token "
                       f"reverse KL at π_old's prefixes and {on_target:.3g} from the on-policy target")
    return out


# ------------------------------------------------------------------------------------------------ pages
def page_lines(root: Path = ROOT) -> list[tuple[str, str]]:
    """(where, line) for every line of the pages and of the notebooks' markdown cells."""
    out = []
    for page in PAGES:
        for i, line in enumerate((root / page).read_text().splitlines(), 1):
            out.append((f"{page}:{i}", line))
    for nb in sorted((root / "notebooks").glob("*.ipynb")):
        cells = json.loads(nb.read_text())["cells"]
        for c, cell in enumerate(cells):
            if cell["cell_type"] != "markdown":
                continue
            text = "".join(cell["source"])
            for i, line in enumerate(text.splitlines(), 1):
                out.append((f"notebooks/{nb.name} cell {c} line {i}", line))
    return out


_SPAN = re.compile(r"`([^`\n]+)`")
_FLAG = re.compile(r"(?<![\w-])(--[a-z][a-z0-9]*(?:[_.][a-z0-9]+)+)")


def _cells(line: str) -> list[str] | None:
    s = line.strip()
    if not (s.startswith("|") and s.endswith("|")):
        return None
    return [c.strip() for c in re.split(r"(?<!\\)\|", s[1:-1])]


def _trainer_in(text: str) -> str | None:
    hits = {v for k, v in TRAINER_WORDS.items() if re.search(rf"\b{k}\b", text)}
    return hits.pop() if len(hits) == 1 else None


class PageScan:
    """Reads a page's lines and checks each trainer phrase against the sources; :attr:`failures` collects them.

    OpenRLHF flags (``--a.b``), verl keys (``key: value``, ``algorithm.x=value``) and TRL fields (``name=value``)
    must exist in the pinned code. A value must be the default or an accepted choice, with two exceptions: a switch
    (either boolean is a setting), and a TRL number on a line that does not say "default" (lesson 9 runs TRL with
    numbers of its own). Old spellings pass only on a line that dates their rename (:meth:`dates_a_rename`).
    """

    def __init__(self, sources: dict[str, Source]):
        self.src = sources
        self.failures: list[str] = []
        self.history = False
        self.says_default = False
        self.options = sources["openrlhf"].openrlhf_options() if "openrlhf" in sources else None
        self.verl = sources["verl"].verl_config() if "verl" in sources else None
        self.trl = {c: sources["trl"].trl_config(c) for c in TRL_CONFIGS} if "trl" in sources else None

    #: A line that dates a rename ("renamed in v0.10.2", "before 0.10.2", "… became …") or maps an old spelling to
    #: the new one ("`--old` → `--new`") may name the old spelling; the new one is still checked.
    RENAME_WORD = re.compile(r"\b(renamed|before|became|until)\b")
    RELEASE = re.compile(r"\bv?\d+\.\d+(\.\d+)?\b")

    def dates_a_rename(self, line: str) -> bool:
        return "→" in line or bool(self.RENAME_WORD.search(line) and self.RELEASE.search(line))

    def fail(self, where: str, phrase: str, why: str) -> None:
        if self.history and why.startswith("not an option"):
            return
        self.failures.append(f"{where}: `{phrase}`: {why}")

    def flag(self, where: str, flag: str, value: str | None) -> None:
        if self.options is None:
            return
        src = self.src["openrlhf"]
        if flag not in self.options:
            self.fail(where, flag, f"not an option in {src.label('openrlhf_cli')}"
                                   f"{_nearest_flag(flag, self.options)}")
            return
        info = self.options[flag]
        if value is None or info["action"] == "store_true":
            return
        parsed = _scalar(value)
        if not (_same(parsed, info["default"]) or (info["choices"] and parsed in info["choices"])):
            self.fail(where, f"{flag} {value}", f"{src.label('openrlhf_cli')} has default {info['default']!r}"
                                                f" and choices {info['choices']}")

    def verl_key(self, where: str, key: str, value: str | None) -> None:
        if self.verl is None:
            return
        src = self.src["verl"]
        hits = [k for k in self.verl if k == key or k.endswith("." + key)]
        if not hits:
            self.fail(where, key, f"not a key of {src.label('verl_yaml')}")
            return
        if value is None:
            return
        parsed = _scalar(value)
        if isinstance(parsed, bool) and all(isinstance(self.verl[k], bool) for k in hits):
            return  # a switch: either value is a setting, not a claim about its default
        defaults = {repr(self.verl[k]) for k in hits}
        choices = verl_choices(src, hits[0]) or []
        if not (any(_same(self.verl[k], parsed) for k in hits) or parsed in choices):
            self.fail(where, f"{key}: {value}", f"{src.label('verl_yaml')} has {hits[0]} = "
                                                f"{', '.join(sorted(defaults))}" + (f"; it accepts {choices}"
                                                                                   if choices else ""))

    def trl_setting(self, where: str, name: str, value: str) -> None:
        if self.trl is None:
            return
        owners = [c for c in TRL_CONFIGS if name in self.trl[c]]
        if not owners:
            return  # not a setting of today's TRL configs (history, or another library's argument)
        parsed = _scalar(value)
        if isinstance(parsed, bool) and any(isinstance(self.trl[c][name], bool) for c in owners):
            return  # a switch
        if not isinstance(parsed, str) and not self.says_default:
            return  # a number the course sets when it runs TRL (lesson 9), not a claim about TRL's default
        if not any(_trl_accepts(self.src["trl"], c, name, parsed) for c in owners):
            self.fail(where, f"{name}={value}", f"in {self.src['trl'].label('trl_grpo_config')} "
                                                f"{', '.join(f'{c}.{name} defaults to {self.trl[c][name]!r}' for c in owners)}"
                                                " and its help lists no such value")

    def span(self, where: str, text: str, trainer: str | None) -> None:
        if "(" in text:
            return  # a call written out in code, not a setting
        for part in re.split(r",\s+", text) if "=" in text else [text]:
            part = part.strip()
            if m := re.fullmatch(r"(--[a-z][\w.]*)(?:[ =](\S+))?", part):
                if re.search(r"[_.]", m.group(1)) and trainer in (None, "openrlhf"):
                    self.flag(where, m.group(1), m.group(2))
            elif m := re.fullmatch(r"([a-z_][\w.]*)\s*:\s+([\w.+\-\"']+)", part):
                if trainer in (None, "verl"):
                    self.verl_key(where, m.group(1), m.group(2))
            elif m := re.fullmatch(r"([a-z_][\w.]*)\s*=\s*([\w.+\-\"']+)", part):
                name, value = m.groups()
                if name.startswith(VERL_SECTIONS) or trainer == "verl":
                    self.verl_key(where, name, value)
                elif "." not in name and trainer in (None, "trl"):
                    self.trl_setting(where, name, value)
            elif re.fullmatch(r"[a-z][a-z0-9]*(?:[_.][a-z0-9]+)+", part):
                # A bare setting name in a cell that is about one trainer.
                if trainer == "openrlhf" and self.options is not None:
                    if f"--{part}" not in (self.options or {}) and \
                            not any(o.endswith("." + part) for o in (self.options or {})):
                        self.fail(where, part, f"not an option in {self.src['openrlhf'].label('openrlhf_cli')}"
                                               f"{_nearest_flag(part, self.options or {})}")
                elif trainer == "verl" and self.verl is not None and (part.startswith(VERL_SECTIONS) or "." in part):
                    self.verl_key(where, part, None)

    def line(self, where: str, line: str, header: list[str] | None) -> None:
        self.history = self.dates_a_rename(line)
        self.says_default = "default" in line.lower()
        cells = _cells(line)
        if cells is None or header is None:
            spans = list(_SPAN.finditer(line))
            for m in spans:
                self.span(where, m.group(1), None)
            outside = _SPAN.sub(" ", line)
            for m in _FLAG.finditer(outside):
                self.flag(where, m.group(1), None)
            return
        row_trainer = _trainer_in(cells[0]) if cells else None
        where = f"{where} (row {cells[0]!r})" if cells and cells[0] else where
        for i, cell in enumerate(cells):
            trainer = row_trainer or (_trainer_in(header[i]) if i < len(header) else None)
            if i < len(header) and header[i].lower() == "key" and trainer in self.src:
                # A table of logged keys: each key in this column must be logged by the row's trainer.
                for m in _SPAN.finditer(cell):
                    why = _check_key(pm.TrainerFact(trainer, "key", m.group(1)), self.src[trainer])
                    if why:
                        self.fail(where, m.group(1), why)
                continue
            for m in _SPAN.finditer(cell):
                self.span(where, m.group(1), trainer)
            for m in _FLAG.finditer(_SPAN.sub(" ", cell)):
                self.flag(where, m.group(1), None)


def _scalar(text: str) -> Any:
    import yaml

    text = text.strip().rstrip(",;")
    if text in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[text]
    try:
        return int(text) if re.fullmatch(r"[+-]?\d+", text) else float(text)  # YAML 1.1 reads "2e-3" as text
    except ValueError:
        return yaml.safe_load(text)


def scan_pages(sources: dict[str, Source], root: Path = ROOT,
               lines: list[tuple[str, str]] | None = None) -> list[str]:
    """Every trainer phrase on the course's pages that the sources contradict, as "page:line: `phrase`: why"."""
    scan = PageScan(sources)
    rows = page_lines(root) if lines is None else lines
    header: list[str] | None = None
    for i, (where, text) in enumerate(rows):
        cells = _cells(text)
        if cells is None:
            header = None
        elif i + 1 < len(rows) and re.fullmatch(r"\|?(\s*:?-{3,}:?\s*\|?)+", rows[i + 1][1].strip()):
            header = cells
            continue
        elif set(text.replace("|", "").strip()) <= set("-: "):
            continue
        scan.line(where, text, header)
    return scan.failures
