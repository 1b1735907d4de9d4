import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import t from 'tap';
import ts from 'typescript';

/**
 * The import graph of src/: no module imports itself through others (an import cycle makes the
 * order modules initialise in depend on who is imported first, and tangles what should be layers),
 * and some folders depend one way only (ONE_WAY below, and src/domain under every feature folder).
 * Type-only imports count too.
 */

// The TypeScript sources, from the repository root: tests run compiled under .tap-build/, whose src/
// holds JavaScript (test commands run from the root).
const SRC = resolve(process.cwd(), 'src');

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

/** The top folder of src/ a module is in ('' for src/ itself). */
const folderOf = (file: string): string => {
  const parts = relative(SRC, file).split('/');
  return parts.length > 1 ? parts[0]! : '';
};

/** The imports from modules of folder `from` into modules of folder `to`, as `a.ts → b.ts`. */
function importsBetween(graph: Map<string, string[]>, from: string, to: string): string[] {
  const found: string[] = [];
  for (const [file, imports] of graph) {
    if (folderOf(file) !== from) continue;
    for (const i of imports)
      if (folderOf(i) === to) found.push(`${relative(SRC, file)} → ${relative(SRC, i)}`);
  }
  return found;
}

/**
 * Folders that depend one way: [user, used]. The used folder must not import the user, not even
 * through a module that imports nothing back (folders that use each other are one tangle, however
 * clean each file is).
 */
const ONE_WAY: [string, string][] = [
  ['shipstation', 'shipments'], // the protocol (XML, export, notify) uses the shipments domain
  ['orders', 'stores'], // orders are routed to stores; store connections know nothing of the order service
];

for (const [user, used] of ONE_WAY) {
  t.test(`${user}/ depends on ${used}/, never the other way`, async (t) => {
    const graph = importGraph();
    t.same(importsBetween(graph, used, user), [], `no module of ${used}/ imports ${user}/`);
    t.not(importsBetween(graph, user, used).length, 0, `${user}/ does use ${used}/`);
  });
}

t.test('domain/ imports no feature folder: every folder may use it', async (t) => {
  const graph = importGraph();
  const LOWER = new Set(['domain', 'db', 'lib']);
  const wrong = [...graph]
    .filter(([file]) => folderOf(file) === 'domain')
    .flatMap(([file, imports]) =>
      imports
        .filter((i) => !LOWER.has(folderOf(i)))
        .map((i) => `${relative(SRC, file)} → ${relative(SRC, i)}`),
    );
  t.same(wrong, [], 'domain/ imports only db/ and lib/');
  t.not(importsBetween(graph, 'stores', 'domain').length, 0, 'routing uses the lifecycle and event writer');
});
