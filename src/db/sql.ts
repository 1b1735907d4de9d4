/** Small SQL fragments shared by the hand-written statements. */
import { type RawBuilder, sql } from 'kysely';

/**
 * A list of constants as SQL literals, for `x in (…)`: the statement text is then exactly what
 * writing the values by hand would give (the planner sees constants), while the values come from
 * the one constant that owns them in the code. Only for values of the code, never for input.
 */
export function literalList(values: readonly string[]): RawBuilder<unknown> {
  if (values.length === 0) throw new Error('an empty SQL list');
  return sql.join(values.map((v) => sql.lit(v)));
}
