import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import t from 'tap';
import ts from 'typescript';

/**
 * The import graph of src/: no module imports itself through others (an import cycle makes the
 * order modules initialise in depend on who is imported first, and tangles what should be layers),
 * and the ShipStation protocol (src/shipstation: XML in and out, export, notices) depends on the
 * shipments domain (src/shipments), never the other way round. Type-only imports count too.
 */

const SRC = resolve(import.meta.dirname, '../../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** file → the files of src/ it imports (relative specifiers, `.js` written for `.ts`). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    graph.set(
      file,
      importedFiles
        .map((i) => i.fileName)
        .filter((spec) => spec.startsWith('.'))
        .map((spec) => resolve(dirname(file), spec).replace(/\.js$/, '.ts')),
    );
  }
  return graph;
}

/** The cycles of the graph: its strongly connected components of more than one file, or a self-import. */
function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component);
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found.map((c) => c.map((f) => relative(SRC, f)).sort());
}

t.test('the cycle finder finds cycles', async (t) => {
  const g = new Map([
    ['/a', ['/b']],
    ['/b', ['/c']],
    ['/c', ['/a']],
    ['/d', ['/a', '/d']],
    ['/e', ['/f']],
    ['/f', []],
  ]);
  t.same(
    cycles(g).map((c) => c.length),
    [3, 1],
    'a → b → c → a and d → d; e → f is no cycle',
  );
});

t.test('no import cycle in src/', async (t) => {
  const graph = importGraph();
  t.ok(graph.size > 50, `read the modules of src/ (${graph.size})`);
  t.same(cycles(graph), [], 'every cycle is listed with its modules');
});

t.test('shipstation/ depends on shipments/, never the other way', async (t) => {
  const graph = importGraph();
  const wrongWay: string[] = [];
  for (const [file, imports] of graph) {
    if (!relative(SRC, file).startsWith('shipments/')) continue;
    for (const i of imports) {
      if (relative(SRC, i).startsWith('shipstation/'))
        wrongWay.push(`${relative(SRC, file)} → ${relative(SRC, i)}`);
    }
  }
  t.same(wrongWay, []);
  const rightWay = [...graph].some(
    ([file, imports]) =>
      relative(SRC, file).startsWith('shipstation/') &&
      imports.some((i) => relative(SRC, i).startsWith('shipments/')),
  );
  t.ok(rightWay, 'the protocol side uses the domain');
});
