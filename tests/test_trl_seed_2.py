"""Lesson 9's claims on GRPO seed 2 (the notebook uses seed 0); the claims are written once, in trl_seeds.py."""

from trl_seeds import SeedClaims, exclaim_share


class TestSeed2(SeedClaims):
    SEED = 2

    def hack(self, texts: list[str]) -> bool:
        """Seed 2 shouts, like the notebook's seed: over 30 % of its characters are "!"."""
        return exclaim_share(texts) > 0.3
