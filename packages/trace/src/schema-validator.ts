import { z } from 'zod';

/** A compiled validator: true when the schema it was compiled from accepts the value. */
export type SchemaValidator = (value: unknown) => boolean;

type Schema = z.core.$ZodType;
type Check = z.core.$ZodCheck<unknown>;

/** Thrown by {@link compileValidator} for a schema construct it does not model. */
export class UnsupportedSchemaError extends Error {
  override readonly name = 'UnsupportedSchemaError';
}

function unsupported(what: string): never {
  throw new UnsupportedSchemaError(`compileValidator does not model ${what}`);
}

/** `util.isPlainObject` of zod, which a record requires of its input. */
function isPlainObject(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const ctor: unknown = (value as { constructor?: unknown }).constructor;
  if (ctor === undefined || typeof ctor !== 'function') return true;
  const proto: unknown = (ctor as { prototype?: unknown }).prototype;
  return (
    typeof proto === 'object' &&
    proto !== null &&
    !Array.isArray(proto) &&
    Object.prototype.hasOwnProperty.call(proto, 'isPrototypeOf')
  );
}

/** True when `record` has an own enumerable symbol key (zod's record checks those keys too). */
function hasSymbolKeys(record: object): boolean {
  const symbols = Object.getOwnPropertySymbols(record);
  for (let i = 0; i < symbols.length; i++)
    if (Object.prototype.propertyIsEnumerable.call(record, symbols[i])) return true;
  return false;
}

/** An element that may be absent: `.optional()` of a schema without a default. */
function isOptional(schema: Schema): boolean {
  const { optin, optout } = schema._zod;
  if (optin === undefined && optout === undefined) return false;
  if (optin === 'optional' && optout === 'optional') return true;
  return unsupported(`a default or a one-sided optional (optin ${String(optin)}, optout ${String(optout)})`);
}

/** The checks zod runs after a schema's own parse: the schema itself when it is a check (`z.int()`), then `def.checks`. */
function checksOf(schema: Schema): Check[] {
  const own = schema._zod.def.checks ?? [];
  return (schema._zod.traits.has('$ZodCheck') ? [schema as unknown as Check, ...own] : [...own]) as Check[];
}

/**
 * A check as a predicate: zod's own check function run on one payload reused from call to call, so
 * that a passing check allocates nothing.
 */
function checkPredicate(check: Check): SchemaValidator {
  const run = check._zod.check;
  const when = check._zod.def.when;
  const payload: z.core.ParsePayload<unknown> = { value: undefined, issues: [] };
  const issues = payload.issues;
  return (value) => {
    payload.value = value;
    if (when === undefined || when(payload)) {
      if (run(payload) instanceof Promise) unsupported('an async check');
    }
    payload.value = undefined;
    if (issues.length === 0) return true;
    issues.length = 0;
    payload.aborted = undefined;
    return false;
  };
}

/** Above this many values, a literal or enum is tested with its set rather than `===` comparisons. */
const MAX_INLINE_VALUES = 8;

/** A number as source text, when it has one that reads back as the same number. */
function numberSource(n: unknown): string | undefined {
  return typeof n === 'number' && Number.isFinite(n) && !Object.is(n, -0) ? String(n) : undefined;
}

/**
 * Builds the body of a validator function: statements that `return false` for an invalid value.
 * Values the code needs (regular expressions, sets, check predicates) are constants `C[i]`.
 */
class ValidatorSource {
  readonly constants: unknown[] = [];
  private readonly lines: string[] = [];
  private names = 0;

  /** A fresh local variable name. */
  local(): string {
    return `v${this.names++}`;
  }

  /** The expression of constant `value`. */
  constant(value: unknown): string {
    this.constants.push(value);
    return `C[${this.constants.length - 1}]`;
  }

  /** Appends a statement. */
  line(code: string): void {
    this.lines.push(code);
  }

  /** The statements `emit` appends, taken out of the body (to be appended, wrapped, or dropped). */
  capture(emit: () => void): string[] {
    const start = this.lines.length;
    emit();
    return this.lines.splice(start);
  }

  /** The function body. */
  body(): string {
    return `${this.lines.join('\n')}\nreturn true;`;
  }

  /** Appends `if (!(condition)) return false;`. */
  require(condition: string): void {
    this.line(`if (!(${condition})) return false;`);
  }

  /**
   * The test that `at` is one of `values` (SameValueZero, as `Set.has`): `===` comparisons for
   * strings, booleans, null and numbers that have a source text, else the set itself.
   */
  oneOf(values: ReadonlySet<unknown>, at: string): string {
    if (values.size > MAX_INLINE_VALUES) return `${this.constant(values)}.has(${at})`;
    const literals: string[] = [];
    for (const v of values) {
      const text =
        typeof v === 'string' || typeof v === 'boolean' || v === null ? JSON.stringify(v) : numberSource(v);
      if (text === undefined) return `${this.constant(values)}.has(${at})`;
      literals.push(`${at} === ${text}`);
    }
    return literals.join(' || ') || 'false';
  }

  /** Appends the checks of `schema` on `at` (after its parse), inlining zod's simple checks. */
  checks(schema: Schema, at: string): void {
    for (const check of checksOf(schema)) {
      const def = check._zod.def as z.core.$ZodCheckDef & Record<string, unknown>;
      if (def.when === undefined && this.inlineCheck(def, at)) continue;
      this.require(`${this.constant(checkPredicate(check))}(${at})`);
    }
  }

  /** Inlines what zod's check of `def` tests, for the checks whose test reads nothing but `def`. */
  private inlineCheck(def: z.core.$ZodCheckDef & Record<string, unknown>, at: string): boolean {
    switch (def.check) {
      case 'number_format': {
        const format = def.format as z.core.$ZodNumberFormats;
        const [min, max] = z.core.util.NUMBER_FORMAT_RANGES[format];
        const lo = numberSource(min);
        const hi = numberSource(max);
        if (lo === undefined || hi === undefined) return false;
        const int = format.includes('int') ? `Number.isSafeInteger(${at}) && ` : '';
        this.require(`${int}${at} >= ${lo} && ${at} <= ${hi}`);
        return true;
      }
      case 'greater_than':
      case 'less_than': {
        const bound = numberSource(def.value);
        if (bound === undefined) return false;
        const op = def.check === 'greater_than' ? '>' : '<';
        this.require(`${at} ${op}${def.inclusive === true ? '=' : ''} ${bound}`);
        return true;
      }
      case 'string_format': {
        if (def.format !== 'regex' || !(def.pattern instanceof RegExp)) return false;
        const pattern = this.constant(def.pattern);
        this.line(`${pattern}.lastIndex = 0;`);
        this.require(`${pattern}.test(${at})`);
        return true;
      }
      default:
        return false;
    }
  }

  /** Appends the statements validating `at` against `schema`: its parse, then its checks. */
  schema(schema: Schema, at: string): void {
    this.parse(schema, at);
    this.checks(schema, at);
  }

  /** Appends the statements of `schema`'s own parse (before its checks). */
  private parse(schema: Schema, at: string): void {
    const def = (schema as z.core.$ZodTypes)._zod.def;
    switch (def.type) {
      case 'string':
      case 'number':
      case 'boolean': {
        if (def.coerce) unsupported('coercion');
        const finite = def.type === 'number' ? ` && Number.isFinite(${at})` : '';
        this.require(`typeof ${at} === "${def.type}"${finite}`);
        return;
      }
      case 'null':
        this.require(`${at} === null`);
        return;
      case 'unknown':
      case 'any':
        return;
      case 'never':
        this.line('return false;');
        return;
      case 'literal':
      case 'enum': {
        const values = schema._zod.values;
        if (values === undefined) unsupported(`a ${def.type} without values`);
        this.require(this.oneOf(values, at));
        return;
      }
      case 'optional':
        isOptional(schema);
        this.line(`if (${at} !== undefined) {`);
        this.schema(def.innerType, at);
        this.line('}');
        return;
      case 'nullable':
        this.line(`if (${at} !== null) {`);
        this.schema(def.innerType, at);
        this.line('}');
        return;
      case 'array':
        this.array(def, at);
        return;
      case 'tuple':
        this.tuple(def, at);
        return;
      case 'object':
        this.object(def, at);
        return;
      case 'record':
        this.record(def, at);
        return;
      case 'union':
        this.union(schema, def, at);
        return;
      case 'pipe': {
        // The second stage sees the first stage's output: the value itself only when the first
        // stage is `unknown`/`any` (with checks).
        const first = def.in._zod.def.type;
        if (first !== 'unknown' && first !== 'any') unsupported(`a pipe from ${first}`);
        this.schema(def.in, at);
        this.schema(def.out, at);
        return;
      }
      default:
        unsupported(`a ${def.type} schema`);
    }
  }

  private array(def: z.core.$ZodArrayDef, at: string): void {
    this.require(`Array.isArray(${at})`);
    const i = this.local();
    const item = this.local();
    const body = this.capture(() => this.schema(def.element, item));
    // An array of `unknown` needs no walk.
    if (body.length === 0) return;
    this.line(`for (let ${i} = 0; ${i} < ${at}.length; ${i}++) {`);
    this.line(`const ${item} = ${at}[${i}];`);
    for (const code of body) this.line(code);
    this.line('}');
  }

  private tuple(def: z.core.$ZodTupleDef, at: string): void {
    if (def.rest !== null) unsupported('a tuple with a rest element');
    const optional = def.items.map((item) => isOptional(item));
    let required = optional.length;
    while (required > 0 && optional[required - 1]) required--;
    this.require(
      `Array.isArray(${at}) && ${at}.length >= ${required} && ${at}.length <= ${def.items.length}`,
    );
    def.items.forEach((item, index) => {
      const v = this.local();
      this.line(`if (${at}.length > ${index}) {`);
      this.line(`const ${v} = ${at}[${index}];`);
      this.schema(item, v);
      this.line('}');
    });
  }

  private object(def: z.core.$ZodObjectDef, at: string): void {
    const shape = def.shape;
    if (Object.getOwnPropertySymbols(shape).length > 0) unsupported('symbol keys in an object shape');
    const keys = Object.keys(shape);
    if (keys.includes('__proto__')) unsupported('an object shape key "__proto__"');
    // zod reads `input[key]`: an absent key that every object inherits (`toString`) is not undefined.
    const inherited = keys.find((key) => key in Object.prototype);
    if (inherited !== undefined)
      unsupported(`an object shape key ${JSON.stringify(inherited)} that objects inherit`);
    const catchall = def.catchall?._zod.def.type;
    if (catchall !== undefined && catchall !== 'never' && catchall !== 'unknown' && catchall !== 'any')
      unsupported(`a ${catchall} catchall`);
    this.require(`typeof ${at} === "object" && ${at} !== null && !Array.isArray(${at})`);
    if (catchall === 'never') this.strictFields(shape, keys, at);
    else this.namedFields(shape, keys, at);
  }

  /** Each field of the shape read by name: absent or undefined is fine when optional. */
  private namedFields(shape: z.core.$ZodShape, keys: readonly string[], at: string): void {
    for (const key of keys) {
      const field = shape[key];
      const name = JSON.stringify(key);
      const v = this.local();
      this.line(`const ${v} = ${at}[${name}];`);
      if (isOptional(field)) this.line(`if (${v} !== undefined) {`);
      else this.line(`if (${v} !== undefined || ${name} in ${at}) {`);
      this.schema(field, v);
      this.line(isOptional(field) ? '}' : '} else return false;');
    }
  }

  /**
   * A strict object's fields in one `for…in` pass, as zod's strict check walks them: any key outside
   * the shape (`__proto__` too) fails, and every required key must have been seen. Reading each value
   * by the key `for…in` gives stays fast whatever the shape of the object.
   */
  private strictFields(shape: z.core.$ZodShape, keys: readonly string[], at: string): void {
    const k = this.local();
    const v = this.local();
    const seen = this.local();
    const required = keys.filter((key) => !isOptional(shape[key])).length;
    this.line(`let ${seen} = 0;`);
    this.line(`for (const ${k} in ${at}) {`);
    this.line(`const ${v} = ${at}[${k}];`);
    this.line(`switch (${k}) {`);
    for (const key of keys) {
      const optional = isOptional(shape[key]);
      this.line(`case ${JSON.stringify(key)}: {`);
      if (optional) this.line(`if (${v} !== undefined) {`);
      this.schema(shape[key], v);
      this.line(optional ? '}' : `${seen}++;`);
      this.line('break; }');
    }
    this.line('default: return false;');
    this.line('}');
    this.line('}');
    this.require(`${seen} === ${required}`);
  }

  private record(def: z.core.$ZodRecordDef, at: string): void {
    if (def.keyType._zod.def.type !== 'string' || def.keyType._zod.values !== undefined)
      unsupported('a record whose keys are not strings');
    if (def.mode === 'loose') unsupported('a loose record');
    // A JSON object's constructor is `Object`, which `isPlainObject` accepts.
    this.require(
      `${at} !== null && typeof ${at} === "object" && ${at}.constructor === Object || ${this.constant(isPlainObject)}(${at})`,
    );
    // As zod: own enumerable keys but `__proto__`; `for…in` lists the string ones without allocating.
    const k = this.local();
    const v = this.local();
    this.line(`for (const ${k} in ${at}) {`);
    this.line(`if (${k} === "__proto__" || !Object.hasOwn(${at}, ${k})) continue;`);
    this.schema(def.keyType, k);
    this.line(`const ${v} = ${at}[${k}];`);
    this.schema(def.valueType, v);
    this.line('}');
    // A symbol key fails a string key schema.
    this.require(`!${this.constant(hasSymbolKeys)}(${at})`);
  }

  private union(
    schema: Schema,
    def: z.core.$ZodUnionDef | z.core.$ZodDiscriminatedUnionDef,
    at: string,
  ): void {
    if ('discriminator' in def && typeof def.discriminator === 'string') {
      if (def.unionFallback === true) unsupported('a discriminated union with a union fallback');
      this.require(`typeof ${at} === "object" && ${at} !== null && !Array.isArray(${at})`);
      const tag = this.local();
      this.line(`const ${tag} = ${at}[${JSON.stringify(def.discriminator)}];`);
      let first = true;
      for (const option of def.options) {
        const values = option._zod.propValues?.[def.discriminator];
        if (values === undefined || values.size === 0) unsupported('a union option without a discriminator');
        this.line(`${first ? '' : 'else '}if (${this.oneOf(values, tag)}) {`);
        this.schema(option, at);
        this.line('}');
        first = false;
      }
      this.line('else return false;');
      return;
    }
    if (def.inclusive === false) unsupported(`an exclusive union (${schema._zod.def.type})`);
    const options = def.options.map((option) => `${this.constant(compileValidator(option))}(${at})`);
    this.require(options.join(' || ') || 'false');
  }
}

/**
 * Compiles a zod schema into a validator by walking its definition (`_zod.def`) and generating the
 * code of its tests: the verdict of `schema.safeParse(value).success`, without building the parsed
 * output and, for a valid value made of plain JSON objects and arrays, without allocating. Simple
 * checks (`.int()`, `.min()`/`.max()` of a number, `.regex()`) are inlined from their definitions;
 * any other (`.check`, `.refine`) is zod's own check function, run on the value itself. The trace
 * reader's property tests hold it to the schema's verdict on valid and mutated records.
 *
 * Models what a JSON format needs: string, number, boolean, null, unknown, literal, enum, optional,
 * nullable, array, tuple, object (strict, strip, loose), record with string keys, union,
 * discriminated union, and a pipe out of `unknown`.
 *
 * @param schema a zod schema without transforms, defaults, coercion or async checks
 * @throws UnsupportedSchemaError for a construct it does not model (when compiling, never later)
 * @example
 * const isRecord = compileValidator(traceRecordSchema);
 * if (!isRecord(value)) traceRecordSchema.parse(value); // throws with the schema's message
 */
export function compileValidator(schema: Schema): SchemaValidator {
  const source = new ValidatorSource();
  source.schema(schema, 'input');
  // The generated code reads the constants and the input only.
  const make = new Function('C', `return function validate(input) {\n${source.body()}\n};`) as (
    constants: readonly unknown[],
  ) => SchemaValidator;
  return make(source.constants);
}
