import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError, type ErrorDetail, formatPath, MAX_DETAILS } from './errors.js';

/**
 * The door of the REST API: every text of a request is checked here once, before anything reads it
 * into SQL, and every JSON body is measured before it is parsed.
 *
 * - Text PostgreSQL cannot store (NUL; a lone UTF-16 surrogate, which has no UTF-8 form) is refused
 *   naming the field: 400 in the query and the body, 404 in the path (a path that names nothing).
 *   Credentials are checked by their one reader (`credentials.ts`), which answers 401.
 * - A JSON body is scanned before `JSON.parse`: parsing an object of a million keys alone blocks the
 *   process for seconds, so structure no route accepts (objects of more than MAX_KEYS fields, arrays
 *   of more than MAX_ELEMENTS, nesting deeper than MAX_DEPTH) is refused where the scan meets it,
 *   without reading the rest.
 * - JSON sent under another content type (text/plain) is 415, like a missing content type.
 */

/** No object of any route has more than ~40 fields (an order with its read-only answer fields). */
export const MAX_KEYS = 200;
/** The longest array any route takes is an order's items (1000); longer ones are told so by the schema. */
export const MAX_ELEMENTS = 10_000;
/** A batch of orders nests 7 deep (batch, orders, order, items, item, options, option). */
export const MAX_DEPTH = 32;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** PostgreSQL text cannot hold NUL, and a lone surrogate cannot be stored as UTF-8. */
export const isStorableText = (s: string): boolean => !s.includes('\u0000') && !LONE_SURROGATE.test(s);
export const NOT_STORABLE = 'must be valid Unicode text without NUL characters';

/**
 * Details naming every key or string value (up to `max`) PostgreSQL cannot store, in a parsed JSON
 * value, a query or path parameters. Depth is bounded by the JSON scan (and queries are flat).
 */
export function unstorableTexts(
  value: unknown,
  prefix: (string | number)[] = [],
  max = MAX_DETAILS,
): ErrorDetail[] {
  const out: ErrorDetail[] = [];
  const visit = (v: unknown, path: (string | number)[]): void => {
    if (out.length >= max) return;
    if (typeof v === 'string') {
      if (!isStorableText(v)) out.push({ path: formatPath(path) || '(root)', message: NOT_STORABLE });
    } else if (Array.isArray(v)) {
      for (let i = 0; i < v.length && out.length < max; i++) visit(v[i], [...path, i]);
    } else if (v !== null && typeof v === 'object') {
      for (const [k, child] of Object.entries(v)) {
        if (out.length >= max) return;
        if (!isStorableText(k)) {
          out.push({ path: formatPath(path) || '(root)', message: `has a field name that ${NOT_STORABLE}` });
        } else visit(child, [...path, k]);
      }
    }
  };
  visit(value, prefix);
  return out;
}

/**
 * `suspect`: the text holds a NUL or surrogate escape, so the parsed value must be walked.
 * `scanned`: how many characters were read before refusing.
 */
export type JsonScan = { ok: true; suspect: boolean } | { ok: false; detail: ErrorDetail; scanned: number };

interface Frame {
  array: boolean;
  /** members seen so far (object: keys; array: elements) */
  count: number;
  /** object: where the current key's JSON string starts and ends */
  keyStart: number;
  keyEnd: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;

/** A JSON escape of NUL or of a surrogate (paired or not: the walk tells). */
const SUSPECT_ESCAPE = /\\u(0000|[dD][89a-fA-F])/;

/**
 * Measures a JSON text without parsing it: one pass that skips strings and counts members, stopping
 * at the first container over a limit. Malformed text is left for JSON.parse to report.
 */
export function scanJson(text: string): JsonScan {
  const stack: Frame[] = [];
  // An escaped backslash before "u0000" also matches: that only costs a walk of the parsed value.
  const suspect = SUSPECT_ESCAPE.test(text);
  let lastStringStart = -1;
  let lastStringEnd = -1;
  const n = text.length;
  /** Where the member currently read in each of `frames` sits. */
  const pathOf = (frames: Frame[]): string => {
    const segs: (string | number)[] = [];
    for (const f of frames) {
      if (f.array) segs.push(Math.max(0, f.count - 1));
      else {
        try {
          segs.push(JSON.parse(text.slice(f.keyStart, f.keyEnd + 1)) as string);
        } catch {
          segs.push('?');
        }
      }
    }
    return formatPath(segs) || '(root)';
  };
  const refuse = (i: number, frames: Frame[], message: string): JsonScan => ({
    ok: false,
    detail: { path: pathOf(frames), message },
    scanned: i,
  });
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c <= 0x20) continue;
    const top = stack[stack.length - 1];
    // The first member of an array starts with anything but whitespace or its closing bracket.
    if (top?.array && top.count === 0 && c !== RBRACKET) top.count = 1;
    if (c === QUOTE) {
      // The closing quote is the next one not escaped by an odd run of backslashes.
      let j = text.indexOf('"', i + 1);
      while (j > 0) {
        let k = j - 1;
        while (text.charCodeAt(k) === BACKSLASH) k--;
        if ((j - 1 - k) % 2 === 0) break;
        j = text.indexOf('"', j + 1);
      }
      if (j < 0) break; // unterminated: JSON.parse says so
      lastStringStart = i;
      lastStringEnd = j;
      i = j;
    } else if (c === LBRACE || c === LBRACKET) {
      if (stack.length >= MAX_DEPTH) return refuse(i, stack, `is nested deeper than ${MAX_DEPTH} levels`);
      stack.push({ array: c === LBRACKET, count: 0, keyStart: -1, keyEnd: -1 });
    } else if (c === RBRACE || c === RBRACKET) {
      stack.pop();
    } else if (c === COLON && top && !top.array) {
      top.count++;
      top.keyStart = lastStringStart;
      top.keyEnd = lastStringEnd;
      if (top.count > MAX_KEYS) {
        return refuse(i, stack.slice(0, -1), `has more than ${MAX_KEYS} fields; no request takes that many`);
      }
    } else if (c === COMMA && top?.array) {
      top.count++;
      if (top.count > MAX_ELEMENTS) {
        return refuse(
          i,
          stack.slice(0, -1),
          `has more than ${MAX_ELEMENTS} elements; no request takes that many`,
        );
      }
    }
  }
  return { ok: true, suspect };
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The route checks the texts of its body itself, with the same rule (orders: order by order, so
     * that one bad order of a batch does not refuse the others).
     */
    bodyTextsCheckedByRoute?: true;
  }
}

/**
 * Installs the door on a scope (the REST API): the JSON body parser and the text check. Its hooks
 * run after the scope's onRequest authentication, so a caller is known and authorised on the path
 * before its body is read.
 */
export function installInputDoor(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = body as string;
    const scan = scanJson(text);
    if (!scan.ok) {
      done(new AppError('invalid_request', 'request body refused: too large in structure', [scan.detail]));
      return;
    }
    parseJson(req, text, (err, value) => {
      if (err) return done(err);
      if (scan.suspect && !(req as FastifyRequest).routeOptions.config.bodyTextsCheckedByRoute) {
        const bad = unstorableTexts(value);
        if (bad.length > 0) return done(new AppError('invalid_request', 'invalid body', bad));
      }
      done(null, value);
    });
  });

  app.addHook('preValidation', async (req) => {
    // A path that cannot name anything stored names nothing: 404, like an unknown id.
    const inPath = unstorableTexts(req.params, ['params'], 1);
    if (inPath.length > 0) throw new AppError('not_found', 'not found', inPath);
    const inQuery = unstorableTexts(req.query, ['query']);
    if (inQuery.length > 0) throw new AppError('invalid_request', 'invalid query', inQuery);
  });
}
