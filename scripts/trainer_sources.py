"""The trainers' own code, read where it ships: TRL installed, verl and OpenRLHF from their pinned wheels.

verl and OpenRLHF cannot be imported on a laptop's CPU (they import ray, vllm and deepspeed at the top of the
files that hold their KL functions). So their wheels are fetched with ``pip download --no-deps`` (set-up caches
them in ``.venv/trainer-wheels``), their files are read from the zip, and the few pure-torch functions the course
makes claims about are taken out with :mod:`ast` and executed with torch in a namespace built here. Nothing of
their code is copied into the repository: it is read from the wheel on every run.

What is read:

* functions (:meth:`Source.functions`), e.g. verl's ``kl_penalty``/``kl_penalty_forward``/``agg_loss`` and
  OpenRLHF's ``compute_approx_kl``/``masked_mean``/``aggregate_loss``; each with a hash of its source
  (:meth:`Source.function_hashes`), so a change of body shows up as drift;
* defaults and flags: verl's generated ``ppo_trainer.yaml`` (:meth:`Source.verl_config`), OpenRLHF's
  ``add_argument`` calls (:meth:`Source.openrlhf_options`), TRL's config dataclass fields
  (:meth:`Source.trl_config`, read with ``ast`` so that a wheel of another version can be read too).

Usage: ``python scripts/trainer_sources.py fetch`` downloads the pinned wheels that are missing (set-up runs it).
"""

from __future__ import annotations

import ast
import copy
import hashlib
import importlib.util
import os
import re
import subprocess
import sys
import types
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

ROOT = Path(__file__).resolve().parents[1]

#: The trainers read from wheels, at the versions the course's facts were checked in (bump here; see README).
PINS: dict[str, str] = {"verl": "0.9.1", "openrlhf": "0.11.2"}
#: Where set-up caches the wheels (inside the venv: never committed).
WHEEL_DIR = ROOT / ".venv" / "trainer-wheels"
#: OpenRLHF's wheel is built per Python version; this exact file is asked for, whatever Python runs set-up.
PLATFORM_FLAGS = ("--python-version", "3.11", "--platform", "manylinux1_x86_64", "--only-binary=:all:")

#: The files each fact is read in, per trainer (paths inside the package).
FILES = {
    "verl_core": "verl/trainer/ppo/core_algos.py",
    "verl_torch": "verl/utils/torch_functional.py",
    "verl_yaml": "verl/trainer/config/_generated_ppo_trainer.yaml",
    "verl_trainer": "verl/trainer/ppo/ray_trainer.py",
    "verl_losses": "verl/workers/utils/losses.py",
    "openrlhf_utils": "openrlhf/models/utils.py",
    "openrlhf_loss": "openrlhf/models/loss.py",
    "openrlhf_cli": "openrlhf/cli/train_ppo_ray.py",
    "openrlhf_maker": "openrlhf/trainer/ppo_utils/experience_maker.py",
    "openrlhf_actor": "openrlhf/trainer/ray/ppo_actor.py",
    "trl_grpo_config": "trl/trainer/grpo_config.py",
    "trl_rloo_config": "trl/trainer/rloo_config.py",
    "trl_dpo_config": "trl/trainer/dpo_config.py",
    "trl_grpo": "trl/trainer/grpo_trainer.py",
    "trl_rloo": "trl/trainer/rloo_trainer.py",
}

#: The functions taken out of each trainer, by file key, in the order they must be defined.
FUNCTIONS = {
    "verl": {"verl_torch": ("masked_sum",), "verl_core": ("kl_penalty_forward", "kl_penalty", "agg_loss")},
    "openrlhf": {"openrlhf_utils": ("KL_IS_WEIGHT_CLIP", "masked_mean", "compute_approx_kl", "compute_reward"),
                 "openrlhf_loss": ("aggregate_loss",)},
    "trl": {"trl_grpo": ("GRPOTrainer._compute_loss",)},
}


@dataclass
class Source:
    """One trainer at one version, its files readable by their path inside the package.

    Attributes
    ----------
    name : str
        "verl", "openrlhf" or "trl".
    version : str
    origin : str
        The wheel's file name, or "installed" for the TRL in this venv.
    read_file : callable
        path inside the package (e.g. ``verl/trainer/ppo/core_algos.py``) -> its text.
    """

    name: str
    version: str
    origin: str
    read_file: Callable[[str], str]
    _cache: dict = field(default_factory=dict, repr=False)

    def label(self, key: str) -> str:
        """``"openrlhf 0.11.2, openrlhf/models/utils.py"``: what an assertion message names."""
        return f"{self.name} {self.version}, {FILES.get(key, key)}"

    def text(self, key: str) -> str:
        if key not in self._cache:
            self._cache[key] = self.read_file(FILES.get(key, key))
        return self._cache[key]

    # ----------------------------------------------------------------------------------------- functions
    def _tree(self, key: str) -> ast.Module:
        if ("tree", key) not in self._cache:
            self._cache[("tree", key)] = ast.parse(self.text(key))
        return self._cache[("tree", key)]

    def _nodes(self, key: str, names: tuple[str, ...]) -> dict[str, ast.AST]:
        tree = self._tree(key)
        found: dict[str, ast.AST] = {}
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.Assign)):
                targets = [node.name] if isinstance(node, ast.FunctionDef) else \
                    [t.id for t in node.targets if isinstance(t, ast.Name)]
                found.update({t: node for t in targets if t in names})
            if isinstance(node, ast.ClassDef):
                for sub in node.body:
                    if isinstance(sub, ast.FunctionDef) and f"{node.name}.{sub.name}" in names:
                        found[f"{node.name}.{sub.name}"] = sub
        missing = [n for n in names if n not in found]
        if missing:
            raise LookupError(f"{self.label(key)}: no top-level {', '.join(missing)}")
        return found

    def function_hashes(self) -> dict[str, str]:
        """Each extracted function's name -> the first 12 hex digits of the SHA-256 of its unparsed source.

        ``ast.unparse`` drops comments and formatting, so only a change of code changes the hash.
        """
        out = {}
        for key, names in FUNCTIONS[self.name].items():
            for name in names:
                try:
                    node = self._nodes(key, (name,))[name]
                except (LookupError, KeyError):
                    out[name] = "missing"  # a release without this function: drift, reported as such
                    continue
                out[name] = hashlib.sha256(ast.unparse(node).encode()).hexdigest()[:12]
        return out

    def functions(self) -> types.SimpleNamespace:
        """The trainer's pure-torch KL functions, executed from the wheel's own source with torch.

        Decorators are dropped (none of them changes what these functions compute); each function is compiled
        with the wheel's file as its file name, so a traceback points into the trainer's code.
        """
        if "functions" in self._cache:
            return self._cache["functions"]
        import torch

        namespace: dict[str, Any] = {"torch": torch, "Optional": Optional, "F": torch.nn.functional,
                                     "Tuple": tuple, "Union": Any, "__name__": f"{self.name}_extracted"}
        if self.name == "verl":
            namespace["verl_F"] = types.SimpleNamespace()
        for key, names in FUNCTIONS[self.name].items():
            if self.name == "trl":
                continue  # TRL is imported, not extracted: its loss runs inside its own trainer
            # A name this release lacks is left out (function_hashes reports it as "missing"); a check that
            # calls it then fails on the missing attribute.
            present = [n for n in names if self.function_hashes()[n] != "missing"]
            nodes = self._nodes(key, tuple(present))
            body = []
            for name in present:
                node = copy.deepcopy(nodes[name])  # the cached tree keeps its decorators for the hashes
                if isinstance(node, ast.FunctionDef):
                    node.decorator_list = []
                body.append(node)
            module = ast.Module(body=body, type_ignores=[])
            exec(compile(module, f"<{self.name}-{self.version}/{FILES[key]}>", "exec"), namespace)
            if key == "verl_torch":
                namespace["verl_F"].masked_sum = namespace["masked_sum"]
        given = {"torch", "Optional", "F", "Tuple", "Union", "verl_F", "__name__", "__builtins__"}
        self._cache["functions"] = types.SimpleNamespace(**{k: v for k, v in namespace.items() if k not in given})
        return self._cache["functions"]

    def function_source(self, key: str, function: str) -> str:
        """One function's source, unparsed (comments and formatting dropped)."""
        return ast.unparse(self._nodes(key, (function,))[function])

    def string_choices(self, key: str, function: str, variable: str) -> list[str]:
        """The string literals ``variable`` is compared with (``==`` or ``in (...)``) inside ``function``."""
        node = self._nodes(key, (function,))[function]
        out: list[str] = []
        for sub in ast.walk(node):
            if isinstance(sub, ast.Compare) and ast.unparse(sub.left) == variable:
                for comp in sub.comparators:
                    for const in ast.walk(comp):
                        if isinstance(const, ast.Constant) and isinstance(const.value, str):
                            out.append(const.value)
        return out

    # ----------------------------------------------------------------------------------------- settings
    def verl_config(self) -> dict[str, Any]:
        """verl's generated ``ppo_trainer.yaml`` flattened to dotted keys (``algorithm.kl_ctrl.kl_coef`` -> 0.001)."""
        import yaml

        if "verl_config" in self._cache:
            return self._cache["verl_config"]
        flat: dict[str, Any] = {}

        def walk(prefix: str, value: Any) -> None:
            if isinstance(value, dict):
                for k, v in value.items():
                    walk(f"{prefix}.{k}" if prefix else str(k), v)
            else:
                flat[prefix] = value

        walk("", yaml.safe_load(self.text("verl_yaml")))
        self._cache["verl_config"] = flat
        return flat

    def openrlhf_options(self) -> dict[str, dict[str, Any]]:
        """OpenRLHF's PPO options from the ``add_argument`` calls: flag -> {"default", "choices", "action"}."""
        out: dict[str, dict[str, Any]] = {}
        for node in ast.walk(self._tree("openrlhf_cli")):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "add_argument"):
                continue
            flags = [a.value for a in node.args if isinstance(a, ast.Constant) and str(a.value).startswith("--")]
            kw = {k.arg: k.value for k in node.keywords}
            info: dict[str, Any] = {"action": None, "choices": None, "default": None}
            for name in ("action", "choices", "default"):
                if name in kw:
                    try:
                        info[name] = ast.literal_eval(kw[name])
                    except ValueError:
                        info[name] = ast.unparse(kw[name])
            if info["action"] == "store_true" and "default" not in kw:
                info["default"] = False
            for flag in flags:
                out[flag] = info
        return out

    def trl_config(self, cls: str) -> dict[str, Any]:
        """A TRL config dataclass's own fields -> default, read from its source (``field(default=…)`` or ``= …``)."""
        key = {"GRPOConfig": "trl_grpo_config", "RLOOConfig": "trl_rloo_config", "DPOConfig": "trl_dpo_config"}[cls]
        (node,) = [n for n in self._tree(key).body if isinstance(n, ast.ClassDef) and n.name == cls]
        out: dict[str, Any] = {}
        for sub in node.body:
            if not (isinstance(sub, ast.AnnAssign) and isinstance(sub.target, ast.Name)) or sub.value is None:
                continue
            value = sub.value
            if isinstance(value, ast.Call) and ast.unparse(value.func) == "field":
                kws = {k.arg: k.value for k in value.keywords}
                if "default" not in kws:
                    continue
                value = kws["default"]
            try:
                out[sub.target.id] = ast.literal_eval(value)
            except ValueError:
                out[sub.target.id] = ast.unparse(value)
        return out

    def trl_help(self, cls: str, name: str) -> str:
        """The help text of one TRL config field (where its allowed values are listed)."""
        key = {"GRPOConfig": "trl_grpo_config", "RLOOConfig": "trl_rloo_config", "DPOConfig": "trl_dpo_config"}[cls]
        text = self.text(key)
        match = re.search(rf"^\s+{re.escape(name)}: [^\n]*= field\((.*?)\n    \)", text, re.MULTILINE | re.DOTALL)
        return match.group(1) if match else ""


# --------------------------------------------------------------------------------------------- sources
def _wheel_reader(path: Path) -> Callable[[str], str]:
    archive = zipfile.ZipFile(path)
    names = archive.namelist()

    def read(inner: str) -> str:
        # OpenRLHF's wheel keeps its package under "<dist>.data/purelib/"; verl's at the top.
        hits = [n for n in names if n == inner or n.endswith("/purelib/" + inner)]
        if len(hits) != 1:
            raise FileNotFoundError(f"{path.name}: {inner} found {len(hits)} times")
        return archive.read(hits[0]).decode()

    return read


def wheel_version(path: Path) -> str:
    return path.name.split("-")[1]


def find_wheel(name: str, version: str | None = None, folder: Path = WHEEL_DIR) -> Path | None:
    """The cached wheel of ``name`` (at ``version``, or the newest cached), or None."""
    hits = sorted(Path(folder).glob(f"{name}-{version or '*'}-*.whl"), key=lambda p: _version_key(wheel_version(p)))
    return hits[-1] if hits else None


def _version_key(version: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"[.+]", version))


def fetch(name: str, version: str | None = None, folder: Path = WHEEL_DIR, quiet: bool = True) -> Path:
    """``pip download --no-deps`` one wheel (the newest if ``version`` is None) into ``folder``; its path."""
    folder = Path(folder)
    if version is not None and (hit := find_wheel(name, version, folder)) is not None:
        return hit
    folder.mkdir(parents=True, exist_ok=True)
    spec = name if version is None else f"{name}=={version}"
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-d", str(folder),
           *PLATFORM_FLAGS, spec]
    result = subprocess.run(cmd + (["--quiet"] if quiet else []), capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"pip download {spec} failed:\n{result.stderr[-2000:]}")
    saved = re.findall(r"Saved (\S+\.whl)", result.stdout) or re.findall(r"File was already downloaded (\S+\.whl)",
                                                                          result.stdout)
    if saved:
        return Path(saved[-1]).resolve()
    hit = find_wheel(name, version, folder)
    if hit is None:
        raise RuntimeError(f"pip download {spec} saved no wheel in {folder}")
    return hit


def wheel_source(name: str, path: Path) -> Source:
    return Source(name, wheel_version(Path(path)), Path(path).name, _wheel_reader(Path(path)))


def installed_trl() -> Source:
    """The TRL installed in this venv (the pin in pyproject.toml), read from its files."""
    from importlib.metadata import version

    spec = importlib.util.find_spec("trl")
    base = Path(spec.origin).parent.parent
    return Source("trl", version("trl"), "installed", lambda inner: (base / inner).read_text())


#: ``KL_LESSONS_TRAINER_VERSIONS="openrlhf=0.10.1"`` points the checks at another release of verl or OpenRLHF
#: (fetched like the pins): how to see what the tests say about a release before bumping to it.
OVERRIDE = "KL_LESSONS_TRAINER_VERSIONS"


def pinned(name: str) -> Source:
    """The pinned trainer: TRL as installed, verl and OpenRLHF from their cached wheels (fetched if missing)."""
    if name == "trl":
        return installed_trl()
    override = dict(p.split("=", 1) for p in os.environ.get(OVERRIDE, "").split(",") if "=" in p)
    return wheel_source(name, fetch(name, override.get(name, PINS[name])))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args != ["fetch"]:
        print("usage: python scripts/trainer_sources.py fetch", file=sys.stderr)
        return 2
    for name, version in PINS.items():
        path = fetch(name, version)
        print(f"{name} {version}: {path.name} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
