"""Type aliases for the public API."""

from __future__ import annotations

from typing import Sequence, Union

import numpy as np
import torch

#: Anything the library accepts as numbers: nested lists, numpy arrays or torch tensors.
ArrayLike = Union[Sequence[float], Sequence[Sequence[float]], np.ndarray, torch.Tensor, float]
