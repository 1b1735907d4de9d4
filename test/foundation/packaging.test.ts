import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
  main: string;
  engines: { node: string };
  scripts: Record<string, string>;
};

t.test('package.json main is the entry the build writes', async (t) => {
  const build = JSON.parse(readFileSync('tsconfig.build.json', 'utf8')) as {
    compilerOptions?: { outDir?: string };
  };
  const outDir = build.compilerOptions?.outDir ?? 'dist';
  t.ok(existsSync('src/server.ts'));
  t.equal(path.posix.normalize(pkg.main), path.posix.join(outDir.replace(/^\.\//, ''), 'src/server.js'));
  t.match(pkg.scripts.start, pkg.main, 'npm start runs the same file');
});

t.test('the Dockerfile runs the Node major that engines names, and so does this run', async (t) => {
  const floor = /^>=\s*(\d+)\.\d+/.exec(pkg.engines.node);
  t.ok(floor, `engines.node is a floor: ${pkg.engines.node}`);
  const major = Number(floor?.[1]);
  const images = [...readFileSync('Dockerfile', 'utf8').matchAll(/^FROM\s+node:(\d+)/gm)].map((m) =>
    Number(m[1]),
  );
  t.ok(images.length > 0, 'the Dockerfile builds on node images');
  for (const image of images) t.equal(image, major, 'every stage on the engines major');
  t.ok(
    Number(process.versions.node.split('.')[0]) >= major,
    `Node ${process.versions.node} satisfies engines`,
  );
});
