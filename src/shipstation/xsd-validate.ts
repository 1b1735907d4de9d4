import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Validation of an export document against ShipStation's published order schema
 * (schemas/shipstation-orders.xsd), with libxml2 compiled to WebAssembly: the same check the tests
 * run, available at run time for the store connection's test (POST …/stores/{store}/test).
 */

const SCHEMA_FILE = 'shipstation-orders.xsd';

/** schemas/ sits at the project root: two levels above src/shipstation, three above dist/src/shipstation. */
function findSchema(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'schemas', SCHEMA_FILE);
    if (existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error(`schemas/${SCHEMA_FILE} not found above ${fileURLToPath(import.meta.url)}`);
}

let schemaText: string | undefined;

function schema(): string {
  schemaText ??= readFileSync(findSchema(), 'utf8');
  return schemaText;
}

export interface XsdResult {
  valid: boolean;
  /** libxml2's messages, with the line of the document they point at. */
  errors: string[];
}

/** Validates one `<Orders>` document; never throws for an invalid document (only for a missing schema). */
export async function validateOrdersXml(xml: string): Promise<XsdResult> {
  return (await validateOrdersDocuments([xml]))[0]!;
}

/**
 * Validates several documents in one xmllint run (each run pays a WebAssembly start-up), answering
 * one result per document, in order.
 */
export async function validateOrdersDocuments(docs: readonly string[]): Promise<XsdResult[]> {
  if (docs.length === 0) return [];
  const bytes = docs.reduce((n, d) => n + Buffer.byteLength(d), 0);
  // libxml2 needs roughly 40× the documents' size; never less than the default.
  const pages = Math.ceil((bytes * 40) / (64 * 1024));
  // Loaded on first use: the ~1 MB WebAssembly module is only needed by the store connection test.
  const { memoryPages, validateXML } = await import('xmllint-wasm');
  const result = await validateXML({
    xml: docs.map((contents, i) => ({ fileName: `page-${i}.xml`, contents })),
    schema: { fileName: SCHEMA_FILE, contents: schema() },
    maxMemoryPages: Math.min(memoryPages.max, Math.max(memoryPages.defaultMaxMemoryPages, pages)),
  });
  const out: XsdResult[] = docs.map(() => ({ valid: true, errors: [] }));
  for (const e of result.errors) {
    const m = e.loc ? /^page-(\d+)\.xml$/.exec(e.loc.fileName) : null;
    const target = m ? out[Number(m[1])] : undefined;
    const message = e.loc ? `line ${e.loc.lineNumber}: ${e.message}` : e.message;
    for (const r of target ? [target] : out) {
      r.valid = false;
      r.errors.push(message);
    }
  }
  if (!result.valid && result.errors.length === 0) for (const r of out) r.valid = false;
  return out;
}
