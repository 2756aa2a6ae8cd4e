"""Bad inputs of each class, for the library's contract tests (tests/test_contract.py).

Each class is a list of zero-argument factories, so that one-shot inputs (generators)
and mutable ones are fresh for every call.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import torch

Factory = Callable[[], Any]


#: Not one real number: NaN, inf, a numeric string, a complex, None, an int too large
#: for a float, a list, a boolean, a two-element tensor.
NUMBER: list[Factory] = [
    lambda: math.nan, lambda: math.inf, lambda: "0.1", lambda: 1 + 0j, lambda: None, lambda: 10**400,
    lambda: [0.1], lambda: True, lambda: torch.tensor([0.1, 0.2]),
]
#: Also refused where the number must be > 0.
POSITIVE: list[Factory] = NUMBER + [lambda: -1.0, lambda: 0.0, lambda: 1e-320 * -1]
#: Also refused where the number may be 0 but not negative.
NONNEGATIVE: list[Factory] = NUMBER + [lambda: -1.0]

#: Not a whole number in range.
COUNT: list[Factory] = [
    lambda: 2.5, lambda: -1, lambda: "3", lambda: True, lambda: 10**400, lambda: None, lambda: math.nan,
    lambda: 1 + 0j, lambda: [3],
]

def _fill(shape: tuple[int, ...], value: Any) -> Any:
    """A nested list of ``shape`` holding ``value`` everywhere."""
    if not shape:
        return value
    return [_fill(shape[1:], value) for _ in range(shape[0])]


def tensor_like(shape: tuple[int, ...]) -> list[Factory]:
    """Not a real array: complex, meta, strings (even numeric), None entries, a dict, a generator, NaN, empty."""
    return [
        lambda: torch.full(shape, 0.5 + 0.5j),
        lambda: torch.empty(shape, device="meta"),
        lambda: _fill(shape, "0.5"),
        lambda: _fill(shape, None),
        lambda: {"a": 1.0},
        lambda: (row for row in _fill(shape, 0.5)),
        lambda: torch.full(shape, math.nan),
        lambda: [],
        lambda: "0.5",
    ]


def probs_like(shape: tuple[int, ...]) -> list[Factory]:
    """Also refused as probabilities: negative entries, sums off by 4 % or all zero."""
    k = shape[-1]
    return tensor_like(shape) + [
        lambda: torch.full(shape, 1.04 / k, dtype=torch.float64),
        lambda: torch.zeros(shape, dtype=torch.float64),
        lambda: torch.cat([torch.full(shape[:-1] + (k - 1,), 1.1 / (k - 1)), torch.full(shape[:-1] + (1,), -0.1)], -1),
    ]


def logprobs_like(shape: tuple[int, ...]) -> list[Factory]:
    """Also refused as log-probabilities: a positive value."""
    return tensor_like(shape) + [lambda: torch.full(shape, 0.5, dtype=torch.float64)]


def mask_like(shape: tuple[int, ...]) -> list[Factory]:
    """Not a mask: strings, dicts, None entries, generators, a 2, wrong shape."""
    rows, cols = shape
    return [
        lambda: [["yes"] * cols] * rows,
        lambda: {"mask": True},
        lambda: [[None] * cols] * rows,
        lambda: (r for r in [[1] * cols] * rows),
        lambda: [[2] * cols] * rows,
        lambda: torch.ones(rows, cols + 1, dtype=torch.bool),
        lambda: torch.full(shape, 1 + 0j),
    ]


#: Not an axis: a float, a string, a boolean, out of range.
DIM: list[Factory] = [lambda: 1.5, lambda: "0", lambda: True, lambda: 5, lambda: -7, lambda: None]

#: Not one of the allowed strings.
def choice() -> list[Factory]:
    return [lambda: None, lambda: 3, lambda: "nope", lambda: ["k1"], lambda: torch.tensor([1.0])]


#: Not a per-step series.
SERIES: list[Factory] = [
    lambda: None, lambda: "0.1 0.2", lambda: [None, 1.0], lambda: {"a": 1.0}, lambda: [[1.0, 2.0]] * 3,
    lambda: [], lambda: [1.0, math.nan] * 10, lambda: ["1.0"] * 12, lambda: torch.ones(12, dtype=torch.complex64),
]

#: Not a list of strings.
TEXTS: list[Factory] = [lambda: "just one string", lambda: None, lambda: [1, 2], lambda: [], lambda: {"a": "b"}]
