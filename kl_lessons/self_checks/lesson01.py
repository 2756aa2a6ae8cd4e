"""Self-checks for lesson 1 (what KL measures).

Each function returns a short message; a wrong answer gets a hint, never a traceback.
"""

from __future__ import annotations

import math
from typing import Any

from ..divergence import cross_entropy, kl_divergence
from . import _number, _shown

#: The exercise's context, "Good dog! Time for a ___", and its next-token vocabulary.
DOG_TOKENS = ("treat", "walk", "bath", "nap")
#: The frozen reference model's next-token probabilities, in the order of :data:`DOG_TOKENS`.
DOG_REFERENCE = (0.3, 0.4, 0.2, 0.1)
#: The fine-tuned policy's probabilities: it learned that "treat" gets rewarded.
DOG_POLICY = (0.7, 0.2, 0.05, 0.05)

#: How close an answer in bits must be; the exercise asks for three decimals.
BITS_TOLERANCE = 1e-3


def dog_kl_bits() -> float:
    """KL(π‖π_ref) of the exercise's policy from its reference, in bits."""
    return float(kl_divergence(DOG_POLICY, DOG_REFERENCE)) / math.log(2)


def _known_slips() -> list[tuple[float, str]]:
    """Values that common mistakes produce, each with the hint it deserves."""
    nats = float(kl_divergence(DOG_POLICY, DOG_REFERENCE))
    reverse = float(kl_divergence(DOG_REFERENCE, DOG_POLICY))
    return [
        (nats, "That is the right KL, but in nats. Divide by ln 2 ≈ 0.693 (or use log base 2) to get bits."),
        (reverse / math.log(2), "That is KL(π_ref‖π), the other direction: average over the policy π, "
         "so the weights p in Σ p·log(p/q) are π's probabilities."),
        (reverse, "That is KL(π_ref‖π) in nats: swap the direction (weights from π) and convert to bits."),
        (nats / math.log(10), "That looks like log base 10. Bits use log base 2."),
        (float(cross_entropy(DOG_POLICY, DOG_REFERENCE)) / math.log(2),
         "That is the cross-entropy H(π, π_ref) in bits. Subtract the entropy H(π) to get the KL."),
        (-nats / math.log(2), "Right size, wrong sign: KL is never negative. Check the order inside the log: p/q."),
    ]


def check_kl_in_bits(answer: Any) -> str:
    """Check your KL(π‖π_ref) for the "Good dog! Time for a ___" exercise, in bits.

    Parameters
    ----------
    answer : float
        Your KL(π‖π_ref) in bits, to three decimals, where π = :data:`DOG_POLICY`
        and π_ref = :data:`DOG_REFERENCE` over :data:`DOG_TOKENS`.

    Returns
    -------
    str
        "Correct" with the value, or a hint that names the likely slip.
    """
    value = _number(answer)
    if value is None:
        return f"Please pass a number, such as 0.123 (got {_shown(answer)})."
    if not math.isfinite(value):
        return "Every token here has π_ref > 0, so this KL is finite. Try again with a number."
    target = dog_kl_bits()
    if abs(value - target) <= BITS_TOLERANCE:
        return (
            f"Correct: KL(π‖π_ref) = {target:.4f} bits = {target * math.log(2):.4f} nats. "
            "The 'treat' term alone, where π put far more mass than π_ref, is larger than the whole KL."
        )
    for slip, hint in _known_slips():
        if abs(value - slip) <= BITS_TOLERANCE:
            return f"Not yet. {hint}"
    for decimals in (1, 2):
        # The right KL rounded too early ("0.51"): close, but the exercise asks for three decimals.
        if value == round(target, decimals):
            return (
                f"Not yet: that is the right KL rounded to {decimals} decimal{'s' * (decimals != 1)}. "
                "Give three decimals, as the exercise asks."
            )
    if value < 0:
        return "Not yet: KL is never negative (Gibbs' inequality). Check the order inside the log: p/q."
    return "Not yet: compute Σ π·log2(π/π_ref) over the four tokens, weighting each term by the policy's probability."
