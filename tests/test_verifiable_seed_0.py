"""Lesson 8's claims on seed 0 (the notebook uses seed 1); the claims are written once, in verifiable_seeds.py."""

from verifiable_seeds import VerifiableClaims


class TestVerifiableSeed0(VerifiableClaims):
    SEED = 0
    SHRINK = {"β = 0": 16.4, "β = 0.3": 5.6}
