"""Lesson 9's claims on GRPO seed 1 (the notebook uses seed 0); the claims are written once, in trl_seeds.py."""

import re

from trl_seeds import SeedClaims


class TestSeed1(SeedClaims):
    SEED = 1

    def hack(self, texts: list[str]) -> bool:
        """Seed 1's hack is lesson 6's other one: "fun" repeated, some of its f's already turned into "!"."""
        return sum(len(re.findall(r"[f!]un", t)) >= 4 for t in texts) > len(texts) / 2
