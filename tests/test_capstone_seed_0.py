"""Lesson 6's claims on seed 0 (the notebook uses seed 1); the claims are written once, in capstone_seeds.py."""

from capstone_seeds import SeedClaims


class TestSeed0(SeedClaims):
    SEED = 0
    BETA_03_HOLDS = False
