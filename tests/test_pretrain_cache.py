"""The pretraining cache: a second call with the same arguments loads what the first one trained, bit for bit."""

import multiprocessing
import os
from pathlib import Path

import pytest
import torch

from kl_lessons._cache import DEFAULT_CACHE
from kl_lessons.tinylm import pretrain

SHORT = dict(steps=20, batch_size=8, window=16)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KL_LESSONS_CACHE", str(tmp_path))
    return tmp_path


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_a_cached_model_is_the_trained_model_and_leaves_the_same_random_state(cache: Path) -> None:
    fresh, vocab, losses = pretrain(**SHORT, seed=3, cache=False)
    after_fresh = torch.rand(4)
    first = pretrain(**SHORT, seed=3)
    after_first = torch.rand(4)
    assert len(list(cache.glob("*.pt"))) == 1
    loaded, loaded_vocab, loaded_losses = pretrain(**SHORT, seed=3)
    after_load = torch.rand(4)
    assert _same_weights(fresh, first[0]) and _same_weights(fresh, loaded)
    assert loaded_vocab == vocab and loaded_losses == losses == first[2]
    assert not loaded.training and next(loaded.parameters()).dtype == torch.float64
    # Code after pretrain() that draws from torch's global generator sees the same numbers either way.
    assert torch.equal(after_fresh, after_first) and torch.equal(after_fresh, after_load)


def test_other_arguments_train_afresh_and_cache_false_writes_nothing(cache: Path) -> None:
    pretrain(**SHORT, seed=3)
    pretrain(**SHORT, seed=4)
    pretrain(**{**SHORT, "steps": 21}, seed=3)
    assert len(list(cache.glob("*.pt"))) == 3
    pretrain(**SHORT, seed=5, cache=False)
    assert len(list(cache.glob("*.pt"))) == 3


def test_a_loaded_model_is_not_shared_between_callers(cache: Path) -> None:
    a, _, _ = pretrain(**SHORT, seed=3)
    b, _, _ = pretrain(**SHORT, seed=3)
    with torch.no_grad():
        next(a.parameters()).add_(1.0)
    assert not _same_weights(a, b)


def _pretrain_in_child(folder: str, queue: "multiprocessing.Queue") -> None:
    os.environ["KL_LESSONS_CACHE"] = folder
    model, _, losses = pretrain(**SHORT, seed=7)
    queue.put((losses, [p.tolist() for p in model.state_dict().values()]))


def test_two_processes_asking_at_once_get_the_same_model_and_leave_one_whole_file(cache: Path) -> None:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    children = [context.Process(target=_pretrain_in_child, args=(str(cache), queue)) for _ in range(2)]
    for child in children:
        child.start()
    results = [queue.get(timeout=120) for _ in children]
    for child in children:
        child.join(timeout=60)
    assert results[0] == results[1]
    assert len(list(cache.glob("*.pt"))) == 1 and not list(cache.glob("*.part"))


@pytest.mark.parametrize("bad", [1, "yes", None])
def test_cache_must_be_a_bool(bad: object) -> None:
    with pytest.raises(ValueError, match="cache"):
        pretrain(**SHORT, cache=bad)  # type: ignore[arg-type]


def test_the_test_run_never_reads_a_learners_cache() -> None:
    # The root conftest gives every run a fresh folder, shared by its workers and notebook kernels.
    folder = Path(os.environ["KL_LESSONS_CACHE"])
    assert folder != DEFAULT_CACHE and folder.name.startswith("kl-lessons-test-cache-")
