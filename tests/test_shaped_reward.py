"""The per-token KL-penalised reward (Ziegler et al., 2019; TRL's PPO)."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from kl_lessons import kl_estimate, kl_penalized_rewards


def test_hand_example_with_padding() -> None:
    logp = [[-1.0, -2.0, -3.0], [-1.0, -1.0, -1.0]]
    ref = [[-1.1, -2.0, -2.0], [-1.2, -0.5, -9.0]]
    rewards, kl = kl_penalized_rewards([1.0, 2.0], logp, ref, 0.1, mask=[[1, 1, 1], [1, 1, 0]])
    expected_kl = torch.tensor([[0.1, 0.0, -1.0], [0.2, -0.5, 0.0]], dtype=torch.float64)
    torch.testing.assert_close(kl, expected_kl)
    # Score lands on the last valid token; the padding token gets exactly 0.
    expected = torch.tensor([[-0.01, 0.0, 1.1], [-0.02, 2.05, 0.0]], dtype=torch.float64)
    torch.testing.assert_close(rewards, expected)


def test_no_mask_means_every_token_counts() -> None:
    rewards, _ = kl_penalized_rewards([0.5], [[-1.0, -1.0]], [[-1.0, -1.0]], 0.2)
    torch.testing.assert_close(rewards, torch.tensor([[0.0, 0.5]], dtype=torch.float64))


def test_estimator_is_passed_through() -> None:
    logp, ref = [[-1.0, -2.0]], [[-2.0, -1.0]]
    _, kl = kl_penalized_rewards([0.0], logp, ref, 1.0, estimator="k3")
    torch.testing.assert_close(kl, kl_estimate(logp, ref, "k3"))


def test_leading_batch_dimensions() -> None:
    gen = torch.Generator().manual_seed(0)
    logp = -torch.rand(2, 3, 5, generator=gen)
    rewards, kl = kl_penalized_rewards(torch.ones(2, 3), logp, logp - 0.1, 0.5)
    assert rewards.shape == kl.shape == (2, 3, 5)
    torch.testing.assert_close(rewards.sum(-1), torch.ones(2, 3) - 0.5 * kl.sum(-1))


@st.composite
def batches(draw: st.DrawFn) -> tuple:
    b, t = draw(st.integers(1, 5)), draw(st.integers(1, 8))
    lengths = draw(st.lists(st.integers(1, t), min_size=b, max_size=b))
    seed = draw(st.integers(0, 2**16))
    beta = draw(st.floats(0.0, 5.0))
    return b, t, lengths, seed, beta


@given(batches(), st.sampled_from(["k1", "k2", "k3"]))
def test_rewards_sum_to_score_minus_penalty(batch: tuple, estimator: str) -> None:
    b, t, lengths, seed, beta = batch
    gen = torch.Generator().manual_seed(seed)
    logp = -3 * torch.rand(b, t, generator=gen, dtype=torch.float64)
    ref = -3 * torch.rand(b, t, generator=gen, dtype=torch.float64)
    scores = torch.randn(b, generator=gen, dtype=torch.float64)
    mask = torch.arange(t) < torch.tensor(lengths).unsqueeze(-1)
    rewards, kl = kl_penalized_rewards(scores, logp, ref, beta, mask=mask, estimator=estimator)
    torch.testing.assert_close(rewards.sum(-1), scores - beta * kl.sum(-1))
    assert bool((rewards[~mask] == 0).all()) and bool((kl[~mask] == 0).all())
    torch.testing.assert_close(kl[mask], kl_estimate(logp, ref, estimator)[mask])


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"kl_coef": -0.1}, "kl_coef"),
        ({"kl_coef": float("nan")}, "kl_coef"),
        ({"scores": [1.0, 2.0, 3.0]}, "scores"),
        ({"scores": [float("nan"), 1.0]}, "scores"),
        ({"mask": [[1, 1], [0, 0]]}, "mask"),
        ({"mask": [[1, 2], [1, 1]]}, "mask"),
        ({"mask": [[1, 1, 1], [1, 1, 1]]}, "mask"),
        ({"estimator": "exact"}, "estimator"),
        ({"ref_logprobs": [[0.0, 0.0]]}, "shape"),
    ],
)
def test_bad_input_raises(kwargs: dict, name: str) -> None:
    args = {"scores": [1.0, 2.0], "logprobs": [[-1.0, -1.0], [-1.0, -1.0]],
            "ref_logprobs": [[-1.0, -1.0], [-1.0, -1.0]], "kl_coef": 0.1} | kwargs
    with pytest.raises(ValueError, match=name):
        kl_penalized_rewards(**args)
