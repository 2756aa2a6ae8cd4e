// Lesson 10: read a trainer's log in the page. Paste it, drop or choose a file (read with FileReader: nothing leaves
// the page), or pick a trace of the casebook. The text is read as kl_lessons.run_logs.parse_log_text reads it, the
// monitor's checks (kl_lessons.monitor.health_report, via run_logs.check_run) run on it, and the KL to the
// reference, the entropy and the reward are drawn with every flag at its step. A step slider scrubs the values.
// The key table, the trainers' other keys and the checks' thresholds come from the state (explorer_state's
// log_reader_state reads them from run_logs and monitor): nothing of them is written here.
// An anywidget front-end module; esbuild bundles it with the kit into one file for MyST and JupyterLab.

import {
  OKABE_ITO, setAttrs, svg, html, linear, niceTicks, mountWidget, makeFigure, makeAxis, bindSlider, listen,
  syncToModel, readModel, responsive,
} from "../kit.js";
import { valueRange } from "../math.js";
// The casebook's traces, file name → text, written by scripts/make_casebook.py from kl_lessons/data/casebook.
// Bundled with the module rather than sent in the state: a 200 KB state inside the page's {anywidget} block makes
// the site's build take minutes.
import TRACES from "../casebook_traces.json";

// ---------------------------------------------------------------------------- Python's number formats
// The monitor's messages are Python f-strings; these give the same text for the same double.

/** The exact decimal digits of |x| > 0 (61 significant, enough to tell a tie from a near-tie) and its exponent. */
function decimalDigits(x) {
  const [mantissa, exponent] = Math.abs(x).toExponential(60).split("e");
  return { digits: mantissa.replace(".", ""), exp: Number(exponent) };
}

/** `digits` rounded to `keep` digits, half to even (Python's rule); the exponent moves when 9…9 rounds up. */
function roundDigits(digits, exp, keep) {
  if (keep <= 0) {
    digits = "0" + digits;
    exp += 1;
    keep += 1;
    if (keep <= 0) return { digits: "0", exp };
  }
  const kept = digits.slice(0, keep).split("").map(Number);
  const rest = digits.slice(keep);
  const first = rest ? Number(rest[0]) : 0;
  const tail = rest.slice(1).replace(/0/g, "");
  const up = first > 5 || (first === 5 && (tail.length > 0 || kept[kept.length - 1] % 2 === 1));
  if (up) {
    let i = kept.length - 1;
    while (i >= 0 && kept[i] === 9) { kept[i] = 0; i -= 1; }
    if (i < 0) { kept.unshift(1); kept.pop(); exp += 1; } else kept[i] += 1;
  }
  return { digits: kept.join(""), exp };
}

function special(x) {
  if (Number.isNaN(x)) return "nan";
  if (x === Infinity) return "inf";
  if (x === -Infinity) return "-inf";
  return null;
}

/** Python's `format(x, ".{p}g")` (p = 6 is `:g`). */
export function pyG(x, p = 6) {
  if (special(x)) return special(x);
  const sign = x < 0 || Object.is(x, -0) ? "-" : "";
  if (x === 0) return `${sign}0`;
  const exact = decimalDigits(x);
  const { digits, exp } = roundDigits(exact.digits, exact.exp, p);
  const strip = (s) => (s.includes(".") ? s.replace(/0+$/, "").replace(/\.$/, "") : s);
  if (exp >= -4 && exp < p) {
    const body = exp >= 0 ? `${digits.slice(0, exp + 1).padEnd(exp + 1, "0")}.${digits.slice(exp + 1)}`
      : `0.${"0".repeat(-exp - 1)}${digits}`;
    return sign + strip(body);
  }
  const e = Math.abs(exp) < 10 ? `0${Math.abs(exp)}` : String(Math.abs(exp));
  return `${sign}${strip(`${digits[0]}.${digits.slice(1)}`)}e${exp < 0 ? "-" : "+"}${e}`;
}

/** Python's `format(x, ".{d}f")`. */
export function pyF(x, d) {
  if (special(x)) return special(x);
  const sign = x < 0 || Object.is(x, -0) ? "-" : "";
  let digits = "0", exp = 0;
  if (x !== 0) {
    const exact = decimalDigits(x);
    ({ digits, exp } = roundDigits(exact.digits, exact.exp, exact.exp + 1 + d));
  }
  // digits × 10^(exp - len + 1): write it with d decimals.
  const scale = exp - digits.length + 1 + d;  // trailing zeros to add (≥ 0 after rounding to d decimals)
  let whole = digits + "0".repeat(Math.max(0, scale));
  if (scale < 0) whole = whole.slice(0, whole.length + scale);
  whole = whole.padStart(d + 1, "0");
  const text = d ? `${whole.slice(0, whole.length - d)}.${whole.slice(whole.length - d)}` : whole;
  return sign + text.replace(/^0+(?=\d)/, "");
}

/** Python's `format(x, ".{d}%")`. */
export const pyPct = (x, d) => `${pyF(x * 100, d)}%`;

/** Python's repr of a str. */
export function pyRepr(s) {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = "";
  for (const ch of s) {
    const c = ch.codePointAt(0);
    if (ch === "\\") out += "\\\\";
    else if (ch === quote) out += `\\${quote}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (c < 0x20 || (c >= 0x7f && c < 0xa0)) out += `\\x${c.toString(16).padStart(2, "0")}`;
    else out += ch;
  }
  return quote + out + quote;
}

const pyList = (items) => `[${items.map(pyRepr).join(", ")}]`;

/** Python's str of a JSON value (a note quotes a value that is not a number). */
function pyStr(value) {
  if (typeof value === "string") return value;
  if (value === true) return "True";
  if (value === false) return "False";
  if (value === null) return "None";
  if (typeof value === "number") return special(value) || String(value);
  if (Array.isArray(value)) return `[${value.map((v) => (typeof v === "string" ? pyRepr(v) : pyStr(v))).join(", ")}]`;
  return `{${Object.entries(value).map(([k, v]) => `${pyRepr(k)}: ${typeof v === "string" ? pyRepr(v) : pyStr(v)}`).join(", ")}}`;
}

/** Python's float() of a text cell, or null when Python would refuse it. */
const PLAIN_NUMBER = /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

function pyFloat(text) {
  if (PLAIN_NUMBER.test(text)) return Number(text);  // the common cell, tested first
  const t = text.trim();
  if (/^[+-]?(nan|inf|infinity)$/i.test(t)) return t.toLowerCase().includes("nan") ? NaN : (t[0] === "-" ? -Infinity : Infinity);
  if (!/^[+-]?(\d(_?\d)*(\.(\d(_?\d)*)?)?|\.\d(_?\d)*)([eE][+-]?\d(_?\d)*)?$/.test(t)) return null;
  return Number(t.replace(/_/g, ""));
}

// ---------------------------------------------------------------------------- reading a log (run_logs.py)
// Python's str.splitlines() boundaries.
const LINE_BREAK = /\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/;
const RARE_BREAK = /[\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/;
/** Python's text.splitlines(): the text's lines without their ends. */
function splitLines(text) {
  const lines = RARE_BREAK.test(text) ? text.split(LINE_BREAK) : text.split("\n");  // "\n" alone: a plain split
  if (lines.length && lines[lines.length - 1] === "" && /[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]$/.test(text)) lines.pop();
  return lines;
}
const NON_FINITE = /"(?:[^"\\]|\\.)*"|-?Infinity|NaN/g;
const NAN_MARK = { NaN: "\ue000kl-nan", Infinity: "\ue000kl-inf", "-Infinity": "\ue000kl-minf" };
const FROM_MARK = { "\ue000kl-nan": NaN, "\ue000kl-inf": Infinity, "\ue000kl-minf": -Infinity };

/** JSON.parse that also takes NaN, Infinity and -Infinity, as Python's json.loads does (TRL writes NaN). */
export function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch (err) {
    if (!/NaN|Infinity/.test(text)) throw err;
  }
  const marked = text.replace(NON_FINITE, (m) => (m[0] === '"' ? m : `"${NAN_MARK[m]}"`));
  return JSON.parse(marked, (key, value) => (typeof value === "string" && value[0] === "\ue000" && value in FROM_MARK ? FROM_MARK[value] : value));
}

/** Python's type name of a JSON value (`raw`: its text, which tells an int from a float). */
function typeName(value, raw) {
  if (Array.isArray(value)) return "list";
  if (value === null) return "NoneType";
  if (typeof value === "string") return "str";
  if (typeof value === "boolean") return "bool";
  if (typeof value === "number") return /^\s*-?\d+\s*$/.test(raw) ? "int" : "float";
  return "dict";
}
const isDict = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

/** run_logs._Notes: one note per (kind, key), repeats counted, the first lines listed. */
class Notes {
  constructor() { this.items = new Map(); }
  add(kind, key, line, text) {
    const id = `${kind}\u0000${key}`;
    let item = this.items.get(id);
    if (!item) { item = { line, text, lines: [], count: 0 }; this.items.set(id, item); }
    if (item.lines.length < 5) item.lines.push(line);
    item.count += 1;
  }
  get size() { return this.items.size; }
  render() {
    return [...this.items.values()].sort((a, b) => a.line - b.line).map(({ line, text, lines, count }) => {
      const more = count > 1 ? ` (${count} lines like this: ${lines.join(", ")}${count > 5 ? ", …" : ""})` : "";
      return line ? `line ${line}: ${text}${more}` : `${text}${more}`;
    });
  }
}

class LogError extends Error {}

/** The 0-based position just after the JSON value that starts at `pos`, or -1 if the text ends inside it. */
function valueEnd(text, pos) {
  const c = text[pos];
  if (c === "{" || c === "[" || c === '"') {
    let depth = 0, inString = false;
    for (let i = pos; i < text.length; i += 1) {
      const ch = text.charCodeAt(i);
      if (inString) {
        if (ch === 92) i += 1;  // backslash: skip the escaped character
        else if (ch === 34) { inString = false; if (depth === 0) return i + 1; }
      } else if (ch === 34) inString = true;
      else if (ch === 123 || ch === 91) depth += 1;
      else if (ch === 125 || ch === 93) { depth -= 1; if (depth === 0) return i + 1; }
    }
    return -1;
  }
  const m = /^(?:-?(?:\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|Infinity)|NaN|true|false|null)/.exec(text.slice(pos, pos + 400));
  return m ? pos + m[0].length : pos + 1;
}

function rowsTrainerState(text, notes) {
  const key = text.indexOf('"log_history"');
  if (key < 0) throw new LogError('log has no "log_history" list: is it a transformers trainer_state.json?');
  const bracket = text.indexOf("[", key);
  if (bracket < 0 || text.slice(key + 13, bracket).trim() !== ":") throw new LogError('log: "log_history" is not followed by a list');
  const rows = [];
  const wsComma = /[\s,]*/y;
  let pos = bracket + 1, line = 1, linePos = 0;
  for (;;) {
    wsComma.lastIndex = pos;
    wsComma.exec(text);
    pos = wsComma.lastIndex;
    for (let i = text.indexOf("\n", linePos); i >= 0 && i < pos; i = text.indexOf("\n", i + 1)) line += 1;
    linePos = pos;
    if (pos >= text.length) {
      notes.add("truncated", "", line, `the file ends inside log_history after ${rows.length} complete rows (cut off while being written?); those rows are read`);
      break;
    }
    if (text[pos] === "]") break;
    const end = valueEnd(text, pos);
    let entry;
    try {
      if (end < 0) throw new SyntaxError("the text ends inside this entry");
      entry = parseJson(text.slice(pos, end));
    } catch (err) {
      const what = !text.trimEnd().endsWith("}") ? "is cut off (the file ends inside it)" : "is not valid JSON";
      notes.add("truncated", "", line, `log_history entry ${rows.length} ${what} (JSON: ${err.message}); the ${rows.length} rows before it are read, nothing after it`);
      break;
    }
    if (isDict(entry)) rows.push([line, entry]);
    else notes.add("not_dict", "", line, `log_history entry is a ${typeName(entry, text.slice(pos, end))}, not a dict; left out`);
    pos = end;
  }
  return rows;
}

function rowsJsonl(text, notes) {
  const lines = splitLines(text);
  const numbered = [];
  lines.forEach((raw, i) => { if (raw.trim()) numbered.push(i); });
  let whole = null;
  try {  // one call for the whole file; it counts only if each line held exactly one value
    whole = parseJson(`[${numbered.map((i) => lines[i]).join(",")}]`);
  } catch (err) {
    whole = null;
  }
  const rows = [];
  const take = (number, row, raw) => {
    if (!isDict(row)) {
      notes.add("not_dict", "", number, `holds a ${typeName(row, raw)}, not a dict of metrics; left out`);
      return;
    }
    const data = row.data;
    const keys = Object.keys(row);
    if (isDict(data) && keys.every((k) => k === "step" || k === "data")) row = { step: row.step === undefined ? null : row.step, ...data };
    rows.push([number, row]);
  };
  if (whole !== null && whole.length === numbered.length) {
    numbered.forEach((i, j) => take(i + 1, whole[j], lines[i]));
    return rows;
  }
  const endsWithNewline = /[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]$/.test(text);
  for (const i of numbered) {
    let row;
    try {
      row = parseJson(lines[i]);
    } catch (err) {
      if (i + 1 === lines.length && !endsWithNewline) {
        notes.add("cut_off", "", i + 1, `the last line is not valid JSON (JSON: ${err.message}) and has no line end: the file was cut off (while being written?); left out`);
      } else notes.add("bad_json", "", i + 1, `not valid JSON (JSON: ${err.message}); left out`);
      continue;
    }
    take(i + 1, row, lines[i]);
  }
  return rows;
}

/** Python's csv.reader over io.StringIO(text): records with the line (csv's line_num) each ends on. */
function csvRecords(text) {
  if (!text.includes('"') && !/\r(?!\n)/.test(text)) {
    // No quoting and no lone \r: a record is a line and a cell is what lies between commas (20x faster).
    const lines = text.split("\n");
    if (lines[lines.length - 1] === "") lines.pop();
    return lines.map((raw, i) => {
      const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
      return [i + 1, line ? line.split(",") : []];
    });
  }
  const records = [];
  let field = "", cells = [], inQuotes = false, quoted = false, line = 1, any = false;
  const endRecord = (atLine) => {
    if (any || cells.length) { cells.push(field); records.push([atLine, cells]); } else records.push([atLine, []]);
    field = ""; cells = []; quoted = false; any = false;
  };
  for (let i = 0; i < text.length; i += 1) {
    const ch = text[i];
    if (inQuotes) {
      if (ch === '"') {
        if (text[i + 1] === '"') { field += '"'; i += 1; } else inQuotes = false;
      } else {
        if (ch === "\n") line += 1;
        field += ch;
      }
    } else if (ch === '"' && field === "" && !quoted) { inQuotes = true; quoted = true; any = true; }
    else if (ch === ",") { cells.push(field); field = ""; quoted = false; any = true; }
    else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i += 1;
      endRecord(line);
      line += 1;
    } else { field += ch; any = true; }
  }
  if (any || cells.length || field) endRecord(line);
  return records;
}

function rowsCsv(text, notes) {
  const records = csvRecords(text);
  const header = (records.length ? records[0][1] : []).map((h) => h.trim());
  if (new Set(header).size !== header.length) throw new LogError("log: the CSV header repeats a column name");
  const rows = [];
  for (const [number, cells] of records.slice(1)) {
    if (!cells.some((c) => c.trim())) continue;
    if (cells.length !== header.length) {
      notes.add("csv_width", "", number, `has ${cells.length} cells for ${header.length} columns (cut off?); left out`);
      continue;
    }
    const row = {};
    for (let j = 0; j < header.length; j += 1) if (cells[j] !== "" && cells[j].trim()) row[header[j]] = cells[j];
    rows.push([number, row]);
  }
  return rows;
}

// ---- console logs: verl's "step:12 - key:value - …" lines and OpenRLHF's "Global step 12: {…}" lines
const PY_WORDS = /\b(?:nan|inf|None|True|False)\b/g;
const AS_JSON = { nan: "NaN", inf: "Infinity", None: "null", True: "true", False: "false" };
const asJson = (text) => text.replace(/'/g, '"').replace(PY_WORDS, (w) => AS_JSON[w]);

/**
 * A Python dict literal as ``repr`` prints one (run_logs._literal through ast): strings, numbers, nan, inf, None,
 * True, False, signs and nested dicts; any other value (a tensor(...) call, a list) is kept as its text. Null when
 * it is not a dict literal.
 */
function pythonLiteral(text) {
  let i = 0;
  const space = () => { while (i < text.length && /\s/.test(text[i])) i += 1; };
  const fail = () => { throw new SyntaxError("not a Python literal"); };
  function string() {
    const quote = text[i];
    let out = "";
    for (i += 1; i < text.length && text[i] !== quote; i += 1) {
      if (text[i] === "\\") {
        i += 1;
        out += { n: "\n", t: "\t", r: "\r", "\\": "\\", "'": "'", '"': '"' }[text[i]] ?? `\\${text[i]}`;
      } else out += text[i];
    }
    if (i >= text.length) fail();
    i += 1;
    return out;
  }
  function other() {  // text up to the next comma or closing bracket at this depth
    const start = i;
    let depth = 0;
    for (; i < text.length; i += 1) {
      const c = text[i];
      if (c === "'" || c === '"') { string(); i -= 1; continue; }
      if ("([{".includes(c)) depth += 1;
      else if (")]}".includes(c)) { if (depth === 0) break; depth -= 1; } else if (c === "," && depth === 0) break;
    }
    if (depth) fail();
    return text.slice(start, i).trim();
  }
  function value() {
    space();
    const c = text[i];
    if (c === "{") return dict();
    if (c === "'" || c === '"') return string();
    if (c === "-" || c === "+") {
      i += 1;
      const inner = value();
      if (typeof inner !== "number") return `${c}${inner}`;
      return c === "-" ? -inner : inner;
    }
    const word = /^(?:nan|inf|None|True|False)\b/.exec(text.slice(i, i + 6));
    if (word) { i += word[0].length; return { nan: NaN, inf: Infinity, None: null, True: true, False: false }[word[0]]; }
    const raw = other();
    const number = pyFloat(raw);
    if (number !== null && !/^[+-]?(nan|inf)/i.test(raw)) return number;
    if (/^0[xX][\da-fA-F_]+$|^0[oO][0-7_]+$|^0[bB][01_]+$/.test(raw)) return Number(raw.replace(/_/g, ""));
    return raw;
  }
  function dict() {
    const out = {};
    i += 1;
    space();
    while (text[i] !== "}") {
      const key = value();
      space();
      if (text[i] !== ":") fail();
      i += 1;
      out[typeof key === "string" ? key : pyStr(key)] = value();
      space();
      if (text[i] === ",") { i += 1; space(); } else if (text[i] !== "}") fail();
    }
    i += 1;
    return out;
  }
  try {
    space();
    if (text[i] !== "{") return null;
    const out = dict();
    space();
    return i === text.length ? out : null;
  } catch (err) {
    return null;
  }
}

/** Each status text as a dict: one JSON call for all when it can be (fast), else one by one. */
function pythonDicts(statuses) {
  try {
    const whole = parseJson(asJson(`[${statuses.map(([, , t]) => t).join(",")}]`));
    if (whole.length === statuses.length) return whole;
  } catch (err) {
    // some status is not JSON once quoted: read each
  }
  return statuses.map(([, , t]) => {
    try {
      return parseJson(asJson(t));
    } catch (err) {
      return pythonLiteral(t);
    }
  });
}

const SEPARATORS = / - |:/;
/** A row's keys when its object keeps only the values some key table names (a verl console line). */
const SHAPE = Symbol("keys");
const keysOf = (row) => row[SHAPE] || Object.keys(row);

function verlPairs(body, number, notes, wanted, cache) {
  // key, value, key, value… when no key or value holds a colon (one split; run_logs replaces " - " by ":" first).
  const parts = body.split(SEPARATORS);
  let pairCount = 1;
  for (let at = body.indexOf(" - "); at >= 0; at = body.indexOf(" - ", at + 3)) pairCount += 1;
  if (parts.length === 2 * pairCount) {
    // A verl line holds ~45 keys, the checks read a few: keep the values of the keys some trainer's table names,
    // and the line's keys as one list shared by every line with the same keys (a 100,000-line log has one).
    let shape = cache.shape;
    let same = shape !== null && shape.length - (shape.stepAdded ? 1 : 0) === pairCount;
    for (let j = 0; same && j < parts.length; j += 2) same = parts[j] === shape[j >> 1];
    if (!same) {
      const names = [];
      for (let j = 0; j < parts.length; j += 2) names.push(parts[j]);
      if (new Set(names).size !== names.length) {  // a key twice: a plain dict, as Python's
        const row = {};
        for (let j = 0; j < parts.length; j += 2) row[parts[j]] = parts[j + 1];
        return row;
      }
      shape = names;
      shape.stepAdded = !names.includes("step");
      if (shape.stepAdded) shape.push("step");
      cache.shape = shape;
    }
    const row = { [SHAPE]: shape };
    for (let j = 0; j < parts.length; j += 2) if (wanted.has(parts[j])) row[parts[j]] = parts[j + 1];
    return row;
  }
  const row = {};
  for (const pair of body.split(" - ")) {
    const at = pair.lastIndexOf(":");
    const name = at >= 0 ? pair.slice(0, at) : "", value = at >= 0 ? pair.slice(at + 1) : "";
    if (at >= 0 && name.trim() && value.trim()) row[name.trim()] = value.trim();
    else notes.add("bad_pair", "", number, `${pyRepr(pair.trim().slice(0, 40))} is not key:value; left out`);
  }
  return row;
}

function rowsConsole(text, notes, wanted) {
  const rows = [], statuses = [], cache = { shape: null };
  let other = 0, firstOther = 0;
  const lines = splitLines(text);
  lines.forEach((raw, i) => {
    const number = i + 1;
    const match = raw.includes("step:") ? VERL_LINE.exec(raw) : null;
    if (match) {
      const row = verlPairs(match[2].trimEnd(), number, notes, wanted, cache);
      row.step = Number(match[1]);
      rows.push([number, row]);
      return;
    }
    const at = raw.indexOf("Global step ");
    if (at >= 0) {
      const colon = raw.indexOf(": {", at);
      const step = raw.slice(at + 12, colon), status = raw.slice(colon + 2).trimEnd();
      if (colon > 0 && /^\d+$/.test(step) && status.endsWith("}")) {
        statuses.push([number, Number(step), status]);
        return;
      }
    }
    if (raw.trim()) {
      other += 1;
      firstOther = firstOther || number;
    }
  });
  pythonDicts(statuses).forEach((status, j) => {
    const [number, step] = statuses[j];
    if (isDict(status)) rows.push([number, { step, ...status }]);
    else notes.add("bad_dict", "", number, "the status dict does not parse; left out");
  });
  rows.sort((a, b) => a[0] - b[0]);  // a log holding both kinds of line keeps file order
  if (other && rows.length) {
    notes.add("other_lines", "", firstOther, `lines that are not metric lines, left out: ${other} (the first is this one); metric lines read: ${rows.length}`);
  }
  return rows;
}

const VERL_LINE = /(?:^|\s)step:(\d+) - (.*)$/m;
const ORL_LINE = /Global step (\d+): (\{.*\})\s*$/m;

/** run_logs._detect_format. */
export function detectFormat(text) {
  const head = splitLines(text.slice(0, 1000000));
  const first = head.find((l) => l.trim()) || "";
  if (first.trimStart().startsWith("{")) {
    let row = null;
    try { row = parseJson(first); } catch (err) { row = null; }
    if (isDict(row) && !("log_history" in row)) return "jsonl";
    return text.includes('"log_history"') ? "trainer_state.json" : "jsonl";
  }
  const start = text.slice(0, 200000);
  if (VERL_LINE.test(start) || ORL_LINE.test(start)) return "console";
  if (first.includes(",")) return "csv";
  return "console";
}

/** The key table of the state as look-ups: trainer → ordered [key, meaning] pairs, and the sets around them. */
export function makeTables(keyTable) {
  const trainers = keyTable.trainers.map((t) => t.name);
  const meanings = Object.fromEntries(keyTable.trainers.map((t) => [t.name, new Map(t.keys.map((k) => [k.key, k]))]));
  const other = Object.fromEntries(keyTable.trainers.map((t) => [t.name, t.other]));
  const labels = Object.fromEntries(keyTable.trainers.map((t) => [t.name, t.label]));
  // The keys whose values a reader keeps from a verl console line: any trainer's table keys and step keys.
  const wanted = new Set(keyTable.step_keys);
  for (const t of keyTable.trainers) for (const { key } of t.keys) { wanted.add(key); wanted.add(`train/${key}`); }
  return {
    trainers, meanings, other, labels, wanted,
    sequenceAveraged: new Set(keyTable.sequence_averaged.map(([t, k]) => `${t}\u0000${k}`)),
    stepKeys: keyTable.step_keys, bookkeeping: new Set(keyTable.bookkeeping), summary: new Set(keyTable.summary),
    evalPrefixes: keyTable.eval_prefixes,
  };
}

/** run_logs.averaged_first_row: the first row comes after step 1, so it may average several steps. */
const averagedFirstRow = (steps) => steps.length > 0 && Number.isFinite(steps[0]) && steps[0] > 1;

const known = (tables, trainer, key) => tables.meanings[trainer].has(key)
  || tables.other[trainer].some((p) => (p.endsWith("/") ? key.startsWith(p) : key === p));
const normal = (trainer, key) => (trainer === "openrlhf" && key.startsWith("train/") ? key.slice(6) : key);
const isEval = (tables, key) => tables.evalPrefixes.some((p) => key.startsWith(p));

/** One key's values as floats, NaN where missing or not a number (with a note): run_logs._column. */
function column(rows, key, notes, textValues) {
  const out = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i += 1) {
    const [line, row] = rows[i];
    let value = Object.prototype.hasOwnProperty.call(row, key) ? row[key] : undefined;
    if (textValues && typeof value === "string") {
      const inner = /^np\.\w+\((.*)\)$/.exec(value.trim());
      const number = pyFloat(inner ? inner[1] : value);
      if (number !== null) value = number; else value = inner ? inner[1] : value.trim();
    }
    if (typeof value === "number") { out[i] = value; continue; }
    out[i] = NaN;
    if (value === undefined) notes.add("missing", key, line, `key ${pyRepr(key)} is missing on this row; read as NaN`);
    else if (value === null) notes.add("null", key, line, `key ${pyRepr(key)} is null (TRL writes null when every value of a logging step was NaN); read as NaN`);
    else notes.add("not_number", key, line, `key ${pyRepr(key)} holds ${pyRepr(pyStr(value).slice(0, 40))}, not a number; read as NaN`);
  }
  return out;
}

function detectTrainer(tables, keys, notes) {
  const scores = tables.trainers.map((t) => [...keys].filter((k) => known(tables, t, normal(t, k))).length);
  const best = Math.max(...scores);
  if (best === 0) {
    throw new LogError("text: none of its keys is one that TRL, verl, OpenRLHF or the course's trainer logs "
      + `(keys: ${pyList([...keys].sort().slice(0, 8))}); pass trainer= to read it as one of ${pyList([...tables.trainers].sort())}`);
  }
  const tied = tables.trainers.filter((t, i) => scores[i] === best);
  if (tied.length === 2 && tied.includes("trl") && tied.includes("trl_rloo")) {
    notes.add("trainer", "", 0, "the keys fit TRL's GRPOTrainer and RLOOTrainer alike; read as GRPOTrainer ('kl' is k3 in the loss). For an RLOO run pass trainer='trl_rloo' ('kl' is k1 in the reward).");
  }
  return tied[0];
}

/**
 * A log's text read like run_logs.parse_log_text: { trainer, fmt, steps, lines, meanings, sources, metrics, kl_per,
 * notes } with Float64Array series, or { error } with run_logs' message when nothing can be read. Never throws.
 */
export function parseLogText(text, keyTable, { trainer = null, name = "log", limits = null } = {}) {
  try {
    return readLog(text, makeTables(keyTable), trainer, name, limits);
  } catch (err) {
    if (err instanceof LogError) return { error: err.message };
    return { error: `text: ${name} could not be read (${err && err.message ? err.message : err})` };
  }
}

function readLog(text, tables, trainer, name, limits) {
  if (typeof text !== "string") throw new LogError(`text must be the log's text (a str), got ${typeName(text, "")}`);
  if (!text.trim()) throw new LogError(`text: ${name} is empty`);
  if (limits) {
    if (text.length > limits.max_chars) {
      throw new LogError(`text: ${name} has ${text.length.toLocaleString("en")} characters, over the page's limit of ${limits.max_chars.toLocaleString("en")}: read it with python -m kl_lessons.run_logs`);
    }
    let count = 0;
    for (let i = text.indexOf("\n"); i >= 0 && count <= limits.max_lines; i = text.indexOf("\n", i + 1)) count += 1;
    if (count > limits.max_lines) {
      throw new LogError(`text: ${name} has over ${limits.max_lines.toLocaleString("en")} lines, the page's limit: read it with python -m kl_lessons.run_logs`);
    }
    const sample = text.slice(0, 4096);
    if ((sample.match(/[\u0000-\u0008\u000e-\u001f\ufffd]/g) || []).length > sample.length / 20) {
      throw new LogError(`text: ${name} looks like binary data, not a log's text (TRL's trainer_state.json, JSON lines or CSV)`);
    }
  }
  const notes = new Notes();
  const fmt = detectFormat(text);
  let rows;
  try {
    rows = { "trainer_state.json": rowsTrainerState, jsonl: rowsJsonl, csv: rowsCsv, console: rowsConsole }[fmt](text, notes, tables.wanted);
  } catch (err) {
    if (err instanceof LogError) throw new LogError(`text: ${name}: ${err.message}`);
    throw err;
  }
  let keys = new Set();
  let lastNames = null;
  for (const [, row] of rows) {
    if (row[SHAPE] && row[SHAPE] === lastNames) continue;
    const names = keysOf(row);
    // Rows of a log mostly share their keys: skip the set for a row with the same keys as the row before.
    if (lastNames && names.length === lastNames.length && names.every((k, j) => k === lastNames[j])) continue;
    for (const k of names) keys.add(k);
    lastNames = names;
  }
  if (!rows.length) {
    throw new LogError(`text: ${name} has no metric rows that could be read as ${fmt}${notes.size ? ` (${notes.render()[0]})` : ""}`);
  }
  if (trainer === null) trainer = detectTrainer(tables, keys, notes);
  if (trainer === "openrlhf" && [...keys].some((k) => k.startsWith("train/"))) {
    const renamed = new Map();
    rows = rows.map(([line, row]) => {
      const out = {};
      for (const [k, v] of Object.entries(row)) out[normal(trainer, k)] = v;
      if (row[SHAPE]) {
        if (!renamed.has(row[SHAPE])) renamed.set(row[SHAPE], row[SHAPE].map((k) => normal(trainer, k)));
        out[SHAPE] = renamed.get(row[SHAPE]);
      }
      return [line, out];
    });
    keys = new Set([...keys].map((k) => normal(trainer, k)));
  }
  const kept = [];
  const stepShapes = new Map();
  const isStepRow = (row) => {
    const shape = row[SHAPE];
    if (shape) {
      if (!stepShapes.has(shape)) stepShapes.set(shape, shape.some((k) => !tables.bookkeeping.has(k) && !tables.summary.has(k) && !isEval(tables, k)));
      return stepShapes.get(shape);
    }
    for (const k in row) if (!tables.bookkeeping.has(k) && !tables.summary.has(k) && !isEval(tables, k)) return true;
    return false;
  };
  for (const [line, row] of rows) {
    if (isStepRow(row)) { kept.push([line, row]); continue; }
    const names = keysOf(row);
    if (names.some((k) => tables.summary.has(k))) {
      notes.add("summary", "", line, `the run's summary (${names.filter((k) => tables.summary.has(k)).join(", ")}) is not a training step; left out`);
    } else notes.add("eval", "", line, "an evaluation row (eval_ keys only) is not a training step; left out");
  }
  const sortedKeys = [...keys].sort();
  for (const key of sortedKeys) {
    if (isEval(tables, key) || tables.bookkeeping.has(key) || tables.summary.has(key) || known(tables, trainer, key)) continue;
    const line = rows.find(([, row]) => (row[SHAPE] ? row[SHAPE].includes(key) : Object.prototype.hasOwnProperty.call(row, key)))[0];
    notes.add("unknown", key, line, `key ${pyRepr(key)} is not one ${tables.labels[trainer]} logs in the versions read; left out of the checks`);
  }
  if (!kept.length) throw new LogError(`text: ${name} has evaluation or summary rows only, no training step`);
  return assemble(kept, keys, trainer, fmt, notes, tables);
}

function assemble(rows, keys, trainer, fmt, notes, tables) {
  const table = tables.meanings[trainer];
  const textValues = fmt === "console" || fmt === "csv";
  const meanings = new Map([...table].filter(([k]) => keys.has(k)));
  const stepKey = tables.stepKeys.find((k) => keys.has(k));
  let steps;
  if (stepKey === undefined) {
    notes.add("no_step", "", rows[0][0], "rows carry no step number; they are numbered 1, 2, … in file order");
    steps = Float64Array.from(rows, (_, i) => i + 1);
  } else {
    steps = column(rows, stepKey, notes, textValues);
    for (let i = 1; i < steps.length; i += 1) {
      if (steps[i] - steps[i - 1] <= 0) {
        notes.add("steps_back", "", rows[i][0], `step ${pyG(steps[i])} does not follow step ${pyG(steps[i - 1])} (a resumed run?); rows are kept in file order`);
        break;
      }
    }
  }
  if (averagedFirstRow(steps) && [...meanings.values()].some((m) => m.quantity === "kl_ref")) {
    notes.add("first_row", "", rows[0][0], `the first row is step ${pyG(steps[0])}, not 1: it may average several steps (logging_steps > 1) or start mid-run, so the check that the KL starts at 0 is skipped`);
  }
  const first = new Map();
  for (const [key, m] of meanings) if (!first.has(m.quantity)) first.set(m.quantity, key);
  const col = new Map([...first.values()].map((key) => [key, column(rows, key, notes, textValues)]));
  const sources = {}, metrics = {};
  let klPer = "";
  if (first.has("kl_ref")) {
    const key = first.get("kl_ref");
    const twice = [...meanings].filter(([, m]) => m.quantity === "kl_ref" && m.applied !== meanings.get(key).applied).map(([k]) => k);
    if (twice.length) {
      notes.add("twice", key, 0, `the KL to the reference is logged both in the ${meanings.get(key).applied} (${pyRepr(key)}) and in the ${meanings.get(twice[0]).applied} (${pyRepr(twice[0])}): is it applied twice? The checks read ${pyRepr(key)}`);
    }
    let kl = col.get(key);
    klPer = meanings.get(key).per;
    if (klPer === "token") {
      metrics.kl_per_token = kl;
      sources.kl_per_token = key;
      if (first.has("length")) {
        // Mean per-token KL × mean length = mean per-sequence KL exactly when the mean is over all tokens (TRL).
        const length = col.get(first.get("length"));
        kl = kl.map((v, i) => v * length[i]);
        klPer = "sequence";
        sources.kl_mean = `${key} × ${first.get("length")}`;
        if (tables.sequenceAveraged.has(`${trainer}\u0000${key}`)) {
          notes.add("approx", key, 0, `${pyRepr(key)} averages per-sequence means, so ${sources.kl_mean} is the mean KL per sequence only when all responses have the same length (it is off by the covariance of length and per-token KL across the batch)`);
        }
      } else {
        const lengthKeys = [...table].filter(([, m]) => m.quantity === "length").map(([k]) => k).join(", ");
        notes.add("no_length", key, 0, `no mean-length key (${lengthKeys}): the KL stays in nats per token`);
      }
    }
    if (!("kl_mean" in sources)) sources.kl_mean = key;
    metrics.kl_mean = kl;
  } else {
    const referenceKeys = [...table].filter(([, m]) => m.quantity === "kl_ref").map(([k]) => k);
    let text = `no KL to the reference in this log (its keys would be ${pyList(referenceKeys)}); the KL checks are skipped`;
    if (first.has("kl_old")) {
      text += `. ${pyRepr(first.get("kl_old"))} is here, but it is the KL between the policy before and after an update (a trust region), not the KL to the reference, so it does not stand in for it`;
    }
    if (trainer === "trl") text += ". TRL logs 'kl' only when beta ≠ 0, and its default beta is 0.0";
    notes.add("no_kl", "", 0, text);
  }
  for (const [name, quantity] of [["kl_max", "kl_ref_max"], ["reward_mean", "reward"], ["entropy", "entropy"],
    ["trust_region_kl", "kl_old"], ["sampler_kl", "kl_sampler"], ["sampler_gap", "sampler_gap"], ["length", "length"],
    ["beta", "beta"], ["frac_reward_zero_std", "zero_std_frac"]]) {
    if (first.has(quantity)) { metrics[name] = col.get(first.get(quantity)); sources[name] = first.get(quantity); }
  }
  if (!("reward_mean" in metrics) && first.has("reward_shaped")) {
    const key = first.get("reward_shaped");
    metrics.reward_mean = col.get(key);
    sources.reward_mean = key;
    notes.add("shaped", key, 0, `the reward read (${pyRepr(key)}) has the KL penalty subtracted`);
  }
  if ("kl_max" in metrics && "kl_mean" in metrics) {
    const top = metrics.kl_max, mean = metrics.kl_mean;
    const below = top.findIndex((t, i) => t < mean[i] - 1e-9 * Math.max(1.0, Math.abs(mean[i])));
    if (below >= 0) {
      notes.add("max_below", sources.kl_max, rows[below][0], `${pyRepr(sources.kl_max)} is below ${pyRepr(sources.kl_mean)} on this row (a logging error, or swapped columns?); the spike check is skipped`);
      delete metrics.kl_max;
      delete sources.kl_max;
    }
  }
  return {
    trainer, fmt, steps, lines: Int32Array.from(rows, ([line]) => line), meanings: Object.fromEntries(meanings),
    sources, metrics, kl_per: klPer, notes: notes.render(),
  };
}

// ---------------------------------------------------------------------------- the checks (monitor.py)
function median(values) {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length, half = n >> 1;
  return n % 2 ? sorted[half] : (sorted[half - 1] + sorted[half]) / 2;
}

/** Means of every `w` consecutive values, from cumulative sums (monitor._running_mean). */
function runningMean(x, w) {
  const sums = new Float64Array(x.length + 1);
  for (let i = 0; i < x.length; i += 1) sums[i + 1] = sums[i] + x[i];
  const out = new Float64Array(x.length - w + 1);
  for (let i = 0; i < out.length; i += 1) out[i] = (sums[i + w] - sums[i]) / w;
  return out;
}

/** Medians of every `w` consecutive values: a sorted window kept by insertion, O(T·w). */
function slidingMedians(x, w) {
  const out = new Float64Array(Math.max(0, x.length - w + 1));
  const window = Array.from(x.slice(0, w)).sort((a, b) => a - b);
  const half = w >> 1;
  const at = () => (w % 2 ? window[half] : (window[half - 1] + window[half]) / 2);
  for (let i = 0; i < out.length; i += 1) {
    if (i > 0) {
      window.splice(window.indexOf(x[i - 1]), 1);
      const v = x[i + w - 1];
      let j = 0;
      while (j < window.length && window[j] < v) j += 1;
      window.splice(j, 0, v);
    }
    out[i] = at();
  }
  return out;
}

const warning = (check, step, message) => ({ check, step, message });
/** numpy's rint: to the nearest integer, halves to even. */
function roundHalfEven(x) {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export const CHECKS = {
  nonfinite(x, name) {
    let bad = 0, firstBad = -1;
    for (let i = 0; i < x.length; i += 1) if (!Number.isFinite(x[i])) { bad += 1; if (firstBad < 0) firstBad = i; }
    if (!bad) return null;
    return warning("nonfinite", firstBad, `${name} is ${special(x[firstBad])} at step ${firstBad} (${bad} of ${x.length} steps are not finite); the other checks skip this series.`);
  },
  kl_unbounded(kl, { window = null, min_t: minT, min_relative_rise: minRise }) {
    const w = window === null ? Math.max(6, Math.floor(kl.length / 4)) : window;
    if (kl.length < 2 * w) return null;
    const k = Math.floor(w / 3);
    const late = kl.slice(kl.length - w);
    const first = median(late.slice(0, k)), last = median(late.slice(w - k));
    const steps = late.slice(1).map((v, i) => v - late[i]);
    const mid = median(steps);
    const sigma = (1.4826 * median(steps.map((s) => Math.abs(s - mid)))) / Math.sqrt(2);
    const stderr = 1.2533 * sigma * Math.sqrt(2 / k);
    const rise = last - first;
    const earlier = kl.slice(0, kl.length - k);
    let highestBefore = -Infinity;
    for (let s = earlier.length % k; s < earlier.length; s += k) highestBefore = Math.max(highestBefore, median(earlier.slice(s, s + k)));
    if (rise <= minT * stderr || last <= highestBefore || rise < minRise * Math.abs(last)) return null;
    return warning("kl_unbounded", kl.length - 1, `Mean KL is still climbing at the end of the run: up ${pyG(rise, 3)} nats over the last ${w} steps (medians of their first and last ${k} steps) to ${pyG(last, 3)} nats, its highest level so far.`);
  },
  kl_negative(kl, { patience }) {
    let run = 0;
    for (let step = 0; step < kl.length; step += 1) {
      run = kl[step] < 0 ? run + 1 : 0;
      if (run === patience) {
        const start = step - patience + 1;
        const lowest = Math.min(...kl.slice(start, step + 1));
        return warning("kl_negative", step, `Mean KL has stayed below 0 for ${patience} steps in a row (steps ${start}-${step}, lowest ${pyG(lowest, 3)} nats). A true KL is never negative: check that the samples come from the policy being scored.`);
      }
    }
    return null;
  },
  kl_spikes(top, mean, { ratio, window: w }) {
    if (top.length <= w) return null;
    const medians = slidingMedians(top.slice(0, top.length - 1), w);  // medians[i] covers i..i+w-1
    for (let i = 0; i < medians.length; i += 1) {
      if (medians[i] > 0 && top[i + w] > ratio * medians[i]) {
        const step = i + w;
        return warning("kl_spikes", step, `Max KL spiked at step ${step}: ${pyG(top[step], 3)} nats, ${pyF(top[step] / medians[i], 1)}x its median of ${pyG(medians[i], 3)} nats over the previous ${w} steps (mean KL that step: ${pyG(mean[step], 3)} nats). A few samples may have found an exploit.`);
      }
    }
    return null;
  },
  reward_up_entropy_down(r, h, { window = null, drop }) {
    const w = window === null ? Math.max(1, Math.floor(r.length / 5)) : window;
    if (r.length < 2 * w) return null;
    const rLate = runningMean(r, w), hLate = runningMean(h, w);
    const r0 = rLate[0], h0 = hLate[0];
    if (h0 <= 0) return null;
    for (let i = 0; i < rLate.length; i += 1) {
      if (hLate[i] < (1 - drop) * h0 && rLate[i] > r0) {
        const step = i + w - 1;
        return warning("reward_up_entropy_down", step, `By step ${step} reward rose from ${pyG(r0, 3)} to ${pyG(rLate[i], 3)} while entropy fell ${pyPct(1 - hLate[i] / h0, 0)} (from ${pyG(h0, 3)} to ${pyG(hLate[i], 3)} nats, ${w}-step means): the policy may be collapsing onto a few responses the reward model likes.`);
      }
    }
    return null;
  },
  kl_starts_high(kl, { ratio, floor }) {
    if (kl.length < 2) return null;
    const first = kl[0], mid = median(kl);
    if (first <= floor || first < ratio * mid) return null;
    return warning("kl_starts_high", 0, `The KL is ${pyG(first, 3)} nats at the first step, ${pyG(first / mid, 2)}x the run's median of ${pyG(mid, 3)}; it should be 0 there, since the policy starts as a copy of its reference. Is the reference the model the policy started from?`);
  },
  kl_resets(kl, { drop, level, min_resets: n }) {
    if (kl.length < 4) return null;
    const mid = median(kl);
    const before = slidingMedians(kl.slice(0, kl.length - 1), 3);  // before[i]: steps i..i+2
    const drops = [];
    let lastHit = -2;
    for (let i = 0; i < before.length; i += 1) {
      const after = kl[i + 3];
      const hit = before[i] > 0 && before[i] >= level * mid && after >= 0 && after <= drop * before[i];
      // A run of adjacent drops is one fall: keep its first step.
      if (hit && !(drops.length && i + 3 - lastHit === 1)) drops.push(i + 3);
      if (hit) lastHit = i + 3;
    }
    if (drops.length < n) return null;
    const gaps = drops.slice(1).map((d, k) => d - drops[k]);
    const period = median(gaps);
    const slots = gaps.map((g) => roundHalfEven(g / period));  // schedule slots each gap spans (more than 1: a missed reset)
    const onSchedule = slots.every((s) => s >= 1) && gaps.every((g, k) => Math.abs(g - slots[k] * period) <= Math.max(1.0, 0.1 * period));
    const filled = drops.length >= 0.75 * (slots.reduce((a, b) => a + b, 0) + 1);
    if (period < 3 || !(onSchedule && filled)) return null;
    const shown = drops.slice(0, 8).join(", ") + (drops.length > 8 ? ", …" : "");
    return warning("kl_resets", drops[n - 1], `The KL fell to ${pyPct(drop, 0)} or less of its level (the median of the 3 steps before) at logged steps ${shown} (counting from 0), on a schedule of every ${pyG(period)} steps: the reference is being moved towards the policy on a schedule (sync_ref_model, reference resets). The logged KL then counts only the drift since the last move, not the drift from the original model.`);
  },
  no_learning_signal(frac, { level, window = null }) {
    if (!frac.length) return null;
    const w = window === null ? Math.max(1, Math.floor(frac.length / 5)) : window;
    if (frac.length < w) return null;
    const means = runningMean(frac, w);
    for (let i = 0; i < means.length; i += 1) {
      if (means[i] >= level - 1e-12) {
        return warning("no_learning_signal", i + w - 1, `By step ${i + w - 1}, ${pyPct(means[i], 0)} of prompt groups (${w}-step mean) scored all alike: their advantages are 0, so the reward teaches nothing and only the KL term moves the policy. If they all fail, make the task reachable (easier prompts, a finer reward, more completions per prompt); if they all pass, the task is solved for this policy: move on to harder prompts.`);
      }
    }
    return null;
  },
};

/** monitor.health_report on a read log (run_logs.check_run), with the thresholds of the state; sorted by step. */
export function checkRun(run, thresholds) {
  const usable = {}, found = [];
  for (const key of ["kl_mean", "kl_max", "reward_mean", "entropy", "frac_reward_zero_std"]) {
    if (!(key in run.metrics)) continue;
    const bad = CHECKS.nonfinite(run.metrics[key], key);
    if (bad) found.push(bad); else usable[key] = run.metrics[key];
  }
  const t = thresholds;
  if (usable.kl_mean) {
    found.push(CHECKS.kl_unbounded(usable.kl_mean, t.kl_unbounded), CHECKS.kl_negative(usable.kl_mean, t.kl_negative),
      CHECKS.kl_starts_high(usable.kl_mean, t.kl_starts_high));
    found.push(CHECKS.kl_resets(usable.kl_mean, t.kl_resets));
    if (usable.kl_max) found.push(CHECKS.kl_spikes(usable.kl_max, usable.kl_mean, t.kl_spikes));
  }
  if (usable.reward_mean && usable.entropy) found.push(CHECKS.reward_up_entropy_down(usable.reward_mean, usable.entropy, t.reward_up_entropy_down));
  if (usable.frac_reward_zero_std) found.push(CHECKS.no_learning_signal(usable.frac_reward_zero_std, t.no_learning_signal));
  const sorted = found.filter(Boolean).map((w, i) => [w, i]).sort((a, b) => a[0].step - b[0].step || a[1] - b[1]).map(([w]) => w);
  // Only an unaveraged first step can have a KL of 0 (run_logs.check_run; see the "first_row" note).
  return sorted.filter((w) => !(w.check === "kl_starts_high" && averagedFirstRow(run.steps)));
}

/** A log read and checked: the parse, its flags, or { error }. */
export function readAndCheck(text, keyTable, thresholds, options = {}) {
  const run = parseLogText(text, keyTable, options);
  if (run.error) return run;
  return { ...run, flags: checkRun(run, thresholds) };
}

/** At most about `buckets` × 2 points of a series, keeping each bucket's lowest and highest (the chart's points). */
export function thinned(values, buckets = 800) {
  const n = values.length, size = Math.max(1, Math.ceil(n / buckets)), out = [];
  for (let s = 0; s < n; s += size) {
    let lo = -1, hi = -1;
    for (let i = s; i < Math.min(n, s + size); i += 1) {
      if (!Number.isFinite(values[i])) continue;
      if (lo < 0 || values[i] < values[lo]) lo = i;
      if (hi < 0 || values[i] > values[hi]) hi = i;
    }
    if (lo >= 0) out.push(...(lo === hi ? [lo] : [Math.min(lo, hi), Math.max(lo, hi)]));
  }
  return out;
}

// ---------------------------------------------------------------------------- the widget
export const KEYS = ["key_table", "thresholds", "cases", "case", "own_log", "limits", "step"];
const OWN = "own";
const PANELS = [
  { metric: "kl_mean", title: "KL to the reference", colour: OKABE_ITO.vermillion, dash: "none" },
  { metric: "entropy", title: "Entropy", colour: OKABE_ITO.blue, dash: "6 3", unit: "nats per token" },
  { metric: "reward_mean", title: "Reward", colour: OKABE_ITO.green, dash: "2 2", unit: "reward units" },
];
const READOUT = ["kl_mean", "kl_per_token", "kl_max", "entropy", "reward_mean", "length", "beta", "frac_reward_zero_std",
  "trust_region_kl", "sampler_kl", "sampler_gap"];
const QUANTITY = {
  kl_ref: "KL to the reference", kl_ref_max: "largest per-sequence KL to the reference",
  kl_old: "trust-region KL (policy before vs after an update), NOT the KL to the reference",
  kl_sampler: "KL between the sampler and the trainer's policy", sampler_gap: "sampler vs trainer log-prob gap (not a KL)",
  reward: "task reward", reward_shaped: "reward with the KL penalty in it", entropy: "entropy", length: "mean length",
  beta: "KL coefficient β", zero_std_frac: "share of groups with no reward spread",
};
export const number = (v) => (Number.isFinite(v) ? String(Number(v.toPrecision(5))) : String(v));

const CSS = `
.kl-log-reader textarea { width: 100%; box-sizing: border-box; font: 12px ui-monospace, monospace; min-height: 4.5em; }
.kl-log-reader .kl-input { display: flex; flex-direction: column; gap: 0.3em; margin-bottom: 0.4em; }
.kl-log-reader .kl-drop { border: 2px dashed #999; padding: 0.3em; border-radius: 4px; }
.kl-log-reader .kl-drop.kl-over { border-color: #0072B2; }
.kl-log-reader .kl-message { font-weight: 600; }
.kl-log-reader ul { margin: 0.2em 0; padding-left: 1.2em; }
.kl-log-reader td, .kl-log-reader th { text-align: left; vertical-align: top; font-size: 12.5px; }
`;

// A log the reader pasted or opened stays in the page (a 100 MB log is not sent to the kernel), kept per model
// so that a rebuild of the widget (the column crossing the narrow width) keeps it.
const OWN_LOGS = new WeakMap();

function draw({ model, el }, narrow) {
  const state = readModel(model, KEYS);
  if (OWN_LOGS.has(model)) state.own_log = OWN_LOGS.get(model);
  const cleanups = [];
  const root = mountWidget(el, "kl-log-reader");
  html(root, "style", {}, CSS);
  const controls = html(root, "div", { class: "kl-controls" });

  // ---- where the log comes from: a casebook trace, or the reader's own text
  const caseRow = html(controls, "div", { class: "kl-control" });
  const caseId = `kl-case-${Math.random().toString(36).slice(2, 8)}`;
  html(caseRow, "label", { for: caseId }, "Log");
  const select = html(caseRow, "select", { id: caseId, "data-key": "case" });
  for (const c of state.cases) html(select, "option", { value: c.name }, c.title);
  html(select, "option", { value: OWN }, "Your own log (paste or open below)");
  select.value = state.case;

  const input = html(root, "div", { class: "kl-input kl-drop" });
  const areaId = `kl-text-${Math.random().toString(36).slice(2, 8)}`;
  html(input, "label", { for: areaId }, "Paste a log, drop a file here, or choose one (it is read in this page; nothing is sent anywhere):");
  const area = html(input, "textarea", { id: areaId, rows: 3, spellcheck: "false" });
  const buttons = html(input, "div", { class: "kl-controls" });
  const file = html(buttons, "input", { type: "file", accept: ".json,.jsonl,.csv,.txt,.log", "aria-label": "Choose a log file" });
  const readButton = html(buttons, "button", { type: "button" }, "Read the pasted text");
  const message = html(root, "p", { class: "kl-message", role: "status" });

  // ---- the charts: three panels in one figure, the flags marked at their steps, a cursor at the step
  const W = narrow ? 360 : 720, panelH = narrow ? 120 : 110, gap = 34, top0 = 26;
  const H = top0 + PANELS.length * (panelH + gap) + 10;
  const left = narrow ? 58 : 66, right = W - 14;
  const { figure, desc } = makeFigure(root, W, H, "Lesson 10: a trainer's log, read and checked", "");
  const panels = PANELS.map((spec, p) => {
    const top = top0 + p * (panelH + gap), bottom = top + panelH;
    const title = svg(figure, "text", { x: narrow ? 6 : left, y: top - 8, class: "kl-title" });
    const yAxis = makeAxis(figure, { orient: "left", at: left, from: bottom, to: top, count: 7 });
    const xAxis = makeAxis(figure, { orient: "bottom", at: bottom, from: left, to: right, count: 7 });
    const line = svg(figure, "polyline", { fill: "none", stroke: spec.colour, "stroke-width": 1.6, "stroke-dasharray": spec.dash });
    const flags = svg(figure, "g", { "aria-hidden": "true" });
    const dot = svg(figure, "circle", { r: 3.5, fill: spec.colour, stroke: OKABE_ITO.black, "stroke-width": 0.6 });
    const none = svg(figure, "text", { x: (left + right) / 2, y: (top + bottom) / 2, "text-anchor": "middle" });
    return { spec, top, bottom, title, yAxis, xAxis, line, flags, dot, none, y: null };
  });
  svg(figure, "text", { x: (left + right) / 2, y: H - 4, "text-anchor": "middle" }).textContent = "trainer step (as logged)";
  const cursor = svg(figure, "line", { y1: top0, y2: H - 30, stroke: OKABE_ITO.black, "stroke-width": 1, "stroke-dasharray": "2 2" });

  // ---- the readout, the flags, the keys, the notes
  const readout = html(root, "div", { class: "kl-readout", "aria-live": "polite" });
  const heading = html(readout, "p");
  const valueTable = html(html(readout, "div", { class: "kl-scroll" }), "table");
  const cells = Object.fromEntries(READOUT.map((name) => {
    const row = html(valueTable, "tr");
    const th = html(row, "th", { scope: "row" });
    return [name, { row, th, td: html(row, "td", { "data-readout": name }) }];
  }));
  html(root, "h4", {}, "Flags (the monitor's checks)");
  const flagList = html(root, "ul", { class: "kl-flags" });
  html(root, "h4", {}, "What each key measures");
  const keyTable = html(html(root, "div", { class: "kl-scroll" }), "table");
  html(root, "h4", {}, "Notes");
  const noteList = html(root, "ul", { class: "kl-notes" });

  let run = null, x = null;
  const caseOf = () => state.cases.find((c) => c.name === state.case) || state.cases[0];
  const textOf = () => (state.case === OWN ? state.own_log.text : TRACES[caseOf().file]);
  const nameOf = () => (state.case === OWN ? state.own_log.name || "your log" : (state.cases.find((c) => c.name === state.case) || state.cases[0]).file);
  const rows = () => (run && !run.error ? run.steps.length : 1);
  const unitOf = (name) => (name === "kl_mean" ? `nats per ${run.kl_per}` : { kl_per_token: "nats per token", kl_max: "nats per sequence",
    trust_region_kl: "nats per token", sampler_kl: "nats per token", sampler_gap: "nats per token", entropy: "nats per token",
    length: "tokens" }[name] || "");

  let slider = null;
  function readText() {
    // Read once per log: a step move only looks values up.
    // A casebook trace is read with its trainer's keys, as casebook.read_case reads it; a reader's log is detected.
    const trainer = state.case === OWN ? null : caseOf().trainer;
    run = readAndCheck(textOf(), state.key_table, state.thresholds, { trainer, name: nameOf(), limits: state.limits });
    const n = rows();
    if (slider) {
      slider.max = String(n);
      if (state.step > n) { state.step = n; slider.value = String(n); syncToModel(model, "step", n); }
    }
    message.textContent = run.error ? `Cannot read this log: ${run.error}`
      : `Read ${nameOf()} as ${run.fmt} from ${state.key_table.trainers.find((t) => t.name === run.trainer).label}: ${n} logged steps, ${run.flags.length} flag${run.flags.length === 1 ? "" : "s"}.`;
    const steps = run.error ? [1] : Array.from(run.steps).map((s, i) => (Number.isFinite(s) ? s : i + 1));
    const lo = Math.min(...steps.slice(0, 1)), hi = Math.max(lo + 1, steps[steps.length - 1]);
    x = linear(lo, hi, left, right);
    for (const [p, panel] of panels.entries()) {
      const values = run.error ? null : run.metrics[panel.spec.metric];
      const unit = panel.spec.unit || (run.error ? "" : `nats per ${run.kl_per}`);
      // The key read is named in the readout table below; a phone's column has room for the unit only.
      const source = values && !narrow && run.sources[panel.spec.metric] ? `: ${run.sources[panel.spec.metric]}` : "";
      panel.title.textContent = `${panel.spec.title}${unit && values ? ` (${unit})` : ""}${source}`;
      panel.xAxis.update(values ? niceTicks(lo, hi, 5).filter((t) => t >= lo && t <= hi) : [], x, (t) => pyG(t));
      panel.flags.replaceChildren();
      if (!values) {
        setAttrs(panel.line, { points: "" });
        panel.yAxis.update([], (v) => v, String);
        panel.none.textContent = run.error ? "" : `not in this log`;
        panel.y = null;
        continue;
      }
      panel.none.textContent = "";
      const [vlo, vhi] = valueRange([values]);
      const pad = 0.06 * (vhi - vlo);
      panel.y = linear(vlo - pad, vhi + pad, panel.bottom, panel.top);
      panel.yAxis.update(niceTicks(vlo - pad, vhi + pad, 4).filter((t) => t >= vlo - pad && t <= vhi + pad), panel.y, (t) => String(Number(t.toPrecision(3))));
      setAttrs(panel.line, { points: thinned(values).map((i) => `${x(steps[i]).toFixed(1)},${panel.y(values[i]).toFixed(1)}`).join(" ") });
      for (const [f, flag] of run.flags.entries()) {
        const fx = x(steps[flag.step]);
        if (p === 0) svg(panel.flags, "text", { x: fx + 7, y: panel.top + 6, "font-size": 10 }).textContent = String(f + 1);
        svg(panel.flags, "line", { x1: fx, x2: fx, y1: panel.top, y2: panel.bottom, stroke: OKABE_ITO.orange, "stroke-width": 1.5 });
        svg(panel.flags, "path", { d: `M${fx - 5},${panel.top - 2} L${fx + 5},${panel.top - 2} L${fx},${panel.top + 6} Z`, fill: OKABE_ITO.orange, stroke: OKABE_ITO.black, "stroke-width": 0.5 });
      }
    }
    flagList.replaceChildren();
    if (run.error) html(flagList, "li", {}, "No log read.");
    else if (!run.flags.length) html(flagList, "li", {}, "No flag: every check that could run passed.");
    for (const [f, flag] of (run.error ? [] : run.flags).entries()) {
      const li = html(flagList, "li");
      html(li, "b", {}, `${f + 1}. ${flag.check}, trainer step ${pyG(run.steps[flag.step])} (line ${run.lines[flag.step]}): `);
      li.append(flag.message);
    }
    keyTable.replaceChildren();
    const head = html(keyTable, "tr");
    for (const h of ["Key", "What it measures", "Per", "Applied in", "Estimator", "Read from"]) html(head, "th", { scope: "col" }, h);
    for (const [key, m] of Object.entries(run.error ? {} : run.meanings)) {
      const row = html(keyTable, "tr");
      for (const v of [key, QUANTITY[m.quantity], m.per, m.applied, m.estimator, m.source]) html(row, "td", {}, v);
    }
    noteList.replaceChildren();
    for (const note of run.error ? [] : run.notes) html(noteList, "li", {}, note);
    if (!run.error && !run.notes.length) html(noteList, "li", {}, "None.");
    for (const name of READOUT) {
      const shown = !run.error && name in run.metrics;
      cells[name].row.style.display = shown ? "" : "none";
      if (shown) cells[name].th.textContent = `${name} (${run.sources[name]}${unitOf(name) ? `; ${unitOf(name)}` : ""})`;
    }
    redrawStep();
  }

  function redrawStep() {
    const n = rows(), i = Math.min(n, Math.max(1, Math.round(state.step))) - 1;
    if (run.error) {
      heading.textContent = "No log read.";
      setAttrs(cursor, { visibility: "hidden" });
      panels.forEach((p) => setAttrs(p.dot, { visibility: "hidden" }));
      desc.textContent = `No log read: ${run.error}`;
      return;
    }
    const s = Number.isFinite(run.steps[i]) ? run.steps[i] : i + 1;
    heading.textContent = `Logged step ${i + 1} of ${n}: trainer step ${pyG(s)} (line ${run.lines[i]})`;
    setAttrs(cursor, { visibility: "visible", x1: x(s), x2: x(s) });
    for (const panel of panels) {
      const v = panel.y ? run.metrics[panel.spec.metric][i] : NaN;
      setAttrs(panel.dot, Number.isFinite(v) ? { visibility: "visible", cx: x(s), cy: panel.y(v) } : { visibility: "hidden" });
    }
    for (const name of READOUT) if (name in run.metrics) cells[name].td.textContent = number(run.metrics[name][i]);
    const said = PANELS.filter((p) => p.metric in run.metrics).map((p) => `${p.title} ${number(run.metrics[p.metric][i])}`).join(", ");
    desc.textContent = `Three line charts against the trainer step: the KL to the reference (${run.kl_per ? `nats per ${run.kl_per}` : "not logged"}), the entropy and the reward. `
      + `${run.flags.length ? `Flags: ${run.flags.map((f) => `${f.check} at trainer step ${pyG(run.steps[f.step])}`).join("; ")}.` : "No flag."} `
      + `At trainer step ${pyG(s)}: ${said || "no value drawn"}.`;
  }

  slider = bindSlider(model, state, controls, "step", { label: "Logged step", min: 1, max: 2, step: 1, text: (v) => String(v) }, redrawStep, cleanups);
  const choose = (value) => {
    state.case = value;
    select.value = value;
    readText();
  };
  select.addEventListener("change", () => { choose(select.value); syncToModel(model, "case", state.case); });
  cleanups.push(listen(model, "case", () => { if (model.get("case") !== state.case) choose(model.get("case")); }));
  cleanups.push(listen(model, "own_log", () => {
    state.own_log = model.get("own_log");
    OWN_LOGS.delete(model);
    if (state.case === OWN) readText();
  }));
  // A long log is shown cut in the text box; reading the box unchanged reads the whole log again, not the cut.
  let shownText = null;
  const show = (text) => {
    area.value = text.length > 200000 ? `${text.slice(0, 200000)}\n… (${text.length.toLocaleString("en")} characters in all; shown cut, read whole)` : text;
    shownText = area.value;
  };
  const useOwn = (name, text) => {
    state.own_log = { name, text };
    OWN_LOGS.set(model, state.own_log);
    show(text);
    choose(OWN);
    syncToModel(model, "case", OWN);
  };
  readButton.addEventListener("click", () => {
    if (area.value === shownText && state.own_log.text) useOwn(state.own_log.name, state.own_log.text);
    else useOwn("pasted text", area.value);
  });
  const readFile = (f) => {
    if (!f) return;
    if (f.size > state.limits.max_chars * 4) {
      message.textContent = `Cannot read this log: ${f.name} is ${f.size.toLocaleString("en")} bytes, over the page's limit: read it with python -m kl_lessons.run_logs`;
      return;
    }
    const reader = new FileReader();
    reader.onload = () => useOwn(f.name, String(reader.result));
    reader.onerror = () => { message.textContent = `Cannot read this log: ${f.name} could not be opened`; };
    reader.readAsText(f);
  };
  file.addEventListener("change", () => readFile(file.files && file.files[0]));
  input.addEventListener("dragover", (e) => { e.preventDefault(); input.classList.add("kl-over"); });
  input.addEventListener("dragleave", () => input.classList.remove("kl-over"));
  input.addEventListener("drop", (e) => {
    e.preventDefault();
    input.classList.remove("kl-over");
    readFile(e.dataTransfer && e.dataTransfer.files && e.dataTransfer.files[0]);
  });
  if (state.case === OWN) show(state.own_log.text);
  readText();
  slider.max = String(rows());
  slider.value = String(Math.min(rows(), state.step));
  return () => cleanups.forEach((stop) => stop());
}

const render = responsive(draw);
export default { render };
