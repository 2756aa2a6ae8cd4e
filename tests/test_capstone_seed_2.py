"""Lesson 6's claims on seed 2 (the notebook uses seed 1); the claims are written once, in capstone_seeds.py."""

from capstone_seeds import SeedClaims


class TestSeed2(SeedClaims):
    SEED = 2
    BETA_03_HOLDS = True
    HACK = "fun fun fun"
    EXERCISE = {"β = 0 peak": 0.35, "β = 0.3": 0.22, "adaptive": 0.22}
