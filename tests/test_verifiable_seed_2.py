"""Lesson 8's claims on seed 2 (the notebook uses seed 1); the claims are written once, in verifiable_seeds.py."""

from verifiable_seeds import VerifiableClaims


class TestVerifiableSeed2(VerifiableClaims):
    SEED = 2
    SHRINK = {"β = 0": 18.8, "β = 0.3": 5.7}
