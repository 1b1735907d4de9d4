/**
 * XSD validation with xmllint (xmllint-wasm: libxml2 compiled to WebAssembly), for tests.
 *
 * Why not xmllint-wasm's own `validateXML()`: it starts a new worker thread per call, and a worker
 * inherits the parent's `--import` hooks — under tap that is the TypeScript loader and friends, so
 * each call cost ~2.5 s. Here ONE worker runs the same xmllint-node.js script with no execArgv and
 * is reused (calls are queued): ~60–120 ms per call after the first. It is unref'd, so it never
 * keeps a test process alive.
 *
 * Still, validate many orders in one document (or many documents in one call with
 * validateManyOrdersXml) rather than one call per order.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

export interface XsdResult {
  valid: boolean;
  /** xmllint's messages without file and line, e.g. "Schemas validity error : Element 'SKU': …". */
  errors: string[];
  /** The same with `file:line:` prefixes (documents are named document.xml or docN.xml). */
  raw: string[];
}

const require = createRequire(import.meta.url);
const WORKER_SCRIPT = require.resolve('xmllint-wasm/xmllint-node.js');
const MESSAGE_KEY = 'xmllint-wasm';
const PAGE = 64 * 1024;

const schemas = new Map<string, string>();
function schemaText(name: string): string {
  let s = schemas.get(name);
  if (s === undefined) {
    s = readFileSync(fileURLToPath(new URL(`../../schemas/${name}`, import.meta.url)), 'utf8');
    schemas.set(name, s);
  }
  return s;
}

interface RunOutput {
  exitCode: number;
  stderr: string;
}

let worker: Worker | undefined;
/** The worker's stderr accumulates across runs; we keep how much we have already read. */
let consumed = 0;
let queue: Promise<unknown> = Promise.resolve();

function getWorker(): Worker {
  if (!worker) {
    worker = new Worker(WORKER_SCRIPT, { execArgv: [] });
    worker.unref();
    consumed = 0;
    const w = worker;
    w.once('exit', () => {
      if (worker === w) worker = undefined;
    });
  }
  return worker;
}

function runOnce(files: { fileName: string; contents: string }[], args: string[]): Promise<RunOutput> {
  const w = getWorker();
  const size = files.reduce((n, f) => n + Buffer.byteLength(f.contents), 0);
  // Generous: libxml2's tree plus the schema need well above the document's size.
  const maxMemory = Math.min(65536, Math.max(512, Math.ceil((size * 40) / PAGE)));
  return new Promise<RunOutput>((resolve, reject) => {
    const onMessage = (m: { [MESSAGE_KEY]?: boolean; exitCode: number; stderr: string }) => {
      if (m?.[MESSAGE_KEY] !== true) return;
      cleanup();
      const stderr = m.stderr.length >= consumed ? m.stderr.slice(consumed) : m.stderr;
      consumed = m.stderr.length;
      if (m.exitCode === -1) {
        // An abort leaves the module in an unknown state: start a fresh worker next time.
        void w.terminate();
        worker = undefined;
      }
      resolve({ exitCode: m.exitCode, stderr });
    };
    const onError = (err: Error) => {
      cleanup();
      worker = undefined;
      reject(err);
    };
    const cleanup = () => {
      w.off('message', onMessage);
      w.off('error', onError);
    };
    w.on('message', onMessage);
    w.on('error', onError);
    w.postMessage({ [MESSAGE_KEY]: true, inputFiles: files, args, initialMemory: 256, maxMemory });
  });
}

/** Runs xmllint --schema over `docs` (serialised with every other call). */
function run(schemaName: string, docs: { fileName: string; contents: string }[]): Promise<RunOutput> {
  const files = [...docs, { fileName: schemaName, contents: schemaText(schemaName) }];
  const args = ['--schema', schemaName, '--noout', ...docs.map((d) => d.fileName)];
  const next = queue.then(() => runOnce(files, args));
  queue = next.catch(() => undefined);
  return next;
}

/** Splits xmllint's output per document; exit 5 (the schema does not compile) throws. */
function results(out: RunOutput, names: string[]): XsdResult[] {
  if (out.exitCode === 5 || out.exitCode === -1)
    throw new Error(`xmllint failed (${out.exitCode}): ${out.stderr}`);
  const lines = out.stderr.split('\n').filter((l) => l.trim() !== '');
  // Lines that do not start with a file name (e.g. the echoed source line after a parser error)
  // belong to the file named on the line before.
  let current = '';
  const owner = lines.map((l) => {
    const name = names.find((n) => l.startsWith(`${n}:`) || l.startsWith(`${n} `));
    if (name) current = name;
    return current;
  });
  return names.map((name) => {
    const own = lines.filter((_, i) => owner[i] === name);
    const validates = own.some((l) => l === `${name} validates`);
    const errors = own.filter((l) => l !== `${name} validates` && l !== `${name} fails to validate`);
    return {
      valid: validates && errors.length === 0,
      errors: errors.map((l) => l.replace(/^[^:\s]+:\d+: /, '')),
      raw: errors,
    };
  });
}

/** Validates an export document against schemas/shipstation-orders.xsd. */
export async function validateOrdersXml(xml: string): Promise<XsdResult> {
  const out = await run('shipstation-orders.xsd', [{ fileName: 'document.xml', contents: xml }]);
  return results(out, ['document.xml'])[0]!;
}

/** Validates several export documents in one xmllint run; results in input order. */
export async function validateManyOrdersXml(xmls: readonly string[]): Promise<XsdResult[]> {
  const docs = xmls.map((contents, i) => ({ fileName: `doc${i}.xml`, contents }));
  const out = await run('shipstation-orders.xsd', docs);
  return results(
    out,
    docs.map((d) => d.fileName),
  );
}

/** Validates a ShipNotice body against schemas/shipstation-shipnotice.xsd. */
export async function validateShipNoticeXml(xml: string): Promise<XsdResult> {
  const out = await run('shipstation-shipnotice.xsd', [{ fileName: 'document.xml', contents: xml }]);
  return results(out, ['document.xml'])[0]!;
}
