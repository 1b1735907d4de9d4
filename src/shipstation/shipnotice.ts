/**
 * Parsing ShipStation's `<ShipNotice>` body (pure, no I/O). Documented by
 * schemas/shipstation-shipnotice.xsd.
 *
 * Order of checks: an empty (or whitespace-only) body is valid and means "no body" — the caller
 * falls back to the query parameters. A DOCTYPE or ENTITY declaration anywhere is REFUSED (not
 * ignored): ShipStation never sends one, and it is how XXE and entity-expansion attacks start.
 * So is a document with more references or attributes than a notice ever has (overBounds).
 * (A CDATA section that literally contains `<!DOCTYPE` is refused too; an acceptable false
 * positive.) Then well-formedness (fast-xml-parser's XMLValidator), then parsing with
 * `parseTagValue: false` (so `000123` stays a string) and `Item` always an array.
 *
 * Leniency: unknown elements are ignored; text is trimmed; XML-illegal characters (e.g. from
 * `&#0;`) are removed; blank values are null. Unreadable LabelCreateDate, ShipDate or ShippingCost
 * become null with a warning, because the shipment itself is still worth recording. What makes
 * the whole notice an error: not XML, a declaration, a root other than ShipNotice, a scalar field
 * that holds elements or appears twice, and an Item whose Quantity is not an integer 1–99 999
 * (quantities drive fulfilment, so a guess would be worse than a refusal).
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { parseMoneyInput } from '../lib/money.js';
import type { ShipmentItem } from '../shipments/facts.js';
import { parseLabelCreateDate, parseShipDate } from './dates.js';
import { clean } from './xml.js';

/** An `Items/Item`: what the shipments domain calls an item a shipment claims. */
export type ShipNoticeItem = ShipmentItem;

export interface ShipNoticeRecipient {
  name: string | null;
  company: string | null;
  address1: string | null;
  address2: string | null;
  address3: string | null;
  city: string | null;
  state: string | null;
  postalCode: string | null;
  country: string | null;
  phone: string | null;
  email: string | null;
}

export interface ShipNotice {
  orderId: string | null;
  orderNumber: string | null;
  customerCode: string | null;
  customerNotes: string | null;
  internalNotes: string | null;
  notesToCustomer: string | null;
  /** true when ShipStation asks US to notify the buyer: `true`, `yes` or `1` (any case). */
  notifyCustomer: boolean;
  labelCreateDate: Date | null;
  /** 'YYYY-MM-DD' */
  shipDate: string | null;
  carrier: string | null;
  service: string | null;
  trackingNumber: string | null;
  /** Two-decimal money string. */
  shippingCost: string | null;
  customFields: [string | null, string | null, string | null];
  /** Undocumented, but ShipStation's own Magento module reads it. */
  requestedWarehouse: string | null;
  /** null when there is no Recipient element. */
  recipient: ShipNoticeRecipient | null;
  /** null when there is no Items element or it has no Item: "the whole order". */
  items: ShipNoticeItem[] | null;
}

export type ShipNoticeResult =
  /** `notice` is null for an empty body. */
  { ok: true; notice: ShipNotice | null; warnings: string[] } | { ok: false; error: string };

const DECLARATION = /<!\s*(DOCTYPE|ENTITY)/i;

/**
 * Bounds on what makes XML parsing expensive, checked in one linear pass before any parser runs.
 * A real notice holds a handful of references (ShipStation escapes &, <, > and quotes in names and
 * notes) and no attributes beyond a namespace declaration; a megabyte of `&amp;` cost seconds of
 * CPU in the validator and the entity decoder while the event loop served nothing else.
 */
export const MAX_REFERENCES = 2000;
export const MAX_ATTRIBUTES = 100;

/** Why the document is over a bound, or undefined. Counts `&` anywhere and `=` inside tags. */
export function overBounds(xml: string): string | undefined {
  let refs = 0;
  for (let i = xml.indexOf('&'); i >= 0; i = xml.indexOf('&', i + 1)) {
    if (++refs > MAX_REFERENCES) {
      return `more than ${MAX_REFERENCES} entity or character references (&…;); a ShipNotice has a few`;
    }
  }
  let attrs = 0;
  for (let lt = xml.indexOf('<'); lt >= 0; lt = xml.indexOf('<', lt + 1)) {
    const gt = xml.indexOf('>', lt);
    if (gt < 0) break;
    for (let eq = xml.indexOf('=', lt); eq >= 0 && eq < gt; eq = xml.indexOf('=', eq + 1)) {
      if (++attrs > MAX_ATTRIBUTES) {
        return `more than ${MAX_ATTRIBUTES} attributes; a ShipNotice has none beyond a namespace declaration`;
      }
    }
    lt = gt;
  }
  return undefined;
}

const PARSER_OPTIONS = {
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: true,
  processEntities: true,
  // Decodes numeric character references (&#65;) as well; named HTML entities are a harmless bonus.
  htmlEntities: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  isArray: (_name: string, jpath: unknown) => jpath === 'ShipNotice.Items.Item',
};
const parser = new XMLParser(PARSER_OPTIONS);
/**
 * The same parser without the HTML entity table, for a document with no `&` at all (the usual
 * notice): with no entity or character reference to decode, both read it identically, and this one
 * skips building the ~250-entry table fast-xml-parser 5 builds on every parse (half the parse time).
 */
const plainParser = new XMLParser({ ...PARSER_OPTIONS, htmlEntities: false });

/**
 * fast-xml-parser's reading of a document (after the validator), with the options above; without
 * the HTML entity table when the document has no `&` (`entities` only for the tests to force).
 */
export function fullParse(xml: string, entities = xml.includes('&')): unknown {
  return (entities ? parser : plainParser).parse(xml);
}

const SIMPLE_TAG = /^(\/?)([A-Za-z][A-Za-z0-9_]*)\s*(\/?)$/;
const XML_DECLARATION = /^<\?xml[\s?]/;
const MAX_DEPTH = 16;
const ITEM_PATH = 'ShipNotice.Items.Item';

/**
 * The usual notice read without fast-xml-parser (a tenth of its time), to exactly the same result;
 * undefined when the document uses anything beyond what this reads, and fast-xml-parser reads it:
 * an optional leading `<?xml …?>`, elements with plain names and no attributes, text without `&`
 * or CR, whitespace between elements, one root, at most 16 deep. Text beside child elements (mixed content),
 * comments, CDATA, other processing instructions: undefined. Only for a document XMLValidator
 * accepted. Values as fast-xml-parser gives them with our options: trimmed text, '' for an empty
 * element, an object for an element with children, an array for a repeated element and for
 * ShipNotice/Items/Item.
 */
export function simpleParse(xml: string): Node | undefined {
  if (xml.includes('&') || xml.includes('\r') || xml.includes('<!')) return undefined;
  let i = 0;
  if (XML_DECLARATION.test(xml)) {
    const end = xml.indexOf('?>');
    if (end < 0) return undefined;
    i = end + 2;
  }
  if (xml.indexOf('<?', i) >= 0) return undefined;
  const doc: Node = {};
  // Open elements: name, path, children so far (null while none), text so far.
  const names: string[] = [];
  const paths: string[] = [];
  const kids: (Node | null)[] = [];
  const texts: string[] = [];
  let roots = 0;
  const len = xml.length;
  while (i < len) {
    const lt = xml.indexOf('<', i);
    const text = (lt < 0 ? xml.slice(i) : xml.slice(i, lt)).trim();
    if (text !== '') {
      const d = names.length;
      if (d === 0 || kids[d - 1] !== null || texts[d - 1] !== '') return undefined;
      texts[d - 1] = text;
    }
    if (lt < 0) break;
    const gt = xml.indexOf('>', lt);
    if (gt < 0) return undefined;
    const tag = SIMPLE_TAG.exec(xml.slice(lt + 1, gt));
    if (tag === null) return undefined;
    const closing = tag[1] === '/';
    const selfClosing = tag[3] === '/';
    const name = tag[2]!;
    if (closing && selfClosing) return undefined;
    i = gt + 1;
    if (closing) {
      const d = names.length;
      if (d === 0 || names[d - 1] !== name) return undefined;
      const value = kids[d - 1] ?? texts[d - 1]!;
      const path = paths[d - 1]!;
      names.pop();
      paths.pop();
      kids.pop();
      texts.pop();
      addChild(d === 1 ? doc : kids[d - 2]!, name, path, value);
      continue;
    }
    // Names fast-xml-parser refuses or renames (constructor, prototype, toString, …): it decides.
    if (name in PROTOTYPE_NAMES || name === 'prototype') return undefined;
    const d = names.length;
    // fast-xml-parser refuses nesting deeper than its maxNestedTags (100); a notice is 4 deep.
    if (d >= MAX_DEPTH) return undefined;
    if (d === 0) {
      roots += 1;
      if (roots > 1) return undefined;
    } else {
      if (texts[d - 1] !== '') return undefined;
      if (kids[d - 1] === null) kids[d - 1] = {};
    }
    const path = d === 0 ? name : `${paths[d - 1]}.${name}`;
    if (selfClosing) {
      addChild(d === 0 ? doc : kids[d - 1]!, name, path, '');
    } else {
      names.push(name);
      paths.push(path);
      kids.push(null);
      texts.push('');
    }
  }
  return names.length === 0 && roots === 1 ? doc : undefined;
}

/** An empty object: `name in` it is true for the names every object inherits. */
const PROTOTYPE_NAMES = {};

function addChild(parent: Node, name: string, path: string, value: unknown): void {
  if (Object.hasOwn(parent, name)) {
    const prior = parent[name];
    if (Array.isArray(prior)) prior.push(value);
    else parent[name] = [prior, value];
  } else {
    parent[name] = path === ITEM_PATH ? [value] : value;
  }
}

class NoticeError extends Error {}

type Node = Record<string, unknown>;

const isNode = (v: unknown): v is Node => typeof v === 'object' && v !== null && !Array.isArray(v);

function child(node: Node | undefined, name: string): unknown {
  return node !== undefined && Object.hasOwn(node, name) ? node[name] : undefined;
}

/** A text child: cleaned, null when absent or blank. */
function textOf(node: Node | undefined, name: string, path: string): string | null {
  const v = child(node, name);
  if (v === undefined) return null;
  if (Array.isArray(v)) throw new NoticeError(`${path}/${name} appears more than once`);
  if (typeof v !== 'string') throw new NoticeError(`${path}/${name} must be text, not elements`);
  const c = clean(v).trim();
  return c === '' ? null : c;
}

/** A container child: its node, an empty node for `<X/>`, undefined when absent. */
function containerOf(node: Node | undefined, name: string, path: string): Node | undefined {
  const v = child(node, name);
  if (v === undefined) return undefined;
  if (Array.isArray(v)) throw new NoticeError(`${path}/${name} appears more than once`);
  if (v === '') return {};
  if (!isNode(v)) throw new NoticeError(`${path}/${name} must contain elements, not text`);
  return v;
}

const TRUE = new Set(['true', 'yes', '1']);
const QUANTITY = /^\+?\d{1,9}$/;

function readItems(notice: Node): ShipNoticeItem[] | null {
  const items = containerOf(notice, 'Items', 'ShipNotice');
  if (items === undefined) return null;
  const list = child(items, 'Item');
  if (!Array.isArray(list) || list.length === 0) return null;
  return list.map((raw, i) => {
    const path = `ShipNotice/Items/Item[${i + 1}]`;
    if (raw !== '' && !isNode(raw)) throw new NoticeError(`${path} must contain elements, not text`);
    const item = raw === '' ? {} : (raw as Node);
    const q = textOf(item, 'Quantity', path);
    if (q === null) throw new NoticeError(`${path}/Quantity is required`);
    const n = QUANTITY.test(q) ? Number(q) : Number.NaN;
    if (!(n >= 1 && n <= 99_999)) {
      throw new NoticeError(`${path}/Quantity must be an integer from 1 to 99999, got "${q.slice(0, 40)}"`);
    }
    return {
      lineItemId: textOf(item, 'LineItemID', path),
      sku: textOf(item, 'SKU', path),
      name: textOf(item, 'Name', path),
      quantity: n,
    };
  });
}

function readRecipient(notice: Node): ShipNoticeRecipient | null {
  const r = containerOf(notice, 'Recipient', 'ShipNotice');
  if (r === undefined) return null;
  const p = 'ShipNotice/Recipient';
  return {
    name: textOf(r, 'Name', p),
    company: textOf(r, 'Company', p),
    address1: textOf(r, 'Address1', p),
    address2: textOf(r, 'Address2', p),
    address3: textOf(r, 'Address3', p),
    city: textOf(r, 'City', p),
    state: textOf(r, 'State', p),
    postalCode: textOf(r, 'PostalCode', p),
    country: textOf(r, 'Country', p),
    phone: textOf(r, 'Phone', p),
    email: textOf(r, 'Email', p),
  };
}

/**
 * Parses a ShipNotice body. `zone` is the IANA zone LabelCreateDate is read in (ShipStation sends
 * UTC; default UTC).
 */
export function parseShipNotice(body: string, zone = 'UTC'): ShipNoticeResult {
  const xml = body.charCodeAt(0) === 0xfeff ? body.slice(1) : body;
  if (xml.trim() === '') return { ok: true, notice: null, warnings: [] };
  if (DECLARATION.test(xml)) {
    return { ok: false, error: 'DOCTYPE and ENTITY declarations are not accepted in a ShipNotice' };
  }
  const over = overBounds(xml);
  if (over !== undefined) return { ok: false, error: `refused before parsing: ${over}` };
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    const e = valid.err;
    return { ok: false, error: `not well-formed XML (line ${e.line}, column ${e.col}): ${e.msg}` };
  }
  let doc: unknown;
  try {
    doc = simpleParse(xml) ?? fullParse(xml);
  } catch (err) {
    return { ok: false, error: `not readable XML: ${(err as Error).message}` };
  }
  const roots = isNode(doc) ? Object.keys(doc) : [];
  if (roots.length !== 1 || roots[0] !== 'ShipNotice') {
    return { ok: false, error: `the root element must be ShipNotice, got ${roots.join(', ') || 'none'}` };
  }
  const rootValue = (doc as Node)['ShipNotice'];
  if (rootValue !== '' && !isNode(rootValue)) {
    return { ok: false, error: 'ShipNotice must contain elements, not text' };
  }
  const n: Node = rootValue === '' ? {} : (rootValue as Node);
  const p = 'ShipNotice';
  const warnings: string[] = [];
  try {
    const labelText = textOf(n, 'LabelCreateDate', p);
    const labelCreateDate = labelText === null ? null : parseLabelCreateDate(labelText, zone);
    if (labelText !== null && labelCreateDate === null) {
      warnings.push(`LabelCreateDate "${labelText.slice(0, 40)}" is not a date; ignored`);
    }
    const shipText = textOf(n, 'ShipDate', p);
    const shipDate = shipText === null ? null : parseShipDate(shipText);
    if (shipText !== null && shipDate === null) {
      warnings.push(`ShipDate "${shipText.slice(0, 40)}" is not a date; ignored`);
    }
    const costText = textOf(n, 'ShippingCost', p);
    let shippingCost: string | null = null;
    if (costText !== null) {
      const cost = parseMoneyInput(costText);
      if (cost === undefined || cost.startsWith('-')) {
        warnings.push(`ShippingCost "${costText.slice(0, 40)}" is not an amount; ignored`);
      } else {
        shippingCost = cost;
      }
    }
    const notify = textOf(n, 'NotifyCustomer', p);
    const notice: ShipNotice = {
      orderId: textOf(n, 'OrderID', p),
      orderNumber: textOf(n, 'OrderNumber', p),
      customerCode: textOf(n, 'CustomerCode', p),
      customerNotes: textOf(n, 'CustomerNotes', p),
      internalNotes: textOf(n, 'InternalNotes', p),
      notesToCustomer: textOf(n, 'NotesToCustomer', p),
      notifyCustomer: notify !== null && TRUE.has(notify.toLowerCase()),
      labelCreateDate,
      shipDate,
      carrier: textOf(n, 'Carrier', p),
      service: textOf(n, 'Service', p),
      trackingNumber: textOf(n, 'TrackingNumber', p),
      shippingCost,
      customFields: [
        textOf(n, 'CustomField1', p),
        textOf(n, 'CustomField2', p),
        textOf(n, 'CustomField3', p),
      ],
      requestedWarehouse: textOf(n, 'RequestedWarehouse', p),
      recipient: readRecipient(n),
      items: readItems(n),
    };
    return { ok: true, notice, warnings };
  } catch (err) {
    if (err instanceof NoticeError) return { ok: false, error: err.message };
    throw err;
  }
}
