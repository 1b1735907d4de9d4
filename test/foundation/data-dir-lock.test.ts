import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { lockDataDir } from '../../src/db/data-dir-lock.js';
import { embeddedOnlySkip, freePort, kill9, startServer, waitReady } from '../helpers/server-process.js';

// The embedded database only: the spawned processes never get DATABASE_URL, whichever engine the
// suite runs on.

t.test(
  'a second process on one DATA_DIR refuses to start; a kill -9 leaves no stuck lock',
  { skip: embeddedOnlySkip },
  async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'shipbridge-lock-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const env = (port: number) => ({ PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dir });

    const port = await freePort();
    const first = startServer(env(port));
    t.teardown(() => first.child.kill('SIGKILL'));
    await waitReady(port);

    // Another port, so that only the folder is shared: the refusal must come from the lock.
    const second = startServer(env(await freePort()));
    t.teardown(() => second.child.kill('SIGKILL'));
    const code = await second.exited;
    t.not(code, 0, 'the second process exits with an error');
    t.match(
      second.output(),
      new RegExp(
        `shipbridge: failed to start: the embedded database .*pgdata is in use by another shipbridge process \\(pid ${first.child.pid}; lock file .*pgdata\\.lock\\)`,
      ),
    );
    t.equal((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 200, 'the first one still serves');

    await kill9(first);
    t.ok(existsSync(path.join(dir, 'pgdata.lock')), 'kill -9 leaves the lock file behind');
    const third = startServer(env(port));
    t.teardown(() => third.child.kill('SIGKILL'));
    await waitReady(port);
    t.equal(readFileSync(path.join(dir, 'pgdata.lock'), 'utf8').trim(), String(third.child.pid));
    third.child.kill('SIGTERM');
    t.equal(await third.exited, 0);
    t.notOk(existsSync(path.join(dir, 'pgdata.lock')), 'a clean shutdown removes the lock');
  },
);

t.test(
  'lockDataDir: one holder, stale locks taken over, release removes only its own',
  { skip: embeddedOnlySkip },
  async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'shipbridge-lock-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'pgdata.lock');

    // A live process (our parent, tap) holds it.
    writeFileSync(file, `${process.ppid}\n`);
    t.throws(() => lockDataDir(file, 'the folder'), {
      name: 'Error',
      message: /in use by another shipbridge process \(pid/,
    });

    // A pid that is no process (above the kernel's pid_max): stale, taken over.
    writeFileSync(file, '4194305\n');
    const lock = lockDataDir(file, 'the folder');
    t.equal(readFileSync(file, 'utf8').trim(), String(process.pid));
    // Our own pid in the file means a dead predecessor with the same pid (containers): stale too.
    t.doesNotThrow(() => lockDataDir(file, 'the folder').release());
    t.notOk(existsSync(file));
    lock.release();

    // A lock another process took over after us is not ours to remove.
    const mine = lockDataDir(file, 'the folder');
    writeFileSync(file, `${process.ppid}\n`);
    mine.release();
    t.ok(existsSync(file));
  },
);
