// A parser for nats-server's configuration syntax (the file `--embedded-nats-config` names):
// `key: value`, `key = value` or `key value`; `#` and `//` comments; "double" and 'single'
// quoted strings; `{ }` blocks; `[ ]` arrays; bare numbers with size units; booleans.
import { err, ok, type Result } from "../../core/errors.js";

/** A value from a NATS config file. */
export type ConfValue = string | number | boolean | ConfValue[] | ConfMap;
/** A block of a NATS config file: keys in file order, lower-cased as nats-server reads them. */
export type ConfMap = Map<string, ConfEntry>;
/** One key's value and the line it came from (for error messages). */
export interface ConfEntry {
  readonly value: ConfValue;
  readonly line: number;
  /** True when the value was written bare (not quoted): only bare values get number parsing. */
  readonly bare: boolean;
  /** The token as written, for bare values (`1m` is a size here, a duration to the broker's config). */
  readonly raw?: string;
}

/** Options of parseConf. */
export interface ParseConfOptions {
  /** Refuse a key given twice in one block (nats-server keeps the last; the broker's config refuses). */
  readonly rejectDuplicates?: boolean;
}

class ConfSyntaxError extends Error {}

// nats-server's size suffixes: k, m, g are powers of 1000; kb/ki/kib and so on powers of 1024.
const UNITS: Record<string, number> = {
  k: 1e3, kb: 1024, ki: 1024, kib: 1024,
  m: 1e6, mb: 1024 ** 2, mi: 1024 ** 2, mib: 1024 ** 2,
  g: 1e9, gb: 1024 ** 3, gi: 1024 ** 3, gib: 1024 ** 3,
};
const BOOLEANS: Record<string, boolean> = { true: true, yes: true, on: true, false: false, no: false, off: false };

/** Interprets a bare token as nats-server does: an integer with an optional size unit, a boolean, or a string. */
export function bareValue(token: string): string | number | boolean {
  const m = /^(-?\d+)([a-zA-Z]*)$/.exec(token);
  if (m !== null) {
    const unit = (m[2] ?? "").toLowerCase();
    const scale = unit === "" ? 1 : UNITS[unit];
    if (scale !== undefined) return Number(m[1]) * scale;
  }
  if (/^-?\d+\.\d+$/.test(token)) return Number(token);
  const bool = BOOLEANS[token.toLowerCase()];
  return bool ?? token;
}

class Reader {
  private pos = 0;
  line = 1;
  constructor(private readonly text: string, readonly rejectDuplicates = false) {}

  fail(message: string): never {
    throw new ConfSyntaxError(`line ${this.line}: ${message}`);
  }

  peek(): string {
    return this.text[this.pos] ?? "";
  }

  next(): string {
    const c = this.text[this.pos++] ?? "";
    if (c === "\n") this.line++;
    return c;
  }

  atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  /** Skips blanks, and also newlines and comments when `lines` is set. */
  skip(lines: boolean): void {
    for (;;) {
      const c = this.peek();
      if (c === " " || c === "\t" || c === "\r" || (lines && (c === "\n" || c === "," || c === ";"))) this.next();
      else if (c === "#" || (c === "/" && this.text[this.pos + 1] === "/")) this.skipComment();
      else return;
    }
  }

  private skipComment(): void {
    while (!this.atEnd() && this.peek() !== "\n") this.next();
  }

  /** A run of characters up to whitespace or a delimiter. */
  word(stopAt: string): string {
    let s = "";
    while (!this.atEnd()) {
      const c = this.peek();
      if (/\s/.test(c) || stopAt.includes(c) || c === "#" || (c === "/" && this.text[this.pos + 1] === "/")) break;
      s += this.next();
    }
    return s;
  }

  quoted(): string {
    const quote = this.next();
    let s = "";
    for (;;) {
      if (this.atEnd() || this.peek() === "\n") this.fail(`unterminated ${quote}string`);
      const c = this.next();
      if (c === quote) return s;
      if (c === "\\" && quote === '"') s += this.escape();
      else s += c;
    }
  }

  private escape(): string {
    const c = this.next();
    const simple: Record<string, string> = { n: "\n", t: "\t", r: "\r", '"': '"', "\\": "\\" };
    const mapped = simple[c];
    if (mapped !== undefined) return mapped;
    return this.fail(`unsupported escape \\${c}`);
  }
}

function parseValue(r: Reader, stopAt: string): { value: ConfValue; bare: boolean; raw?: string } {
  const c = r.peek();
  if (c === "{") {
    const openedOn = r.line;
    r.next();
    const map = parseEntries(r, "}", openedOn);
    return { value: map, bare: false };
  }
  if (c === "[") {
    r.next();
    const items: ConfValue[] = [];
    for (;;) {
      r.skip(true);
      if (r.peek() === "]") break;
      if (r.atEnd()) r.fail("unterminated array");
      items.push(parseValue(r, ",]").value);
    }
    r.next();
    return { value: items, bare: false };
  }
  if (c === '"' || c === "'") return { value: r.quoted(), bare: false };
  const token = r.word(stopAt);
  if (token.length === 0) r.fail("missing value");
  if (token.startsWith("$")) r.fail(`variables such as ${token} are not supported`);
  return { value: bareValue(token), bare: true, raw: token };
}

function parseEntries(r: Reader, close: string, openedOn = 0): ConfMap {
  const map: ConfMap = new Map();
  for (;;) {
    r.skip(true);
    if (r.atEnd()) {
      if (close !== "") r.fail(`missing '${close}' (the block opened on line ${openedOn} is not closed)`);
      return map;
    }
    if (close !== "" && r.peek() === close) {
      r.next();
      return map;
    }
    const key = r.peek() === '"' || r.peek() === "'" ? r.quoted() : r.word(":=" + close);
    if (key.length === 0) r.fail(`unexpected '${r.peek()}'`);
    if (key.toLowerCase() === "include") r.fail("include directives are not supported");
    r.skip(false);
    if (r.peek() === ":" || r.peek() === "=") r.next();
    r.skip(false);
    const line = r.line;
    const { value, bare, raw } = parseValue(r, ",;" + close);
    r.skip(false);
    const after = r.peek();
    if (!(after === "" || after === "\n" || after === "," || after === ";" || after === close)) {
      r.fail(`unexpected '${after}' after the value of ${key}`);
    }
    const previous = map.get(key.toLowerCase());
    if (r.rejectDuplicates && previous !== undefined) r.fail(`${key} is given twice (first on line ${previous.line})`);
    map.set(key.toLowerCase(), raw === undefined ? { value, line, bare } : { value, line, bare, raw });
  }
}

/** Parses the text of a NATS server config file into its top-level block. */
export function parseConf(text: string, options: ParseConfOptions = {}): Result<ConfMap> {
  try {
    return ok(parseEntries(new Reader(text, options.rejectDuplicates), ""));
  } catch (e) {
    if (e instanceof ConfSyntaxError) return err("InvalidArgument", e.message);
    throw e;
  }
}
