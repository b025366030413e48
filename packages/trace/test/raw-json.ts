import fc from 'fast-check';

/** A JSON value as text, with the exact number tokens it holds and where. */
export interface RawJson {
  readonly text: string;
  /** Every number token outside strings, with its path (keys and decimal array indices). */
  readonly numbers: readonly { readonly path: readonly string[]; readonly token: string }[];
}

const digits = (min: number, max: number) =>
  fc.array(fc.constantFrom(...'0123456789'), { minLength: min, maxLength: max }).map((d) => d.join(''));

/** A JSON number token (RFC 8259 §6): integer parts of up to 25 digits, fractions, exponents, `-0`. */
export const numberToken: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom('', '-'),
    fc.oneof(
      fc.constant('0'),
      fc.tuple(fc.constantFrom(...'123456789'), digits(0, 24)).map(([a, b]) => a + b),
    ),
    fc.option(
      digits(1, 4).map((d) => `.${d}`),
      { nil: '' },
    ),
    fc.option(
      fc.tuple(fc.constantFrom('e', 'E'), fc.constantFrom('', '+', '-'), digits(1, 3)).map((p) => p.join('')),
      { nil: '' },
    ),
  )
  .map((p) => p.join(''));

/** Strings holding digits, number tokens, quotes and backslashes (escaped by `JSON.stringify`). */
const trickyString: fc.Arbitrary<string> = fc.oneof(
  numberToken,
  numberToken.map((t) => `"${t}"`),
  numberToken.map((t) => `\\${t}\\`),
  fc.string({ maxLength: 6 }),
  fc.constantFrom('0x1e400', '-0', '9007199254740993', '\\"', '\u2028'),
);

/** A string as JSON text: escaped by `JSON.stringify`, or every UTF-16 unit as `\uXXXX`. */
const stringText = (s: string): fc.Arbitrary<string> =>
  fc
    .boolean()
    .map((plain) =>
      plain
        ? JSON.stringify(s)
        : `"${[...Array(s.length).keys()].map((i) => `\\u${s.charCodeAt(i).toString(16).padStart(4, '0')}`).join('')}"`,
    );

const rawLeaf: fc.Arbitrary<RawJson> = fc.oneof(
  { weight: 3, arbitrary: numberToken.map((token) => ({ text: token, numbers: [{ path: [], token }] })) },
  { weight: 2, arbitrary: trickyString.chain(stringText).map((text) => ({ text, numbers: [] })) },
  { weight: 1, arbitrary: fc.constantFrom('true', 'false', 'null').map((text) => ({ text, numbers: [] })) },
);

function under(key: string, value: RawJson): RawJson['numbers'] {
  return value.numbers.map((n) => ({ path: [key, ...n.path], token: n.token }));
}

export const rawJson: fc.Arbitrary<RawJson> = fc.letrec<{ value: RawJson }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    rawLeaf,
    fc.array(tie('value'), { maxLength: 4 }).map((items) => ({
      text: `[${items.map((i) => i.text).join(', ')}]`,
      numbers: items.flatMap((item, i) => under(String(i), item)),
    })),
    fc
      .uniqueArray(fc.tuple(trickyString, tie('value')), { maxLength: 4, selector: ([k]) => k })
      .chain((entries) =>
        fc.tuple(...entries.map(([k]) => stringText(k))).map((keys) => ({
          text: `{ ${entries.map(([, v], i) => `${keys[i]} : ${v.text}`).join(' ,')} }`,
          numbers: entries.flatMap(([k, v]) => under(k, v)),
        })),
      ),
  ),
})).value;

/** `n` as the integer it is below 1e21 (where `String` rounds the digits of a big integer). */
export function exactDigits(n: number): string {
  return Number.isInteger(n) && Math.abs(n) < 1e21 ? BigInt(n).toString() : String(n);
}

/** True when `JSON.parse` may have rounded `token`: it reads as more than 2^53-1 in magnitude. */
export function beyondSafe(token: string): boolean {
  return Math.abs(Number(token)) > Number.MAX_SAFE_INTEGER;
}
