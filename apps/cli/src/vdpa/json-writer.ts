/**
 * A JSON writer with iproute2's exact spacing rules (`lib/json_writer.c`): plain mode is one line
 * with no spaces; pretty mode indents by 4 spaces, writes `"key": value`, keeps arrays on one line as
 * `[ "a","b" ]` (`[ ]` when empty) and empty objects as `{}`. Output accumulates in memory; the
 * caller adds the final newline the way `jsonw_destroy` does.
 *
 * @example
 * const w = new JsonWriter(true);
 * w.startObject(); w.name('dev'); w.startObject(); w.endObject(); w.endObject();
 * w.toString(); // '{\n    "dev": {}\n}'
 */
export class JsonWriter {
  private out = '';
  private depth = 0;
  private sep = false;

  /** @param pretty iproute2's `-p` */
  constructor(readonly pretty: boolean) {}

  /** Writes a key (`jsonw_name`): pending comma, newline and indent when pretty, `"key":`. */
  name(key: string): void {
    this.eor();
    if (this.pretty) this.out += `\n${INDENT.repeat(this.depth)}`;
    this.out += `${quote(key)}:`;
    if (this.pretty) this.out += ' ';
  }

  /** Opens an object (`jsonw_start_object`). */
  startObject(): void {
    this.eor();
    this.out += '{';
    this.depth++;
    this.sep = false;
  }

  /** Closes an object; a non-empty one closes on its own line when pretty. */
  endObject(): void {
    this.depth--;
    if (this.sep && this.pretty) this.out += `\n${INDENT.repeat(this.depth)}`;
    this.out += '}';
    this.sep = true;
  }

  /** Opens an array (`jsonw_start_array`): `[`, plus a space when pretty. */
  startArray(): void {
    this.eor();
    this.out += '[';
    this.depth++;
    this.sep = false;
    if (this.pretty) this.out += ' ';
  }

  /** Closes an array: a space before `]` when pretty and non-empty; never a newline. */
  endArray(): void {
    if (this.pretty && this.sep) this.out += ' ';
    this.sep = false;
    this.depth--;
    this.out += ']';
    this.sep = true;
  }

  /** Writes a string value, escaped like iproute2 (no `\u` escapes). */
  string(value: string): void {
    this.raw(quote(value));
  }

  /** Writes an unsigned or signed integer value (a bigint keeps all 64 bits). */
  number(value: number | bigint): void {
    this.raw(String(value));
  }

  /** Writes `true` or `false`. */
  bool(value: boolean): void {
    this.raw(value ? 'true' : 'false');
  }

  /** Everything written so far. */
  toString(): string {
    return this.out;
  }

  private raw(text: string): void {
    this.eor();
    this.out += text;
    this.sep = true;
  }

  private eor(): void {
    if (this.sep) this.out += ',';
    this.sep = false;
  }
}

const INDENT = '    ';

const ESCAPES: Readonly<Record<string, string>> = {
  '"': '\\"',
  '\\': '\\\\',
  '\t': '\\t',
  '\n': '\\n',
  '\r': '\\r',
  '\f': '\\f',
  '\b': '\\b',
};

/** Quotes `s` with `jsonw_puts` escaping: `"` `\` tab newline CR FF BS; `'` and `/` stay as they are. */
function quote(s: string): string {
  let out = '"';
  for (const ch of s) out += ESCAPES[ch] ?? ch;
  return `${out}"`;
}
