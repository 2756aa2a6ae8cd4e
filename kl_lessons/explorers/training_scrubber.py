"""Lesson 6 explorer: scrub through finished RLHF runs, step by step, without retraining.

Training is the slow part of lesson 6, so this explorer only *replays* what the runs
recorded (see :func:`kl_lessons.rlhf.train`). A step slider moves one vertical cursor
across six small panels (KL per text, proxy, gold, entropy, distinct-2 and β) and a
marker along every run's curve; the readout lists each run's numbers at that step and
the samples recorded nearest to it. An optional run selector brings one run to the
front. A move changes the cursors, the markers and one line of text, nothing else, and
only those are repainted (over a cached bitmap of the rest, see
:attr:`~kl_lessons.explorers.Explorer.moving_artists`).

Units: KL per text in nats; entropy and log π_ref per character in nats; β in reward
points per nat.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from ..monitor import metric_series
from ._base import OKABE_ITO, Explorer

#: Metrics a run must record to be scrubbed (names as in :data:`kl_lessons.rlhf.METRIC_KEYS`).
REQUIRED_METRICS = ("kl_mean", "kl_max", "proxy", "gold", "entropy", "distinct2", "ref_loglik", "beta")

#: The readout's columns: metric key and header (with units).
READOUT_COLUMNS = (
    ("kl_mean", "KL mean (nats/text)"),
    ("kl_max", "KL max (nats/text)"),
    ("proxy", "proxy"),
    ("gold", "gold"),
    ("entropy", "entropy (nats/char)"),
    ("distinct2", "distinct-2"),
    ("ref_loglik", "log π_ref (nats/char)"),
    ("beta", "β"),
)

#: The panels, in reading order: metric key, title, y label.
PANELS = (
    ("kl_mean", "KL per text (batch mean)", "KL (nats per text)"),
    ("proxy", "proxy reward (trained on)", "proxy (points per text)"),
    ("gold", "gold score (never trained on)", "gold (score units)"),
    ("entropy", "policy entropy", "entropy (nats/char)"),
    ("distinct2", "distinct-2 of the batch", "unique word pairs (share)"),
    ("beta", "β, the KL coefficient", "β (points per nat)"),
)

#: Colour, line style and marker per run, in the order the runs are given (colour-blind safe, and
#: distinguishable in grey too).
RUN_STYLES = (
    (OKABE_ITO["vermillion"], "-", "o"),
    (OKABE_ITO["blue"], "--", "s"),
    (OKABE_ITO["green"], "-.", "^"),
    (OKABE_ITO["orange"], ":", "D"),
    (OKABE_ITO["purple"], "-", "v"),
    (OKABE_ITO["sky"], "--", "P"),
)

#: The run selector's option that keeps every run in front.
ALL_RUNS = "all runs"

#: Opacity of the runs the selector pushes to the back.
FADED = 0.2


@dataclass(frozen=True)
class RecordedRun:
    """What the scrubber needs from one run: per-step metrics and a few recorded samples.

    Attributes
    ----------
    metrics : dict of str → numpy.ndarray
        One float64 array of shape (steps,) per key of :data:`REQUIRED_METRICS` (more keys are kept too).
    samples : dict of int → list of str
        Texts recorded at some steps, keyed by step.
    """

    metrics: dict[str, np.ndarray]
    samples: dict[int, list[str]] = field(default_factory=dict)

    @property
    def n_steps(self) -> int:
        """How many training steps the run recorded."""
        return len(self.metrics["kl_mean"])


def as_recorded_run(run: Any, name: str = "run") -> RecordedRun:
    """Check one run and return it as a :class:`RecordedRun`.

    Parameters
    ----------
    run : RLHFRun, RecordedRun or mapping of str → sequence of float
        Anything with ``metrics`` (and optionally ``samples``) attributes, as
        :func:`kl_lessons.rlhf.train` returns, or a bare metrics dict (then no samples).
    name : str
        Used in error messages.

    Raises
    ------
    ValueError
        If a required metric is missing, not a 1-D numeric sequence, contains ±inf, or
        the metrics differ in length; or if the samples are not step → list of str.
    """
    if hasattr(run, "metrics"):
        metrics, samples = run.metrics, getattr(run, "samples", None) or {}
    elif isinstance(run, Mapping):
        metrics, samples = run, {}
    else:
        raise ValueError(f"{name} must be a run (with .metrics) or a dict of metrics, got {type(run).__name__}")
    if not isinstance(metrics, Mapping):
        raise ValueError(f"{name}.metrics must be a dict of metric lists, got {type(metrics).__name__}")
    missing = [key for key in REQUIRED_METRICS if key not in metrics]
    if missing:
        raise ValueError(f"{name} is missing metrics {missing}; a run records {list(REQUIRED_METRICS)}")
    arrays: dict[str, np.ndarray] = {}
    for key in REQUIRED_METRICS:
        arrays[key] = metric_series(metrics[key], f"{name}[{key!r}]", allow_nonfinite=True)
        # NaN is allowed (a broken step shows as a gap, as lesson 5's monitor expects); inf would wreck the axes.
        if np.isinf(arrays[key]).any():
            raise ValueError(f"{name}[{key!r}] contains inf values")
    lengths = {key: len(a) for key, a in arrays.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"{name}'s metrics must all have one value per step, got lengths {lengths}")
    return RecordedRun(arrays, _check_samples(samples, name, lengths["kl_mean"]))


def _check_samples(samples: Any, name: str, n_steps: int) -> dict[int, list[str]]:
    if not isinstance(samples, Mapping):
        raise ValueError(f"{name}.samples must be a dict of step → list of str, got {type(samples).__name__}")
    checked: dict[int, list[str]] = {}
    for step, texts in samples.items():
        if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or not 0 <= step < n_steps:
            raise ValueError(f"{name}.samples has key {step!r}; keys must be steps in [0, {n_steps - 1}]")
        if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
            raise ValueError(f"{name}.samples[{step}] must be a list of str")
        checked[int(step)] = list(texts)
    return checked


def nearest_sample_step(samples: Mapping[int, Sequence[str]], step: int) -> int | None:
    """The recorded step closest to ``step`` (the earlier one on a tie), or None if nothing was recorded."""
    if not samples:
        return None
    return min(samples, key=lambda s: (abs(s - step), s))


def demo_runs(steps: int = 150, seed: int = 0) -> dict[str, RecordedRun]:
    """A small **synthetic** history shaped like lesson 6's three runs, for demos and benchmarks.

    The curves are hand-made formulas plus a little seeded noise, not training: a β = 0
    run that hacks the proxy around step 20–40 (KL to about 300 nats per text, gold and
    entropy collapse), a fixed β = 0.3 run and an adaptive run that both settle near
    3 nats. The samples are invented texts in the same style. Building it costs well
    under a millisecond.

    Parameters
    ----------
    steps : int
        Training steps to fake, at least 3.
    seed : int
        Seed of the noise.
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 3:
        raise ValueError(f"steps must be an int >= 3, got {steps!r}")
    rng = np.random.default_rng(seed)
    t = np.arange(steps, dtype=np.float64)
    hack = 1.0 / (1.0 + np.exp(-(t - 32.0) / 5.0))   # how far the β = 0 run has fallen for the "!" exploit
    collapse = 1.0 / (1.0 + np.exp(-(t - 28.0) / 6.0))
    settle = 1.0 - np.exp(-t / 12.0)

    def noisy(curve: np.ndarray, scale: float) -> np.ndarray:
        return curve + scale * rng.standard_normal(steps)

    free_kl = np.maximum(noisy(2.0 * settle + 300.0 * hack, 0.3), 0.0)
    free = {
        "kl_mean": free_kl, "kl_max": free_kl * (1.0 + 1.5 * (1.0 - hack)),
        "proxy": noisy(0.3 + 1.5 * settle + 24.0 * hack, 0.1),
        "gold": noisy(-0.24 + 0.35 * np.exp(-(((t - 11.0) / 8.0) ** 2)) - 2.3 * hack, 0.03),
        "entropy": np.clip(noisy(0.34 * (1.0 - collapse) + 0.002, 0.005), 0.0, None),
        "distinct2": np.clip(noisy(0.48 * (1.0 - collapse) + 0.02, 0.01), 0.0, 1.0),
        "ref_loglik": noisy(-0.36 - 9.2 * hack, 0.02), "beta": np.zeros(steps),
    }
    # The adaptive β dips while KL is below target, then climbs once KL overshoots it.
    adaptive_beta = 0.2 * np.exp(-0.012 * np.minimum(t, 14.0) + 0.012 * np.clip(t - 14.0, 0.0, 66.0))
    penalised = {}
    for name, beta, overshoot in (("β = 0.3", np.full(steps, 0.3), 0.0), ("adaptive", adaptive_beta, 2.0)):
        bump = overshoot * np.exp(-(((t - 46.0) / 25.0) ** 2))
        kl = np.maximum(noisy(3.0 * settle + bump, 0.4), 0.0)
        penalised[name] = {
            "kl_mean": kl, "kl_max": kl * 2.5, "proxy": noisy(0.25 + 1.4 * settle, 0.08),
            "gold": noisy(-0.24 + 0.45 * settle, 0.03), "entropy": noisy(0.34 - 0.12 * settle, 0.005),
            "distinct2": noisy(0.48 - 0.24 * settle, 0.02), "ref_loglik": noisy(-0.36 + 0.05 * settle, 0.01),
            "beta": beta,
        }
    start = ["the cat sleeps on the warm mat.", "a boy reads a book at school."]
    last = steps - 1
    samples = {
        "β = 0": {0: start, min(20, last): ["we had fun at the park!!!!", "we had fun!!!!!!"],
                  last: ["we ha!!!!!!!!!!!"] * 2},
        "β = 0.3": {0: start, min(20, last): ["we had fun at the zoo!", "it was a nice day."],
                    last: ["we had fun at the lake!", "it was a good day at home."]},
        "adaptive": {0: start, min(20, last): ["we had fun at the zoo!!", "it was a nice day."],
                     last: ["we had fun at the park!", "it was a good day at the farm."]},
    }
    return {name: RecordedRun(metrics, samples[name]) for name, metrics in {"β = 0": free, **penalised}.items()}


def _fmt(value: float) -> str:
    return "nan" if math.isnan(value) else f"{value:.2f}"


class TrainingScrubber(Explorer):
    """Replay recorded RLHF runs: a step slider moves a cursor over their metric curves.

    Parameters
    ----------
    runs : mapping of str → run, optional
        Run name → an :class:`~kl_lessons.rlhf.RLHFRun` (anything with ``metrics`` and
        optionally ``samples``) or a bare dict of per-step metrics. Every run must record
        :data:`REQUIRED_METRICS`. Runs may differ in length; the slider spans the longest.
        At most six runs. Default: :func:`demo_runs`, a **synthetic** history (no
        training happens here), labelled as such in the readout.
    step : int, optional
        The step the cursor starts at, in [0, longest run − 1]; default the last step.
    run : str
        Which run the selector brings to the front: a run name, or ``"all runs"``.
    """

    def __init__(self, runs: Mapping[str, Any] | None = None, step: int | None = None, run: str = ALL_RUNS) -> None:
        self.synthetic = runs is None
        if runs is None:
            runs = demo_runs()
        if not isinstance(runs, Mapping) or not runs:
            raise ValueError("runs must be a non-empty dict of name → run")
        if len(runs) > len(RUN_STYLES):
            raise ValueError(f"runs holds {len(runs)} runs; at most {len(RUN_STYLES)} fit on one figure")
        for name in runs:
            if not isinstance(name, str) or not name or name == ALL_RUNS:
                raise ValueError(f"runs must be keyed by non-empty names other than {ALL_RUNS!r}, got {name!r}")
        self.runs = {name: as_recorded_run(r, f"runs[{name!r}]") for name, r in runs.items()}
        self.n_steps = max(r.n_steps for r in self.runs.values())
        last = self.n_steps - 1
        if step is None:
            step = last
        if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or not 0 <= step <= last:
            raise ValueError(f"step must be an int in [0, {last}], got {step!r}")
        if run not in (ALL_RUNS, *self.runs):
            raise ValueError(f"run must be {ALL_RUNS!r} or one of {list(self.runs)}, got {run!r}")
        self._front: str | None = None  # which run is in front now; None until the first draw
        figure = self._build_figure()
        controls = {
            "step": widgets.IntSlider(value=int(step), min=0, max=last, step=1, description="step",
                                      continuous_update=True, layout=widgets.Layout(width="420px")),
            "run": widgets.Dropdown(options=(ALL_RUNS, *self.runs), value=run, description="in front"),
        }
        super().__init__(
            figure, controls,
            alt="Six small line charts over the training steps, one line per run: KL per text on a symmetric "
            "log axis, proxy reward, gold score, entropy per character, distinct-2 and β. A vertical cursor marks "
            "the chosen step, with a marker where it crosses each run's curve.",
        )

    def _build_figure(self) -> Figure:
        fig = Figure(figsize=(10, 4.8))
        # Fixed margins rather than a layout engine: a move must not re-solve the layout.
        fig.subplots_adjust(left=0.07, right=0.99, bottom=0.1, top=0.86, wspace=0.3, hspace=0.45)
        axes = fig.subplots(2, 3, sharex=True)
        self.axes = dict(zip((key for key, _, _ in PANELS), axes.flat))
        self.lines: dict[str, list] = {name: [] for name in self.runs}
        self.markers: dict[str, dict[str, Any]] = {name: {} for name in self.runs}
        self.cursors = []
        for (key, title, ylabel), ax in zip(PANELS, axes.flat):
            for name, (colour, dash, mark) in zip(self.runs, RUN_STYLES):
                values = self.runs[name].metrics[key]
                (line,) = ax.plot(values, color=colour, linestyle=dash, linewidth=1.4, label=name)
                (dot,) = ax.plot([], [], linestyle="none", marker=mark, markersize=6, color=colour, mec="black",
                                 mew=0.6, zorder=4)
                self.lines[name].append(line)
                self.markers[name][key] = dot
            self.cursors.append(ax.axvline(0, color=OKABE_ITO["black"], linewidth=1, alpha=0.7, zorder=3))
            ax.set_title(title, fontsize=9)
            ax.set_ylabel(ylabel, fontsize=8)
            ax.tick_params(labelsize=7)
            ax.set_xlim(0, max(self.n_steps - 1, 1))
            self._fix_ylim(ax, key)
        for ax in axes[1]:
            ax.set_xlabel("training step", fontsize=8)
        self.axes["kl_mean"].set_yscale("symlog", linthresh=1.0)
        # The legend sits outside every panel, so no moving marker ever slides under it.
        fig.legend(handles=self._legend_handles(), loc="upper right", ncol=len(self.runs), fontsize=8,
                   title="run", title_fontsize=8, frameon=False)
        self.step_text = fig.suptitle("", x=0.07, ha="left", fontsize=11)
        # Only these change on a move; the base class keeps everything else as a cached bitmap.
        self.moving_artists = [*self.cursors, *(m for marks in self.markers.values() for m in marks.values()),
                               self.step_text]
        return fig

    def _legend_handles(self) -> list:
        """One line per run (from the KL panel), for the legend."""
        return [lines[0] for lines in self.lines.values()]

    def _fix_ylim(self, ax: Any, key: str) -> None:
        # Limits are set once from every run, so that nothing rescales (or redraws) when the cursor moves.
        values = np.concatenate([r.metrics[key] for r in self.runs.values()])
        values = values[np.isfinite(values)]
        low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 1.0)
        if key == "kl_mean":
            ax.set_ylim(min(low, 0.0), max(high, 1.0) * 1.6)
            return
        pad = 0.08 * (high - low) if high > low else max(abs(high), 1.0) * 0.1
        ax.set_ylim(low - pad, high + pad)

    def draw(self, step: int, run: str) -> str:
        for cursor in self.cursors:
            cursor.set_xdata([step, step])
        for name, recorded in self.runs.items():
            inside = step < recorded.n_steps
            for key, dot in self.markers[name].items():
                dot.set_data(([step], [recorded.metrics[key][step]]) if inside else ([], []))
        self._bring_to_front(run)
        self.step_text.set_text(f"step {step} of {self.n_steps - 1}" + (" (synthetic demo)" if self.synthetic else ""))
        return self.readout_html(step, run)

    def _bring_to_front(self, run: str) -> None:
        if run == self._front:
            return
        self._front = run
        for name in self.runs:
            alpha = 1.0 if run in (ALL_RUNS, name) else FADED
            for artist in (*self.lines[name], *self.markers[name].values()):
                artist.set_alpha(alpha)
        # The curves are part of the cached background, so fading them needs one full redraw.
        self.invalidate_background()

    def values_at(self, step: int) -> dict[str, dict[str, float] | None]:
        """Every run's :data:`REQUIRED_METRICS` at ``step`` (None for a run that had ended by then)."""
        return {
            name: {key: float(r.metrics[key][step]) for key in REQUIRED_METRICS} if step < r.n_steps else None
            for name, r in self.runs.items()
        }

    def readout_html(self, step: int, run: str = ALL_RUNS) -> str:
        """The readout for ``step``: a table of every run's numbers (2 decimals) and the nearest samples.

        Run names and sample texts are HTML-escaped, so a sample like ``<b>`` is shown, not obeyed.
        """
        shown = [name for name in self.runs if run in (ALL_RUNS, name)]
        header = "".join(f"<th>{html.escape(label)}</th>" for _, label in READOUT_COLUMNS)
        rows = []
        for name, values in self.values_at(step).items():
            cells = ("".join(f"<td>{_fmt(values[key])}</td>" for key, _ in READOUT_COLUMNS) if values is not None
                     else f'<td colspan="{len(READOUT_COLUMNS)}">ended at step {self.runs[name].n_steps - 1}</td>')
            weight = "bold" if name in shown and run != ALL_RUNS else "normal"
            rows.append(f'<tr style="font-weight:{weight}"><td>{html.escape(name)}</td>{cells}</tr>')
        lines = []
        for name in shown:
            at = nearest_sample_step(self.runs[name].samples, step)
            if at is None:
                lines.append(f"<li>{html.escape(name)}: no samples recorded</li>")
                continue
            # A newline inside a sample is shown as " / ", so each sample stays on one line.
            texts = " · ".join(f"<code>{html.escape(t).replace(chr(10), ' / ')}</code>"
                               for t in self.runs[name].samples[at])
            lines.append(f"<li>{html.escape(name)}, step {at}: {texts}</li>")
        note = " <i>(synthetic demo history, not a training run)</i>" if self.synthetic else ""
        return (
            f"<b>step {step}</b>{note}"
            f'<table style="font-size:0.85em"><tr><th>run</th>{header}</tr>{"".join(rows)}</table>'
            f"samples recorded nearest to step {step}:<ul>{''.join(lines)}</ul>"
        )
