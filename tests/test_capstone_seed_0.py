"""Lesson 6's claims on seed 0 (the notebook uses seed 1); the claims are written once, in capstone_seeds.py."""

from capstone_seeds import SeedClaims


class TestSeed0(SeedClaims):
    SEED = 0
    BETA_03_HOLDS = False
    HACK = "fun fun fun"
    EXERCISE = {"β = 0 peak": 0.34, "β = 0.3": 0.14, "adaptive": 0.25}
