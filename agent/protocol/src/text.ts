import { z } from 'zod';

/**
 * Characters PostgreSQL refuses: U+0000 in text and jsonb, and unpaired UTF-16 surrogates in
 * jsonb (JSON.stringify writes them as `\udXXX` escapes, which jsonb rejects). Cleaning them at
 * the edge keeps one device's odd hostname from ever reaching SQL as an error.
 */
// eslint-disable-next-line no-control-regex
const NUL = /\u0000/g;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** `s` with NUL removed and unpaired surrogates replaced by U+FFFD. */
export function storableText(s: string): string {
  return s.replace(NUL, '').replace(LONE_SURROGATE, '\uFFFD');
}

/** A string schema of at most `max` characters whose value is made storable (see storableText). */
export function storableString(max: number) {
  // overwrite (not transform) keeps the schema a plain string, so it still renders as JSON Schema.
  return z.string().max(max).overwrite(storableText);
}
