import { createHash } from 'node:crypto';
import type pg from 'pg';

/**
 * Server-side prepared statements for every statement the service repeats.
 *
 * Measured on a single-order POST (PostgreSQL's own per-stage CPU accounting), parsing, analysing
 * and planning our statements cost more than executing them: the hot paths are a few large CTE
 * statements over a handful of rows. A statement prepared once per connection skips the parse and
 * analysis on every later run, and PostgreSQL may keep a generic plan for it.
 *
 * Every statement text gets a stable name (a hash of the text), so node-postgres parses it once per
 * pooled connection and afterwards sends only Bind/Execute. The set of texts is bounded (our SQL is
 * built from fixed shapes with bound parameters); should a caller produce ever-new texts, naming
 * stops after MAX_NAMED distinct texts and the rest run unnamed, so neither side grows without end.
 */
const MAX_NAMED = 400;
/** Shorter texts (begin, commit, savepoints, one-line lookups) are cheap to parse: not worth a name. */
const MIN_LENGTH = 60;
/** Only queries are prepared; DDL (migrations) runs once and would only use up names. */
const QUERY = /^\s*(?:with|select|insert|update|delete)\b/i;

const names = new Map<string, string>();

export function statementName(text: string): string | undefined {
  if (text.length < MIN_LENGTH || !QUERY.test(text)) return undefined;
  const known = names.get(text);
  if (known !== undefined) return known;
  if (names.size >= MAX_NAMED) return undefined;
  const name = `sb_${createHash('sha1').update(text).digest('base64url')}`;
  names.set(text, name);
  return name;
}

type QueryFn = (...args: unknown[]) => unknown;

/** Makes every new client of the pool run named (prepared) statements. */
export function prepareStatements(pool: pg.Pool): void {
  pool.on('connect', (client: pg.PoolClient) => {
    const query = client.query.bind(client) as QueryFn;
    (client as unknown as { query: QueryFn }).query = (...args: unknown[]) => {
      const [text, values] = args;
      if (typeof text === 'string' && Array.isArray(values) && args.length === 2) {
        const name = statementName(text);
        if (name !== undefined) return query({ name, text, values });
      }
      return query(...args);
    };
  });
}
