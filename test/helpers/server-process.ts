import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';

export interface ServerProcess {
  child: ChildProcess;
  /** stdout and stderr so far. */
  output: () => string;
  /** Resolves once the output matches (for waiting on a log line). */
  waitFor: (pattern: RegExp) => Promise<void>;
  exited: Promise<number | null>;
}

/** The real process: `src/server.ts` under tsx, as `npm run dev` runs it. */
export function startServer(env: Record<string, string>): ServerProcess {
  let out = '';
  const waiters: { pattern: RegExp; resolve: () => void }[] = [];
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', CHECK_RESPONSES: 'true', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const add = (d: Buffer) => {
    out += d;
    for (const w of waiters.splice(0)) {
      if (w.pattern.test(out)) w.resolve();
      else waiters.push(w);
    }
  };
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const waitFor = (pattern: RegExp) =>
    pattern.test(out)
      ? Promise.resolve()
      : new Promise<void>((resolve) => waiters.push({ pattern, resolve }));
  return { child, output: () => out, waitFor, exited };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Polls /readyz; generous by default: a first start on a busy machine runs initdb (tens of seconds). */
export async function waitReady(port: number, ms = 180_000): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/readyz`);
      if (r.status === 200) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('not ready');
}

/** SIGKILL, and wait until the process is gone. */
export async function kill9(p: ServerProcess): Promise<void> {
  p.child.kill('SIGKILL');
  await p.exited;
}

/**
 * Tests that spawn processes on their own embedded database (whatever DATABASE_URL says) run in the
 * pass without DATABASE_URL: CI runs the suite on PostgreSQL and again on PGlite, and these would
 * otherwise run twice for nothing. Pass it as a test's `skip` option.
 */
export const embeddedOnlySkip: string | false = process.env.DATABASE_URL
  ? 'spawns its own embedded database: runs in the pass without DATABASE_URL'
  : false;
