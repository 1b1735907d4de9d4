import { parseRule, type Rule, type RuleOwner } from '../../src/rules/model.js';
import { parseOrder } from '../../src/orders/schema.js';
import type { NormalizedOrder } from '../../src/orders/types.js';
import { sampleOrder } from '../orders/fixtures.js';

/** A normalised order from the sample order with some fields replaced. */
export function order(over: Record<string, unknown> = {}): NormalizedOrder {
  const r = parseOrder(sampleOrder(1, over), 'create');
  if (!r.ok) throw new Error(`bad test order: ${JSON.stringify(r.details)}`);
  return r.value.order;
}

let nextId = 1;

/** A validated rule from a rule body (throws on a body the model refuses). */
export function rule(body: Record<string, unknown>, owner: RuleOwner = 'merchant', position?: number): Rule {
  const r = parseRule({ name: `rule ${nextId}`, ...body }, owner);
  if (!r.ok) throw new Error(`bad test rule: ${JSON.stringify(r.details)}`);
  const id = nextId++;
  return {
    id,
    name: r.value.name,
    owner,
    enabled: r.value.enabled,
    position: position ?? r.value.position ?? id,
    when: r.value.when,
    then: r.value.then,
    stop: r.value.stop,
  };
}
