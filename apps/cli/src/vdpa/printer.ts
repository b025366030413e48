import { JsonWriter } from './json-writer.js';

/** Spaces per array nesting level in text mode (iproute2 `INDENT_STR_STEP`). */
const INDENT_STEP = 2;

/**
 * The `vdpa` output engine (iproute2 `json_print.c` + the `pr_out_*` helpers of `vdpa/vdpa.c`): one
 * call site per field prints either the text format or the JSON key and value, so both modes stay
 * in step. Text mode copies the format strings' spacing exactly (handles end in `": "`, arrays start
 * on a new indented line, elements carry a leading space). JSON mode writes through a
 * {@link JsonWriter} with no enclosing array; {@link VdpaPrinter.finish} appends the single newline
 * `jsonw_destroy` writes, so JSON mode always ends stdout with `\n`, even when nothing else was
 * printed.
 *
 * @example
 * const p = new VdpaPrinter({ json: true, pretty: false });
 * p.openSection('dev');
 * p.handleStart('vdpa0'); p.string('type', 'type %s', 'network'); p.handleEnd();
 * p.closeSection();
 * p.finish(); // '{"dev":{"vdpa0":{"type":"network"}}}\n'
 */
export class VdpaPrinter {
  /** True in JSON mode (`-j`). */
  readonly json: boolean;
  private readonly writer: JsonWriter | undefined;
  private text = '';
  private indent = 0;
  private sections = 0;

  /** @param options `json` (`-j`) and `pretty` (`-p`, only meaningful with `json`) */
  constructor(options: { readonly json: boolean; readonly pretty: boolean }) {
    this.json = options.json;
    this.writer = options.json ? new JsonWriter(options.pretty) : undefined;
  }

  /** Opens the unnamed root object and the named section object (`mgmtdev`, `dev`, `config`, …). */
  openSection(name: string): void {
    if (this.writer === undefined) return;
    this.writer.startObject();
    this.writer.name(name);
    this.writer.startObject();
    this.sections++;
  }

  /** Closes what {@link VdpaPrinter.openSection} opened (safe to call when none is open). */
  closeSection(): void {
    if (this.writer === undefined || this.sections === 0) return;
    this.writer.endObject();
    this.writer.endObject();
    this.sections--;
  }

  /** Starts a record: `"<name>: "` in text, an object named `name` in JSON. */
  handleStart(name: string): void {
    if (this.writer === undefined) this.text += `${name}: `;
    else {
      this.writer.name(name);
      this.writer.startObject();
    }
  }

  /** Ends a record: a newline in text, the object's end in JSON. */
  handleEnd(): void {
    if (this.writer === undefined) this.text += '\n';
    else this.writer.endObject();
  }

  /** `print_nl()`: a newline in text mode only. */
  nl(): void {
    if (this.writer === undefined) this.text += '\n';
  }

  /**
   * A string field: `format` with `%s` replaced by `value` in text; `"key": "value"` in JSON.
   * @param key JSON key (used verbatim, spaces included)
   * @param format text format, e.g. `'mac %s '`
   */
  string(key: string, format: string, value: string): void {
    if (this.writer === undefined) this.text += fill(format, value);
    else {
      this.writer.name(key);
      this.writer.string(value);
    }
  }

  /** A number field: `format` with `%d`/`%u` replaced in text; a bare number in JSON. */
  number(key: string, format: string, value: number | bigint): void {
    if (this.writer === undefined) this.text += fill(format, String(value));
    else {
      this.writer.name(key);
      this.writer.number(value);
    }
  }

  /** A boolean field: `format` with `%s` replaced by `true`/`false` in text; a bare bool in JSON. */
  bool(key: string, format: string, value: boolean): void {
    if (this.writer === undefined) this.text += fill(format, value ? 'true' : 'false');
    else {
      this.writer.name(key);
      this.writer.bool(value);
    }
  }

  /** `pr_out_array_start`: in text a newline, one more indent level and the name; in JSON `"name": [`. */
  arrayStart(name: string): void {
    if (this.writer === undefined) {
      this.indent++;
      this.text += `\n${' '.repeat(this.indent * INDENT_STEP)}${name}`;
    } else {
      this.writer.name(name);
      this.writer.startArray();
    }
  }

  /** `pr_out_array_end`. */
  arrayEnd(): void {
    if (this.writer === undefined) this.indent--;
    else this.writer.endArray();
  }

  /** An array element printed as a string: `" <text>"` in text, `"value"` in JSON. */
  arrayString(value: string): void {
    if (this.writer === undefined) this.text += ` ${value}`;
    else this.writer.string(value);
  }

  /** An array element that is text in text mode and a bare number in JSON (unnamed feature bits). */
  arrayNumber(text: string, value: number): void {
    if (this.writer === undefined) this.text += ` ${text}`;
    else this.writer.number(value);
  }

  /**
   * Everything to write to stdout: the text, or the JSON (open sections closed) plus `\n`.
   */
  finish(): string {
    if (this.writer === undefined) return this.text;
    while (this.sections > 0) this.closeSection();
    return `${this.writer.toString()}\n`;
  }
}

/**
 * Replaces the last `%s`/`%d`/`%u` of `format` with `value` (the last, because a vendor counter name
 * in front of it may itself contain `%`); `value` is inserted literally.
 */
function fill(format: string, value: string): string {
  const at = format.lastIndexOf('%');
  return at < 0 ? format : `${format.slice(0, at)}${value}${format.slice(at + 2)}`;
}
