"""Library hot paths against a per-sequence Python loop and the memory-bandwidth floor."""

from __future__ import annotations

import multiprocessing as mp
import statistics
import time
from typing import Callable

import torch

import kl_lessons as K

B, T = 512, 1024  # a realistic RLHF batch: 512 responses of 1024 tokens
N_BETAS, N_RESPONSES = 1_000, 10_000


def median_ms(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up: first-call allocations and thread start-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def bandwidth_gbs(repeats: int) -> float:
    """Bytes moved per second by a large torch copy (read + write), in GB/s."""
    src = torch.ones(64 * 2**20)  # 256 MiB of float32: far larger than any cache
    dst = torch.empty_like(src)
    ms = median_ms(lambda: dst.copy_(src), repeats)
    return 2 * src.numel() * 4 / (ms / 1e3) / 1e9


def batch_inputs() -> dict:
    gen = torch.Generator().manual_seed(0)
    logprobs = -5 * torch.rand(B, T, generator=gen)
    ref = logprobs + 0.1 * torch.randn(B, T, generator=gen)
    lengths = torch.randint(T // 2, T + 1, (B,), generator=gen)
    mask = torch.arange(T) < lengths.unsqueeze(-1)
    return {"logprobs": logprobs, "ref": ref, "mask": mask, "scores": torch.randn(B, generator=gen)}


def frontier_inputs() -> dict:
    gen = torch.Generator().manual_seed(0)
    ref = torch.softmax(torch.randn(N_RESPONSES, generator=gen, dtype=torch.float64), 0)
    rewards = torch.randn(N_RESPONSES, generator=gen, dtype=torch.float64)
    return {"ref": ref, "rewards": rewards, "betas": torch.logspace(-2, 1, N_BETAS, dtype=torch.float64)}


# Straightforward baselines: one Python iteration per sequence (or per β).
def loop_kl_estimate(x: dict) -> list:
    out = []
    for lp, ref in zip(x["logprobs"], x["ref"]):
        log_r = ref - lp
        out.append(torch.exp(log_r) - 1 - log_r)
    return out


def loop_penalized_rewards(x: dict, beta: float = 0.05) -> list:
    out = []
    for score, lp, ref, m in zip(x["scores"], x["logprobs"], x["ref"], x["mask"]):
        kl = torch.where(m, lp - ref, torch.zeros(()))
        rewards = -beta * kl
        rewards[int(m.nonzero().max())] += score
        out.append((rewards, kl))
    return out


def loop_frontier(x: dict) -> list:
    out = []
    for beta in x["betas"].tolist():
        pi = K.tilted_policy(x["ref"], x["rewards"], beta)
        out.append((float(pi @ x["rewards"]), float(K.kl_divergence(pi, x["ref"]))))
    return out


CASES = {
    # name: (make inputs, library call, loop call, bytes a single pass must touch, floor note)
    "kl_estimate k3": (batch_inputs, lambda x: K.kl_estimate(x["logprobs"], x["ref"], "k3"),
                       loop_kl_estimate, B * T * 4 * 3, "read 2 float32 arrays, write 1"),
    "kl_penalized_rewards": (
        batch_inputs,
        lambda x: K.kl_penalized_rewards(x["scores"], x["logprobs"], x["ref"], 0.05, mask=x["mask"]),
        loop_penalized_rewards, B * T * (4 + 4 + 1 + 4 + 4), "read logprobs, ref, mask; write rewards, kl"),
    "kl_reward_frontier": (
        frontier_inputs, lambda x: K.kl_reward_frontier(x["ref"], x["rewards"], x["betas"]),
        loop_frontier, N_BETAS * N_RESPONSES * 8 * 2,
        "write + read the dense (β, response) float64 matrix once; the blocked code never stores it, "
        "so it is bound by one exp per entry instead"),
}


def _peak_child(name: str, queue: mp.Queue) -> None:
    make, call, *_ = CASES[name]
    x = make()
    before = _status_kib("VmRSS")
    _reset_peak()
    call(x)
    queue.put(max(0, _status_kib("VmHWM") - before) / 1024)


def _status_kib(field: str) -> int:
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def _reset_peak() -> None:
    # Writing 5 to clear_refs resets the high-water mark VmHWM (Linux 4.0+); ru_maxrss cannot be
    # reset and even survives exec, so it would report the parent's peak.
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def peak_mib(name: str) -> float:
    """Peak resident memory a call adds above what was resident before it, in MiB (a fresh process)."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    child = ctx.Process(target=_peak_child, args=(name, queue))
    child.start()
    value = queue.get(timeout=300)
    child.join()
    return float(value)


def bench_hot_paths(repeats: int = 21) -> dict:
    bw = bandwidth_gbs(repeats=max(5, repeats // 2))
    rows = []
    for name, (make, call, loop, nbytes, note) in CASES.items():
        x = make()
        ms = median_ms(lambda: call(x), repeats)
        loop_ms = median_ms(lambda: loop(x), max(3, repeats // 5))
        floor_ms = nbytes / (bw * 1e9) * 1e3
        rows.append({
            "name": name, "ms": ms, "loop_ms": loop_ms, "speedup": loop_ms / ms, "floor_ms": floor_ms,
            "x_floor": ms / floor_ms, "peak_mib": peak_mib(name), "bytes": nbytes, "floor_note": note,
        })
    return {"bandwidth_gbs": bw, "threads": torch.get_num_threads(), "rows": rows}
