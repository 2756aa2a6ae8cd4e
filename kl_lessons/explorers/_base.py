"""The pattern every lesson's slider explorer follows.

The figure is built once. A slider move calls :meth:`Explorer.draw`, which only
sets new data on the artists that change, then re-renders the same figure to PNG.
Nothing is rebuilt.

Most of a figure never changes while a slider moves: axes, ticks, labels, legends.
An explorer that lists the artists that *do* change in :attr:`Explorer.moving_artists`
gets blitting for free: the static part is drawn once and kept as a bitmap, and a
move pastes that bitmap back and paints only the moving artists on top of it. The
bitmap is redrawn when something static changes: an axis's view limits or the
figure's size (noticed automatically), or anything else the subclass reports with
:meth:`Explorer.invalidate_background`. Static artists that a full draw paints *over*
the moving ones (legends, zero lines, axes frames) are listed in
:attr:`Explorer.overlay_artists`, so the blitted picture stays pixel-identical to a
full redraw. A move then costs a few small draws plus a fast PNG encode instead of a
full Agg draw.
"""

from __future__ import annotations

import base64
import math
import struct
import zlib
from typing import Any, Iterable, Mapping, Sequence

import ipywidgets as widgets
import numpy as np
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from ..style import OKABE_ITO

from .._validate import finite



#: Default mantissas of "nice" axis limits: 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6 and 8 times a power of ten.
NICE_STEPS: tuple[float, ...] = (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0)


def _nice_magnitude(x: float, up: bool, steps: tuple[float, ...]) -> float:
    """The nearest nice number ≥ x (``up``) or ≤ x (not ``up``), for x > 0."""
    e = math.floor(math.log10(x))
    # Dividing by 10^-e (not multiplying by 10^e) gives 0.3, not 0.30000000000000004.
    candidates = [m * 10.0**k if k >= 0 else m / 10.0**-k for k in (e, e + 1) for m in steps]
    # The slack keeps a number that is already nice (up to rounding) where it is.
    if up:
        return next(c for c in candidates if c >= x * (1 - 1e-9))
    return next(c for c in reversed(candidates) if c <= x * (1 + 1e-9))


def nice_limits(low: float, high: float, steps: Sequence[float] = NICE_STEPS) -> tuple[float, float]:
    """Widen the axis range [low, high] outwards to nice numbers (by default 1, 1.2, 1.5, 2, … 8 × 10^k).

    An explorer that rescales an axis to its data on every move makes the axis jitter
    while a slider is dragged, and forces a full redraw each time. Snapping the range
    to nice numbers keeps it still across most small moves; coarser ``steps`` keep it
    still for longer, at the price of more empty space. Works for log axes too (both
    ends positive).

    Parameters
    ----------
    low, high : float
        The range the data needs, ``low < high``, in the axis's units.
    steps : sequence of float
        The allowed mantissas, increasing, in [1, 10) and starting at 1.

    Returns
    -------
    (float, float)
        A range containing [low, high] whose ends are 0 or ± a nice number.
    """
    low, high = finite(low, "low"), finite(high, "high")
    if not low < high:
        raise ValueError(f"low must be below high, got low={low}, high={high}")
    steps = tuple(float(m) for m in steps)
    if not steps or steps[0] != 1.0 or steps[-1] >= 10.0 or any(b <= a for a, b in zip(steps, steps[1:])):
        raise ValueError(f"steps must increase from 1 and stay below 10, got {steps}")

    def snap(x: float, up: bool) -> float:
        if x == 0.0:
            return 0.0
        return _nice_magnitude(x, up, steps) if x > 0 else -_nice_magnitude(-x, not up, steps)

    return snap(low, up=False), snap(high, up=True)


def encode_png(pixels: np.ndarray) -> bytes:
    """Encode an image as PNG, favouring speed over size.

    Rows are stored unfiltered and deflated at zlib's fastest level: for flat-coloured
    plots that is about as small as an adaptively filtered PNG, at a third of the time.

    Parameters
    ----------
    pixels : numpy.ndarray of uint8, shape (height, width, 3) or (height, width, 4)
        RGB or RGBA pixels, top row first.

    Returns
    -------
    bytes
        A complete PNG file.
    """
    if not (isinstance(pixels, np.ndarray) and pixels.dtype == np.uint8 and pixels.ndim == 3
            and pixels.shape[2] in (3, 4) and pixels.shape[0] > 0 and pixels.shape[1] > 0):
        raise ValueError("pixels must be a non-empty uint8 array of shape (height, width, 3 or 4)")
    height, width, channels = pixels.shape
    rows = np.zeros((height, 1 + width * channels), dtype=np.uint8)  # byte 0 of each row: filter type 0
    rows[:, 1:] = pixels.reshape(height, width * channels)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    colour_type = 2 if channels == 3 else 6  # truecolour, or truecolour with alpha
    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 1))
            + chunk(b"IEND", b""))


class Explorer(widgets.VBox):
    """A figure drawn once, plus sliders that update its artists in place.

    Subclasses build their figure and artists in ``__init__`` *before* calling
    ``super().__init__(figure, controls)``, and implement :meth:`draw`. To make
    moves fast, they also assign :attr:`moving_artists` and, if needed,
    :attr:`overlay_artists` (before or after calling ``super().__init__``); without
    them every render is a full redraw.

    Parameters
    ----------
    figure : matplotlib.figure.Figure
        Built with ``Figure(...)`` (not pyplot), so it is never shown twice.
    controls : mapping of name → ipywidgets value widget
        Each control's ``value`` is passed to :meth:`draw` under its name.
    alt : str
        Alternative text for the rendered image, read by screen readers.
    dpi : int
        Resolution of the rendered PNG.

    Notes
    -----
    A blitted move paints the moving artists over the cached static picture. That
    equals a full redraw only if no static artist is painted *over* a moving one in
    a full redraw. Static artists that do sit above moving ones where they meet (a
    zero line, a legend, the axes spines) go in :attr:`overlay_artists`: they are
    kept in a second cached bitmap, pasted back where no moving artist comes near
    them and repainted, in their place in the paint order, where one does. A grid
    belongs below the data (``ax.set_axisbelow(True)``), since it cannot be lifted
    out of its axis.
    """

    def __init__(self, figure: Figure, controls: Mapping[str, widgets.ValueWidget], alt: str, dpi: int = 80) -> None:
        self.figure = figure
        self.canvas = FigureCanvasAgg(figure)
        self.controls = dict(controls)
        self.dpi = dpi
        figure.set_dpi(dpi)
        # A subclass may have declared its moving and overlay artists already.
        if not hasattr(self, "_moving_artists"):
            self._moving_artists: list[Artist] = []
        if not hasattr(self, "_overlay_artists"):
            self._overlay_artists: list[Artist] = []
        self._background: Any = None
        self._background_key: tuple | None = None
        self._overlay_background: Any = None
        self._overlay_rects: list[tuple[Artist, tuple[float, float, float, float]]] = []
        self._paint_order: list[Artist] = []
        self._shown_values: dict[str, Any] | None = None
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.image.add_class("kl-explorer-figure")
        self.alt = alt
        self.readout = widgets.HTML()
        for control in self.controls.values():
            control.observe(self._on_change, names="value")
        box = widgets.HBox(list(self.controls.values()), layout=widgets.Layout(flex_flow="row wrap"))
        super().__init__([box, self.image, self.readout])
        self.refresh()

    # ------------------------------------------------------------------ blitting
    @property
    def moving_artists(self) -> list[Artist]:
        """The artists :meth:`draw` changes; repainted on every move.

        Assigning a list marks each artist animated (left out of the cached
        background) and forces one full redraw. An empty list, with no
        :attr:`overlay_artists`, turns blitting off.
        """
        return list(getattr(self, "_moving_artists", []))

    @moving_artists.setter
    def moving_artists(self, artists: Iterable[Artist]) -> None:
        self._moving_artists = self._take_out_of_background(artists, "moving_artists", "_moving_artists")

    @property
    def overlay_artists(self) -> list[Artist]:
        """Static artists painted over moving ones in a full draw (legends, zero lines, spines).

        Repainted only when a moving artist's extent comes within a few pixels of
        theirs; elsewhere their cached pixels are pasted back.
        """
        return list(getattr(self, "_overlay_artists", []))

    @overlay_artists.setter
    def overlay_artists(self, artists: Iterable[Artist]) -> None:
        self._overlay_artists = self._take_out_of_background(artists, "overlay_artists", "_overlay_artists")

    def _take_out_of_background(self, artists: Iterable[Artist], name: str, attribute: str) -> list[Artist]:
        artists = [a for a in artists if a is not None]  # e.g. ax.get_legend() of an axes without one
        for artist in artists:
            if not isinstance(artist, Artist):
                raise ValueError(f"{name} must hold matplotlib artists, got {type(artist).__name__}")
        for artist in getattr(self, attribute, []):
            artist.set_animated(False)
        for artist in artists:
            artist.set_animated(True)
        self.invalidate_background()
        return artists

    def invalidate_background(self) -> None:
        """Report a change to something static, so the next render redraws the whole figure once.

        View limits and the figure's size are watched automatically; call this
        after changing anything else that is in neither :attr:`moving_artists`
        nor :attr:`overlay_artists` (tick labels, titles, a static line's data).
        Overlay artists are static too: call this after changing one.
        """
        self._background = None

    def _static_key(self) -> tuple:
        """What the cached background depends on that the base class can see cheaply."""
        limits = tuple((*ax.get_xlim(), *ax.get_ylim()) for ax in self.figure.axes)
        return (self.canvas.get_width_height(), self.figure.dpi, limits)

    def _sort_for_painting(self, artists: list[Artist]) -> list[Artist]:
        """``artists`` in the order a full draw paints them.

        A figure paints its children by z-order (axes first), and each Axes paints
        its children by z-order, ties in insertion order; sorting on that keeps
        overlapping artists stacked as a full redraw would stack them.
        """
        children = [a for a in self.figure.get_children() if a is not self.figure.patch]
        top_rank = {id(a): i for i, a in enumerate(sorted(children, key=lambda a: a.get_zorder()))}
        child_rank = {id(c): i for ax in self.figure.axes for i, c in enumerate(ax.get_children())}

        def key(artist: Artist) -> tuple[int, float, int]:
            ax = artist.axes
            if ax is None or ax is artist:
                return (top_rank.get(id(artist), len(children)), 0.0, 0)
            return (top_rank.get(id(ax), len(children)), artist.get_zorder(), child_rank.get(id(artist), 0))

        return sorted(artists, key=key)

    def _pixel_extent(self, artist: Artist, renderer: Any) -> tuple[float, float, float, float]:
        """A box (display pixels, x0, y0, x1, y1) sure to hold every pixel ``artist`` paints."""
        boxes, widths = [artist.get_window_extent(renderer)], [getattr(artist, "get_linewidth", lambda: 0.0)()]
        frame = artist.get_bbox_patch() if isinstance(artist, Text) else None
        if frame is not None:  # a text's box, which its extent leaves out and only its draw moves into place
            artist.update_bbox_position_size(renderer)
            boxes.append(frame.get_window_extent(renderer))
            widths.append(frame.get_linewidth())
        # Outlines and anti-aliasing reach past the geometry: half a line width and a pixel or two.
        pad = 2.0 + self.figure.dpi / 72 * max(float(w or 0.0) for w in widths)
        return (min(b.x0 for b in boxes) - pad, min(b.y0 for b in boxes) - pad,
                max(b.x1 for b in boxes) + pad, max(b.y1 for b in boxes) + pad)

    def _may_paint_into(self, artist: Artist, rect: tuple, extents: dict, renderer: Any) -> bool:
        """False only if ``artist`` surely paints nothing inside the pixel box ``rect``.

        ``extents`` caches each artist's pixel extent for the current render.
        """
        x0, y0, x1, y1 = rect
        clip = artist.get_clip_box() if artist.get_clip_on() else None
        if clip is not None:  # clipped to its axes: nothing lands outside that box
            c0, d0, c1, d1 = clip.extents
            if not (c0 - 1 < x1 and x0 < c1 + 1 and d0 - 1 < y1 and y0 < d1 + 1):
                return False
        if id(artist) not in extents:
            extents[id(artist)] = self._pixel_extent(artist, renderer)
        m0, n0, m1, n1 = extents[id(artist)]
        if not (m0 < x1 and x0 < m1 and n0 < y1 and y0 < n1):
            return False
        if not isinstance(artist, Line2D) or artist.get_drawstyle() != "default":
            return True
        # A line's extent is the box around all its points, far more than it paints:
        # test its segments (or, for markers alone, its points) against the box instead.
        marker = 0.0 if artist.get_marker() in (None, "None", "none", "", " ") else (
            artist.get_markersize() / 2 + artist.get_markeredgewidth()
        )
        pad = 2.0 + self.figure.dpi / 72 * (artist.get_linewidth() / 2 + marker)
        box = Bbox([[x0 - pad, y0 - pad], [x1 + pad, y1 + pad]])
        path = artist.get_transform().transform_path(artist.get_path())
        if artist.get_linestyle() in ("None", "none", "", " "):
            return bool(box.count_contains(path.vertices))
        return bool(path.intersects_bbox(box, filled=False)) or (marker > 0 and bool(box.count_contains(path.vertices)))

    def _redraw_background(self) -> None:
        """Full draw of the static artists; cache it, and the overlays painted on top of it."""
        self.canvas.draw()  # everything except the moving and overlay artists (animated)
        self._background = self.canvas.copy_from_bbox(self.figure.bbox)
        self._paint_order = self._sort_for_painting(self._moving_artists + self._overlay_artists)
        self._overlay_background, self._overlay_rects = None, []
        if self._overlay_artists:
            renderer = self.canvas.get_renderer()
            overlays = [a for a in self._paint_order if a in self._overlay_artists and a.get_visible()]
            for artist in overlays:
                artist.draw(renderer)
            self._overlay_background = self.canvas.copy_from_bbox(self.figure.bbox)
            self._overlay_rects = [(a, self._pixel_extent(a, renderer)) for a in overlays]
            self.canvas.restore_region(self._background)
        # The draw may have autoscaled or re-solved the layout, so read the key afterwards.
        self._background_key = self._static_key()

    def _render_canvas(self) -> None:
        """Bring the Agg buffer up to date: full redraw or blit, whichever is correct."""
        if not self._moving_artists and not self._overlay_artists:
            self.canvas.draw()
            return
        if self._background is None or self._static_key() != self._background_key:
            self._redraw_background()
        else:
            self.canvas.restore_region(self._background)
        renderer = self.canvas.get_renderer()
        moving = [a for a in self._moving_artists if a.get_visible()]
        extents: dict[int, tuple[float, float, float, float]] = {}  # computed only when needed
        pasted = {
            id(overlay) for overlay, rect in self._overlay_rects
            if not any(self._may_paint_into(a, rect, extents, renderer) for a in moving)
        }
        for artist in self._paint_order:
            if artist.get_visible() and id(artist) not in pasted:
                artist.draw(renderer)
        width, height = self.canvas.get_width_height()
        for artist, (x0, y0, x1, y1) in self._overlay_rects:
            # Regions are addressed in pixel rows counted from the top.
            left, top = max(0, math.floor(x0)), max(0, math.floor(height - y1))
            right, bottom = min(width, math.ceil(x1)), min(height, math.ceil(height - y0))
            if id(artist) in pasted and left < right and top < bottom:
                # xy is where the saved region's own corner goes: it covers the figure, so (0, 0).
                self.canvas.restore_region(self._overlay_background, bbox=(left, top, right, bottom), xy=(0, 0))

    def _encode_png(self) -> bytes:
        """PNG bytes of the Agg buffer as it stands."""
        pixels = np.asarray(self.canvas.buffer_rgba())
        patch = self.figure.patch
        if patch.get_visible() and patch.get_facecolor()[3] == 1.0:
            pixels = pixels[..., :3]  # an opaque figure has no use for an alpha channel
        return encode_png(pixels)

    # ------------------------------------------------------------------ controls
    def values(self) -> dict[str, Any]:
        """The current value of every control, by name."""
        return {name: c.value for name, c in self.controls.items()}

    def draw(self, **values: Any) -> str:
        """Update the artists for ``values``; return an HTML readout of the key numbers."""
        raise NotImplementedError

    def set(self, **values: Any) -> None:
        """Move controls programmatically (as a learner would) and redraw once.

        Several controls moved in one call cost one redraw; values the explorer
        already shows cost none.
        """
        with self.hold_trait_notifications():
            for name, value in values.items():
                control = self.controls[name]
                control.unobserve(self._on_change, names="value")
                try:
                    control.value = value
                finally:
                    control.observe(self._on_change, names="value")
        if self.values() != self._shown_values:
            self.refresh()

    def refresh(self) -> None:
        """Redraw the artists for the current control values and re-render the image."""
        shown = self.values()
        self.readout.value = self.draw(**shown)
        self.image.value = self.render_png()
        self._shown_values = shown

    def render_png(self) -> bytes:
        """Render the figure as it stands to PNG bytes (blitting when it can)."""
        self._render_canvas()
        return self._encode_png()

    def _on_change(self, _change: dict) -> None:
        self.refresh()

    def _repr_mimebundle_(self, **kwargs: Any) -> dict:
        bundle = super()._repr_mimebundle_(**kwargs) or {}
        # A still of the current state for readers with no kernel (nbval ignores PNGs).
        bundle["image/png"] = base64.b64encode(self.render_png()).decode("ascii")
        bundle["text/plain"] = repr(self)
        return bundle

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v!r}" for k, v in self.values().items())
        return f"{type(self).__name__}({shown})"
