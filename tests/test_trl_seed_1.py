"""Lesson 9's claims on GRPO seed 1 (the notebook uses seed 0); the claims are written once, in trl_seeds.py."""

from trl_seeds import SeedClaims


class TestSeed1(SeedClaims):
    SEED = 1

    def hack(self, texts: list[str]) -> bool:
        """Seed 1's hack is lesson 6's other one: "fun fun fun" (an upbeat word, repeated)."""
        return sum("fun fun fun" in t for t in texts) > len(texts) / 2
