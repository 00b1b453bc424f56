/**
 * What characters an input may carry. Identifiers (event ids, SKUs, order,
 * customer and approval ids) are visible ASCII only, so a look-alike (a
 * Cyrillic 'О' in "ORD-1", a zero-width space in "SKU-MUG") can never pose as
 * another entity. Free text (names, messages, reasons) may be any language
 * and is kept literally, except for what cannot be stored or shown honestly:
 * control characters (NUL included), unpaired surrogates (not Unicode; they
 * would not survive UTF-8 storage) and bidirectional overrides, which make a
 * line display differently from what it says ("Trojan Source").
 */

/** Printable ASCII from '!' to '~': no spaces, no control or non-ASCII characters. */
const IDENTIFIER_CHARS = /^[\x21-\x7E]+$/;
const NOT_IDENTIFIER = /[^\x21-\x7E]/u;
/** C0 and C1 controls except tab, line feed and carriage return. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/u;
/** In unicode mode this matches only a surrogate that is not part of a pair. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
/** Embeddings, overrides and isolates (LRE, RLE, PDF, LRO, RLO, LRI, RLI, FSI, PDI); the plain marks LRM/RLM are fine. */
const BIDI_CONTROL = /[\u202A-\u202E\u2066-\u2069]/u;

const NAMES: Record<number, string> = {
  0x00: "NUL",
  0x20: "space",
  0xa0: "no-break space",
  0x200b: "zero-width space",
  0x200c: "zero-width non-joiner",
  0x200d: "zero-width joiner",
  0x2060: "word joiner",
  0xfeff: "byte order mark",
  0x202e: "right-to-left override",
  0x202d: "left-to-right override",
};

/** `U+200B (zero-width space) at position 4`, positions counted from 1 in code points. */
function describeAt(value: string, pattern: RegExp): string | undefined {
  // The patterns match one code point (`u`), so they match the whole text exactly when they match one of its characters;
  // most text has none to describe, and is not split into code points for nothing.
  if (!pattern.test(value)) return undefined;
  const chars = [...value];
  const index = chars.findIndex((c) => pattern.test(c));
  if (index < 0) return undefined;
  const code = chars[index].codePointAt(0) ?? 0;
  const name = NAMES[code] ? ` (${NAMES[code]})` : "";
  return `U+${code.toString(16).toUpperCase().padStart(4, "0")}${name} at position ${index + 1}`;
}

/** Why `value` is not a valid identifier, or undefined. */
export function identifierProblem(value: string): string | undefined {
  if (IDENTIFIER_CHARS.test(value)) return undefined;
  return `must be visible ASCII letters, digits and punctuation, no spaces or look-alike characters (found ${describeAt(value, NOT_IDENTIFIER)})`;
}

/** Why free text `value` cannot be kept literally, or undefined. */
export function textProblem(value: string): string | undefined {
  const lone = describeAt(value, LONE_SURROGATE);
  if (lone) return `is not well-formed Unicode (unpaired surrogate ${lone})`;
  const control = describeAt(value, CONTROL);
  if (control) return `must not contain control characters (found ${control})`;
  const bidi = describeAt(value, BIDI_CONTROL);
  if (bidi) return `must not contain bidirectional override characters, which make text display differently from what it says (found ${bidi})`;
  return undefined;
}

/**
 * Makes a piece of input safe to echo in a reason: invisible, control and
 * bidi characters are written as \u{…} escapes, so a rejection printed on a
 * terminal shows what was sent instead of acting on it.
 */
export function visible(text: string): string {
  return text.replace(/[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/gu, (c) => `\\u{${(c.codePointAt(0) ?? 0).toString(16).toUpperCase()}}`);
}
