import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { memoryPages, validateXML } from 'xmllint-wasm';

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
  const result = await validateXML({
    xml: { fileName: 'orders.xml', contents: xml },
    schema: { fileName: SCHEMA_FILE, contents: schema() },
    // A page of 500 large orders is a few MB; leave libxml2 room.
    maxMemoryPages: 256 * memoryPages.MiB,
  });
  return {
    valid: result.valid,
    errors: result.errors.map((e) => (e.loc ? `line ${e.loc.lineNumber}: ${e.message}` : e.message)),
  };
}
