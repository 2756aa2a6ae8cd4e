"""The pattern every lesson's slider explorer follows.

The figure is built once. A slider move calls :meth:`Explorer.draw`, which only
sets new data on the artists that change, then re-renders the same figure to PNG.
Nothing is rebuilt, so a move costs one Agg draw plus a fast PNG encode.
"""

from __future__ import annotations

import base64
import io
from typing import Any, Mapping

import ipywidgets as widgets
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

#: Okabe–Ito colours: distinguishable with every common form of colour blindness.
OKABE_ITO = {
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "black": "#000000",
    "grey": "#999999",
}


class Explorer(widgets.VBox):
    """A figure drawn once, plus sliders that update its artists in place.

    Subclasses build their figure and artists in ``__init__`` *before* calling
    ``super().__init__(figure, controls)``, and implement :meth:`draw`.

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
    """

    def __init__(self, figure: Figure, controls: Mapping[str, widgets.ValueWidget], alt: str, dpi: int = 80) -> None:
        self.figure = figure
        self.canvas = FigureCanvasAgg(figure)
        self.controls = dict(controls)
        self.dpi = dpi
        figure.set_dpi(dpi)
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.image.add_class("kl-explorer-figure")
        self.alt = alt
        self.readout = widgets.HTML()
        for control in self.controls.values():
            control.observe(self._on_change, names="value")
        box = widgets.HBox(list(self.controls.values()), layout=widgets.Layout(flex_flow="row wrap"))
        super().__init__([box, self.image, self.readout])
        self.refresh()

    def values(self) -> dict[str, Any]:
        """The current value of every control, by name."""
        return {name: c.value for name, c in self.controls.items()}

    def draw(self, **values: Any) -> str:
        """Update the artists for ``values``; return an HTML readout of the key numbers."""
        raise NotImplementedError

    def set(self, **values: Any) -> None:
        """Move controls programmatically (as a learner would) and redraw once."""
        with self.hold_trait_notifications():
            for name, value in values.items():
                self.controls[name].unobserve(self._on_change, names="value")
                self.controls[name].value = value
                self.controls[name].observe(self._on_change, names="value")
        self.refresh()

    def refresh(self) -> None:
        """Redraw the artists for the current control values and re-render the image."""
        self.readout.value = self.draw(**self.values())
        self.image.value = self.render_png()

    def render_png(self) -> bytes:
        """Render the figure as it stands to PNG bytes."""
        self.canvas.draw()
        buffer = io.BytesIO()
        # Low zlib effort: encoding speed matters more than a few kB here.
        Image.frombuffer("RGBA", self.canvas.get_width_height(), self.canvas.buffer_rgba()).save(
            buffer, format="png", compress_level=1
        )
        return buffer.getvalue()

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
