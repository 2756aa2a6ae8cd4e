// The shared kit of the lesson explorers: SVG and DOM helpers, Okabe–Ito colours, the common CSS,
// axes, fill patterns, and sliders and radio buttons bound to the anywidget model.
//
// Each lesson's module in lessons/ imports what it needs from here; esbuild bundles each lesson
// into one self-contained file in kl_lessons/web/ (MyST copies a module alone, under a hashed name).

const SVG_NS = "http://www.w3.org/2000/svg";
export const OKABE_ITO = {
  orange: "#E69F00", sky: "#56B4E9", green: "#009E73", yellow: "#F0E442",
  blue: "#0072B2", vermillion: "#D55E00", purple: "#CC79A7", black: "#000000", grey: "#999999",
};
export const KIT_CSS = `
.kl-widget { font: 14px/1.4 system-ui, sans-serif; color: #222; background: #fff; color-scheme: light;
  max-width: 700px; padding: 0.5em; border-radius: 4px; }
.kl-widget .kl-controls { display: flex; flex-wrap: wrap; gap: 0.4em 1.5em; margin-bottom: 0.4em; }
.kl-widget .kl-control { display: flex; align-items: center; gap: 0.5em; }
.kl-widget .kl-control input[type=range] { width: 11em; accent-color: #0072B2; }
.kl-widget .kl-control input:focus-visible { outline: 3px solid #E69F00; outline-offset: 2px; }
.kl-widget .kl-value { font-variant-numeric: tabular-nums; min-width: 4.5em; font-weight: 600; }
.kl-widget fieldset { border: none; margin: 0; padding: 0; display: flex; flex-wrap: wrap; gap: 0.6em; align-items: center; }
.kl-widget legend { float: left; margin-right: 0.5em; }
.kl-widget svg { width: 100%; height: auto; display: block; }
.kl-widget svg text { font: 11px system-ui, sans-serif; fill: #222; }
.kl-widget svg .kl-title { font-size: 12.5px; font-weight: 600; }
.kl-widget .kl-readout { font-variant-numeric: tabular-nums; margin-top: 0.3em; }
.kl-widget .kl-readout b { font-weight: 600; }
.kl-widget .kl-readout p { margin: 0.2em 0; }
.kl-widget table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
.kl-widget .kl-scroll { max-width: 100%; overflow-x: auto; }
.kl-widget th, .kl-widget td { padding: 0.1em 1em 0.1em 0; text-align: right; }
.kl-widget th[scope=row] { text-align: left; }
`;
let kitCounter = 0;

export function uniqueId(prefix) {
  kitCounter += 1;
  return `${prefix}-${kitCounter}-${Math.random().toString(36).slice(2, 8)}`;
}

export function setAttrs(node, attrs) {
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  return node;
}

export function svg(parent, tag, attrs = {}) {
  const node = setAttrs(document.createElementNS(SVG_NS, tag), attrs);
  if (parent) parent.appendChild(node);
  return node;
}

export function html(parent, tag, attrs = {}, text = "") {
  const node = setAttrs(document.createElement(tag), attrs);
  if (text) node.textContent = text;
  if (parent) parent.appendChild(node);
  return node;
}

/** A number as text: fixed decimals, "∞" for infinity, and never "-0.000". */
export function fmt(x, digits) {
  if (x === Infinity) return "∞";
  if (x === -Infinity) return "-∞";
  if (Number.isNaN(x)) return "NaN";
  const text = x.toFixed(digits);
  return Number(text) === 0 ? (0).toFixed(digits) : text;
}

export function linear(d0, d1, r0, r1) {
  const k = (r1 - r0) / (d1 - d0);
  return (x) => r0 + (x - d0) * k;
}

/** About `count` round tick values (steps of 1, 2 or 5 × 10^k) covering [lo, hi]. */
export function niceTicks(lo, hi, count) {
  const raw = (hi - lo) / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) || 10 * power;
  const ticks = [];
  for (let t = Math.ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step) ticks.push(Math.abs(t) < step * 1e-9 ? 0 : t);
  return ticks;
}

/**
 * Listen for `change:<key>` and return a function that stops listening. The static site's
 * model.off throws (it cannot unsubscribe), so there the listener simply lives with the page.
 */
export function listen(model, key, callback) {
  const event = `change:${key}`;
  model.on(event, callback);
  return () => {
    try {
      model.off(event, callback);
    } catch (err) {
      // Static MyST page: nothing to unsubscribe from once the page goes.
    }
  };
}

/** The model's save_changes throws on the static site (no kernel to sync with): ignore that there. */
export function syncToModel(model, key, value) {
  try {
    model.set(key, value);
    model.save_changes();
  } catch (err) {
    // Static MyST page: the value lives only in this page, which is all a reader needs.
  }
}

/** Keys a focused slider, radio button or menu uses; the page around must not act on them too. */
const CONTROL_KEYS = new Set(["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "PageUp", "PageDown", "Home", "End"]);

/**
 * The widget's root element. In JupyterLab a notebook's shortcuts listen for keys on the whole
 * document, so an arrow key on a focused slider would also move the cell selection: the root
 * opts out of Lumino's shortcuts (`data-lm-suppress-shortcuts`) and keeps control keys to itself.
 */
export function mountWidget(el, className) {
  const root = html(null, "div", { class: `kl-widget ${className}`, "data-lm-suppress-shortcuts": "true" });
  root.addEventListener("keydown", (event) => {
    if (CONTROL_KEYS.has(event.key) && event.target.closest("input, select")) event.stopPropagation();
  });
  html(root, "style", {}, KIT_CSS);
  el.appendChild(root);
  return root;
}

/** Below this width (CSS px) of its column a widget draws its narrow layout (a phone is about 360). */
export const NARROW_PX = 560;

function columnWidth(el) {
  return el.getBoundingClientRect().width || document.documentElement.clientWidth;
}

/**
 * A widget's render function from `draw({ model, el }, narrow)`, which builds the widget for a wide
 * column or, with `narrow`, for a phone's: there the figure's viewBox is about as wide as the column,
 * so its text is drawn near its nominal size instead of shrinking with a wide figure. When the column
 * crosses NARROW_PX (a phone turned, a window resized) the widget is built again for the model as it stands.
 */
export function responsive(draw) {
  return ({ model, el }) => {
    let stop = null, narrow = null;
    const build = () => {
      if (stop) stop();
      el.replaceChildren();
      narrow = columnWidth(el) < NARROW_PX;
      stop = draw({ model, el }, narrow);
    };
    build();
    const observer = typeof ResizeObserver === "undefined" ? null
      : new ResizeObserver(() => { if ((columnWidth(el) < NARROW_PX) !== narrow) build(); });
    if (observer) observer.observe(el);
    return () => {
      if (observer) observer.disconnect();
      stop();
    };
  };
}

/** Legend entries laid out in rows of `perRow` from (x, y), each `dx` apart, rows `dy` apart: where entry j goes. */
export function gridPlace(j, { x, y, dx, dy, perRow }) {
  return { x: x + (j % perRow) * dx, y: y + Math.floor(j / perRow) * dy };
}

export function makeFigure(parent, width, height, title, description) {
  const titleId = uniqueId("kl-title");
  const descId = uniqueId("kl-desc");
  const figure = svg(parent, "svg", {
    viewBox: `0 0 ${width} ${height}`, role: "img", "aria-labelledby": `${titleId} ${descId}`,
  });
  svg(figure, "title", { id: titleId }).textContent = title;
  const desc = svg(figure, "desc", { id: descId });
  desc.textContent = description;
  return { figure, desc };
}

/**
 * A fill pattern (`url(#id)`): "diagonal", "cross" or "dots" marks over a tint of `colour`
 * (a pale tint with coloured marks, or with `solid` the full colour with dark marks),
 * so that series differ by more than colour alone.
 */
export function hatchPattern(defs, colour, { kind = "diagonal", solid = false } = {}) {
  const id = uniqueId("kl-hatch");
  const turned = kind === "dots" ? {} : { patternTransform: "rotate(45)" };
  const pattern = svg(defs, "pattern", { id, width: 6, height: 6, patternUnits: "userSpaceOnUse", ...turned });
  svg(pattern, "rect", { width: 6, height: 6, fill: colour, "fill-opacity": solid ? 1 : 0.25 });
  const ink = solid ? { colour: "#000000", opacity: 0.6, width: 1.2 } : { colour, opacity: 1, width: 2.5 };
  if (kind === "dots") {
    svg(pattern, "circle", { cx: 3, cy: 3, r: 1.2, fill: ink.colour, "fill-opacity": ink.opacity });
  } else {
    const line = { stroke: ink.colour, "stroke-opacity": ink.opacity, "stroke-width": ink.width };
    svg(pattern, "line", { x1: 0, y1: 0, x2: 0, y2: 6, ...line });
    if (kind === "cross") svg(pattern, "line", { x1: 0, y1: 3, x2: 6, y2: 3, ...line });
  }
  return `url(#${id})`;
}

/** A pool of tick marks and labels along one axis, moved by changing attributes (never rebuilt). */
export function makeAxis(parent, { orient, at, from, to, count }) {
  const group = svg(parent, "g", { class: "kl-axis", "aria-hidden": "true" });
  const vertical = orient === "left";
  svg(group, "line", vertical ? { x1: at, x2: at, y1: from, y2: to, stroke: "#444" } : { y1: at, y2: at, x1: from, x2: to, stroke: "#444" });
  const items = [];
  for (let i = 0; i < count; i += 1) {
    const line = svg(group, "line", { stroke: "#444", visibility: "hidden" });
    const label = svg(group, "text", vertical
      ? { x: at - 6, "text-anchor": "end", "dominant-baseline": "middle", visibility: "hidden" }
      : { y: at + 14, "text-anchor": "middle", visibility: "hidden" });
    items.push({ line, label });
  }
  return {
    update(ticks, position, format) {
      items.forEach(({ line, label }, i) => {
        if (i >= ticks.length) {
          line.setAttribute("visibility", "hidden");
          label.setAttribute("visibility", "hidden");
          return;
        }
        const p = position(ticks[i]);
        setAttrs(line, vertical ? { x1: at - 4, x2: at, y1: p, y2: p, visibility: "visible" } : { x1: p, x2: p, y1: at, y2: at + 4, visibility: "visible" });
        setAttrs(label, vertical ? { y: p, visibility: "visible" } : { x: p, visibility: "visible" });
        label.textContent = format(ticks[i]);
      });
    },
  };
}

/**
 * A labelled, keyboard-operable range slider bound to one model key.
 * `toSlider`/`fromSlider` map model units to slider units (e.g. log10 β); `text` formats the model value.
 */
export function bindSlider(model, state, parent, key, spec, redraw, cleanups) {
  const { label, min, max, step, text, toSlider = (v) => v, fromSlider = (v) => v } = spec;
  const id = uniqueId(`kl-${key}`);
  const row = html(parent, "div", { class: "kl-control" });
  html(row, "label", { for: id }, label);
  const input = html(row, "input", { type: "range", id, min, max, step, "data-key": key });
  input.value = String(toSlider(state[key]));
  const output = html(row, "output", { for: id, class: "kl-value", "data-readout": key });
  const show = () => {
    const shown = text(state[key]);
    output.textContent = shown;
    input.setAttribute("aria-valuetext", shown);
  };
  show();
  input.addEventListener("input", () => {
    state[key] = fromSlider(Number(input.value));
    show();
    redraw(key);
    syncToModel(model, key, state[key]);
  });
  // A change made elsewhere (Python in JupyterLab) moves the slider and redraws.
  cleanups.push(listen(model, key, () => {
    const value = model.get(key);
    if (value === state[key]) return;
    state[key] = value;
    input.value = String(toSlider(value));
    show();
    redraw(key);
  }));
  return input;
}

/** A labelled group of radio buttons bound to one model key (arrow keys move between them). */
export function bindChoice(model, state, parent, key, { label, options }, redraw, cleanups) {
  const name = uniqueId(`kl-${key}`);
  const group = html(parent, "fieldset", { class: "kl-control", "data-key": key });
  html(group, "legend", {}, label);
  const inputs = options.map((option) => {
    const id = uniqueId(`kl-${key}-${option}`);
    const input = html(group, "input", { type: "radio", name, id, value: option });
    input.checked = option === state[key];
    html(group, "label", { for: id }, option);
    input.addEventListener("change", () => {
      if (!input.checked) return;
      state[key] = option;
      redraw(key);
      syncToModel(model, key, option);
    });
    return input;
  });
  cleanups.push(listen(model, key, () => {
    const value = model.get(key);
    if (value === state[key]) return;
    state[key] = value;
    inputs.forEach((input) => { input.checked = input.value === value; });
    redraw(key);
  }));
  return inputs;
}

export function readoutSpan(parent, key) {
  return html(parent, "span", { "data-readout": key });
}

/**
 * The widget's state: every key in `keys`, read from the model. The model comes from the lesson's
 * Python state function (kl_lessons.explorer_state), the one place defaults and data are written,
 * so a missing key is an error, not a reason to invent a value.
 */
export function readModel(model, keys) {
  const state = {};
  for (const key of keys) {
    const value = model.get(key);
    if (value === undefined || value === null) throw new Error(`the widget's model has no "${key}"`);
    state[key] = value;
  }
  return state;
}
