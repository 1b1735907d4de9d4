// `npm test`: compiles src/, migrations/ and test/ to JavaScript once (.tap-build/), then runs tap on
// the compiled test files. Every test process would otherwise load a TypeScript loader and transpile
// the same sources again, which was most of a test file's start-up.
//
//   npm test                                  every test file
//   npm test -- test/orders/list.test.ts      some files or folders (their compiled twins are run)
//   npm test -- --reporter=terse              any other argument goes to tap
//   npm test -- --list                        only lists the test files it would run
//
// SHIPBRIDGE_TEST_ENGINE_ONLY=1 leaves out the files whose outcome cannot depend on the database
// engine (see engineDependent below): CI's second pass, on the other engine, sets it.
//
// Types are not checked here (`npm run check` does that), as with tap's own TypeScript loader.
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const OUT = '.tap-build';
/** The folders tsconfig.test.json compiles; everything else at the top is linked into OUT as is. */
const COMPILED = ['src', 'migrations', 'test'];

function walk(dir, out = []) {
  for (const e of readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const p = path.posix.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

function link(target, at) {
  const abs = path.join(root, at);
  try {
    if (lstatSync(abs)) return;
  } catch {}
  mkdirSync(path.dirname(abs), { recursive: true });
  symlinkSync(path.relative(path.dirname(abs), path.join(root, target)), abs);
}

/**
 * Compiled files sit one level deeper than their sources; code and tests that find files next to
 * themselves (README.md, schemas/, web/, test/fixtures/, .tap/) find them through links.
 */
function build() {
  const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.test.json', '--noCheck'], {
    cwd: root,
    stdio: 'inherit',
  });
  if (r.status !== 0) process.exit(r.status ?? 1);
  mkdirSync(path.join(root, '.tap'), { recursive: true });
  for (const name of readdirSync(root)) {
    if (['.git', OUT, 'node_modules', ...COMPILED].includes(name)) continue;
    link(name, path.posix.join(OUT, name));
  }
  for (const dir of COMPILED)
    for (const f of walk(dir)) if (!f.endsWith('.ts')) link(f, path.posix.join(OUT, f));
}

const IMPORT =
  /(?:^|\n)\s*(?:import|export)\s+(?!type\s)(?:[^'";]*?\sfrom\s+)?['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

/** Per module: whether its own text reads DATABASE_URL, and the modules it imports at run time. */
const modules = new Map();
function moduleInfo(file) {
  let info = modules.get(file);
  if (!info) {
    const text = readFileSync(path.join(root, file), 'utf8');
    const imports = [...text.matchAll(IMPORT)]
      .map((m) => path.posix.join(path.posix.dirname(file), m[1] ?? m[2]).replace(/\.js$/, '.ts'))
      .filter((f) => existsSync(path.join(root, f)));
    info = { reads: text.includes('DATABASE_URL'), imports };
    modules.set(file, info);
  }
  return info;
}

/**
 * Whether a test file's outcome can depend on the database engine: it, or a module it imports
 * (following relative imports, leaving out `import type`), reads DATABASE_URL. Test databases and
 * apps (test/helpers/db.ts), the server-process helpers and the config all do; pure domain tests
 * do not, and need to run only once.
 */
function engineDependent(file) {
  const seen = new Set([file]);
  const todo = [file];
  while (todo.length) {
    const info = moduleInfo(todo.pop());
    if (info.reads) return true;
    for (const f of info.imports) {
      if (seen.has(f)) continue;
      seen.add(f);
      todo.push(f);
    }
  }
  return false;
}

const args = process.argv.slice(2);
/** A test file or a folder of them, as the developer typed it (relative to the project root). */
const isTestPath = (a) =>
  !a.startsWith('-') && (a.endsWith('.ts') || (existsSync(path.join(root, a)) && !a.endsWith('.js')));
const named = args.filter(isTestPath);
const tapArgs = args.filter((a) => !isTestPath(a));
const testFiles = (dir) =>
  walk(dir)
    .filter((f) => f.endsWith('.test.ts'))
    .sort();
let files = named.length
  ? named.flatMap((a) => {
      const f = path.posix.normalize(a.replaceAll('\\', '/')).replace(/\/$/, '');
      return f.endsWith('.ts') ? [f] : testFiles(f);
    })
  : testFiles('test');
if (process.env.SHIPBRIDGE_TEST_ENGINE_ONLY === '1') {
  const before = files.length;
  files = files.filter((f) => engineDependent(f));
  process.stderr.write(`shipbridge: ${before - files.length} engine-independent test files left out\n`);
}
if (tapArgs.includes('--list')) {
  process.stdout.write(`${files.join('\n')}\n`);
  process.exit(0);
}
if (!files.length) process.exit(0);

build();
const compiled = files.map((f) => path.posix.join(OUT, f.replace(/\.ts$/, '.js')));
const tap = path.join(root, 'node_modules/tap/dist/esm/run.mjs');
// tap's TypeScript plugin stays configured (so `npx tap test/x.test.ts` works), but its loader has
// nothing to do for compiled files and costs every process over a second of CPU (each module
// resolved through it): with TAP_TYPE_STRIP_ONLY=1 in the test processes it does not load.
const r = spawnSync(process.execPath, [tap, '--test-env=TAP_TYPE_STRIP_ONLY=1', ...tapArgs, ...compiled], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
