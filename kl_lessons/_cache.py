"""Where the course keeps the models it pretrains, and the lock that lets two processes share one.

Lesson 6's character model (:mod:`kl_lessons.tinylm`) and lesson 9's tiny GPT-2 (:mod:`kl_lessons.hf_tiny`) are
trained once and then loaded from this folder: ``KL_LESSONS_CACHE`` if that environment variable is set (every test
run sets its own), else ``~/.cache/kl-lessons``.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

#: The folder used when ``KL_LESSONS_CACHE`` is not set.
DEFAULT_CACHE = Path.home() / ".cache" / "kl-lessons"


def cache_dir() -> Path:
    """The folder pretrained models are kept in (read at each call, so a test can point it elsewhere)."""
    return Path(os.environ.get("KL_LESSONS_CACHE") or DEFAULT_CACHE)


@contextmanager
def exclusive(lock: Path) -> Iterator[None]:
    """Hold an exclusive lock on the file ``lock`` (where the OS has ``fcntl``; elsewhere, no lock).

    Two processes that want the same model (two test workers, say) then train it once: the second waits, then loads.
    """
    try:
        import fcntl
    except ImportError:  # Windows: at worst two processes both train the same model
        yield
        return
    with open(lock, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
