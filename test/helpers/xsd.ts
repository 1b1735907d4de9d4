/**
 * XSD validation with xmllint (WebAssembly build of libxml2), for tests.
 *
 * Each call starts a fresh xmllint instance (~tens of ms), so validate many orders in ONE document
 * per call rather than one call per order.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { memoryPages, validateXML } from 'xmllint-wasm';

export interface XsdResult {
  valid: boolean;
  /** xmllint's messages, e.g. "Element 'SKU': [facet 'minLength'] …" (line numbers in `raw`). */
  errors: string[];
  raw: string[];
}

const schemaCache = new Map<string, Promise<string>>();

function schemaText(name: string): Promise<string> {
  let p = schemaCache.get(name);
  if (!p) {
    p = readFile(fileURLToPath(new URL(`../../schemas/${name}`, import.meta.url)), 'utf8');
    schemaCache.set(name, p);
  }
  return p;
}

async function validate(schemaName: string, xml: string): Promise<XsdResult> {
  const schema = await schemaText(schemaName);
  // Big pages need more than the default 32 MiB: allow roughly 40× the document size.
  const needed = Math.ceil((Buffer.byteLength(xml) * 40) / (64 * 1024));
  let result: Awaited<ReturnType<typeof validateXML>>;
  try {
    result = await validateXML({
      xml: [{ fileName: 'document.xml', contents: xml }],
      schema: [{ fileName: schemaName, contents: schema }],
      maxMemoryPages: Math.min(memoryPages.max, Math.max(memoryPages.defaultMaxMemoryPages, needed)),
    });
  } catch (err) {
    // xmllint exits with 1 when the document is not well-formed (the wrapper rejects); 5 means our
    // schema itself does not compile, which is a bug to surface, not an invalid document.
    const e = err as Error & { code?: number };
    if (e.code !== 1) throw err;
    const lines = e.message.split('\n').filter((l) => l.trim() !== '');
    return { valid: false, errors: lines, raw: lines };
  }
  return {
    valid: result.valid,
    errors: result.errors.map((e) => e.message),
    raw: result.errors.map((e) => e.rawMessage),
  };
}

/** Validates an export document against schemas/shipstation-orders.xsd. */
export function validateOrdersXml(xml: string): Promise<XsdResult> {
  return validate('shipstation-orders.xsd', xml);
}

/** Validates a ShipNotice body against schemas/shipstation-shipnotice.xsd. */
export function validateShipNoticeXml(xml: string): Promise<XsdResult> {
  return validate('shipstation-shipnotice.xsd', xml);
}
