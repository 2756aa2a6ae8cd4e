"""Drift watch: the course's trainer checks against another release of each trainer, and what changed since the pin.

For verl and OpenRLHF (and TRL's config and loss source) it downloads the newest release with
``pip download --no-deps`` (or the version given with ``--version name==x.y.z``), reads it as the tests read the
pins (scripts/trainer_sources.py), and prints per trainer: the defaults and flags that changed, the extracted KL
functions whose source hash changed, and every course claim that now fails (facts, estimator values, gradients,
and the phrases on the pages). ``--offline`` compares the pins with themselves, from the cached wheels: no drift,
and every check passes. Exit status 1 when a course claim fails.

TRL's newer release cannot be imported beside the pinned one, so for it only what is read from source is compared
(config defaults and the hash of ``GRPOTrainer._compute_loss``); its loss is run by the tests, on the pin.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import trainer_checks as tc  # noqa: E402
import trainer_sources as ts  # noqa: E402
from kl_lessons import practice_map as pm  # noqa: E402


def settings(src: ts.Source) -> dict[str, object]:
    """The settings the course reads: verl's config, OpenRLHF's flags with their defaults, TRL's config fields."""
    if src.name == "verl":
        return {k: v for k, v in src.verl_config().items() if k.startswith(("algorithm.", "actor_rollout_ref.actor."))}
    if src.name == "openrlhf":
        return {k: v["default"] for k, v in src.openrlhf_options().items()}
    return {f"{c}.{k}": v for c in tc.TRL_CONFIGS for k, v in src.trl_config(c).items()}


def diff(old: dict, new: dict) -> list[str]:
    out = [f"  removed {k} (was {old[k]!r})" for k in sorted(old.keys() - new.keys())]
    out += [f"  added   {k} = {new[k]!r}" for k in sorted(new.keys() - old.keys())]
    out += [f"  changed {k}: {old[k]!r} -> {new[k]!r}" for k in sorted(old.keys() & new.keys()) if old[k] != new[k]]
    return out


def claims(sources: dict[str, ts.Source], name: str) -> list[str]:
    """Every course claim about trainer ``name`` that its source in ``sources`` contradicts."""
    src = sources[name]
    out = [m for f in pm.TRAINER_FACTS if f.trainer == name and (m := tc.check_fact(f, src))]
    try:
        if name != "trl":
            out += tc.check_values(src)
            for claim in pm.TRAINER_CLAIMS:
                if claim.trainer == name:
                    out += tc.check_gradient_claim(claim, src)
        if name == "openrlhf":
            out += tc.check_unbiased_off_policy(src)
    except Exception as err:  # a release whose functions cannot run as the course's checks call them
        out.append(f"{src.name} {src.version}: the KL functions cannot be checked: {type(err).__name__}: {err}")
    out += [m for m in tc.scan_pages({name: src}) if f"{name} {src.version}" in m]
    return out


def newest(name: str, version: str | None, folder: Path) -> ts.Source:
    if name == "trl":
        path = ts.fetch("trl", version, folder)
        return ts.wheel_source("trl", path)
    return ts.wheel_source(name, ts.fetch(name, version, folder))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offline", action="store_true", help="compare the pins with themselves (cached wheels)")
    parser.add_argument("--version", action="append", default=[], metavar="NAME==X.Y.Z",
                        help="a release to compare instead of the newest, e.g. openrlhf==0.10.1")
    parser.add_argument("--trainer", action="append", choices=("trl", "verl", "openrlhf"),
                        help="only these trainers (default: all three)")
    args = parser.parse_args(argv)
    asked = dict(v.split("==", 1) for v in args.version)
    names = args.trainer or ["trl", "verl", "openrlhf"]
    pinned = {n: ts.pinned(n) for n in names}
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            old = pinned[name]
            new = old if args.offline else newest(name, asked.get(name), Path(tmp))
            print(f"== {name}: pinned {old.version}, compared with {new.version} ({new.origin})")
            changes = diff(settings(old), settings(new))
            print("settings:", f"{len(changes)} changed" if changes else "no change")
            for line in changes[:40] + ([f"  … and {len(changes) - 40} more"] if len(changes) > 40 else []):
                print(line)
            hashes = diff(old.function_hashes(), new.function_hashes())
            print("KL functions (hash of the source):", f"{len(hashes)} changed" if hashes else "same source")
            for line in hashes:
                print(line)
            broken = claims({**pinned, name: new}, name)
            failed |= bool(broken)
            print(f"course claims: {'all hold' if not broken else f'{len(broken)} fail'}")
            for line in broken:
                print("  " + line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
