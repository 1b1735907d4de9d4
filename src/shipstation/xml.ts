/**
 * XML escaping primitives for the ShipStation writer (pure, no I/O).
 *
 * - `clean()` removes what XML 1.0 cannot carry at all, even in CDATA: C0 controls except TAB, LF
 *   and CR; U+FFFE and U+FFFF; unpaired UTF-16 surrogates. It also normalises line breaks (CRLF and
 *   a lone CR become LF), which every conforming XML parser does on input anyway, so the value we
 *   mean is the value ShipStation reads.
 * - `esc()` escapes for text content and attribute values.
 * - `cdata()` wraps in a CDATA section, splitting any `]]>`.
 *
 * Each has a fast path: a single `test()` and no `replace()` when nothing needs changing (the
 * common case), which halves the cost of rendering a page.
 */

// No `u` flag: the regexes work on UTF-16 code units, which is what lets them see lone surrogates.
const ILLEGAL_SOURCE =
  '[\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\uFFFE\\uFFFF]' +
  '|[\\uD800-\\uDBFF](?![\\uDC00-\\uDFFF])' +
  '|(?<![\\uD800-\\uDBFF])[\\uDC00-\\uDFFF]';
const ILLEGAL = new RegExp(ILLEGAL_SOURCE);
const ILLEGAL_G = new RegExp(ILLEGAL_SOURCE, 'g');
/**
 * Every code unit the full test can match, without lookarounds: a string with none of them (nearly
 * every value) is clean after one simple scan; only strings with surrogates (emoji…) or controls
 * pay for the lookaround test.
 */
const SUSPECT = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uD800-\uDFFF\uFFFE\uFFFF]/;
const CR = /\r\n?/g;

const ESC = /[&<>"']/;
const ESC_G = /[&<>"']/g;
const ESC_MAP: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};
const escChar = (c: string): string => ESC_MAP[c]!;

/** True when `s` holds a character XML 1.0 cannot represent (or a CR to normalise). */
export function needsCleaning(s: string): boolean {
  return (SUSPECT.test(s) && ILLEGAL.test(s)) || s.includes('\r');
}

/** Removes XML-1.0-illegal characters and normalises CRLF / CR to LF. */
export function clean(s: string): string {
  if (SUSPECT.test(s) && ILLEGAL.test(s)) s = s.replace(ILLEGAL_G, '');
  if (s.includes('\r')) s = s.replace(CR, '\n');
  return s;
}

/** Escaped text for element content or a (double- or single-quoted) attribute value. */
export function esc(s: string): string {
  s = clean(s);
  return ESC.test(s) ? s.replace(ESC_G, escChar) : s;
}

/** A CDATA section holding `s` (cleaned); a `]]>` inside is split across two sections. */
export function cdata(s: string): string {
  s = clean(s);
  return '<![CDATA[' + (s.includes(']]>') ? s.replaceAll(']]>', ']]]]><![CDATA[>') : s) + ']]>';
}

/** `cdata()` for a value that is already clean (skips the cleaning pass). */
export function cdataClean(s: string): string {
  return '<![CDATA[' + (s.includes(']]>') ? s.replaceAll(']]>', ']]]]><![CDATA[>') : s) + ']]>';
}

/**
 * The first `max` characters (Unicode code points, as XML Schema counts length) of `s`. Never
 * splits a surrogate pair. Fast path when `s.length <= max` (code units ≥ code points).
 */
export function truncateChars(s: string, max: number): string {
  if (s.length <= max) return s;
  let units = 0;
  let chars = 0;
  while (units < s.length && chars < max) {
    const c = s.charCodeAt(units);
    const d = units + 1 < s.length ? s.charCodeAt(units + 1) : 0;
    units += c >= 0xd800 && c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff ? 2 : 1;
    chars++;
  }
  return s.slice(0, units);
}

/** Number of code points in `s`. */
export function charLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}
