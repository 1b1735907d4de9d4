import { linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';

/**
 * One process per embedded database folder. PGlite is a single-user PostgreSQL: two processes on one
 * folder would each replay and write the same WAL, and corrupt it. The lock is a file next to the
 * folder holding the owner's pid, created atomically (of two starts exactly one creates it).
 *
 * A process killed with SIGKILL (or a power cut) leaves the file behind, so a lock whose pid is not
 * a live process is stale and taken over. A pid equal to our own is stale too: in a container the
 * restarted process often gets the pid the dead one had. (Two processes taking over the same stale
 * lock within microseconds of each other could both win; starts racing right after a crash are
 * not a case we guard against.)
 */
export class DataDirLockedError extends Error {}

export interface DataDirLock {
  readonly file: string;
  release(): void;
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Takes the lock `file` for this process, or throws DataDirLockedError naming the owner. */
export function lockDataDir(file: string, what: string): DataDirLock {
  for (let attempt = 0; ; attempt++) {
    // Written in full under a temporary name, then hard-linked into place: link() fails with EEXIST
    // like O_EXCL, and the lock file is never seen without its pid.
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${process.pid}\n`, { mode: 0o644 });
    try {
      linkSync(tmp, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) throw err;
      const owner = readPid(file);
      if (owner !== undefined && isAlive(owner)) {
        throw new DataDirLockedError(
          `${what} is in use by another shipbridge process (pid ${owner}; lock file ${file}): ` +
            'stop that process first, or give this one another DATA_DIR',
        );
      }
      // Stale: its process is gone.
      try {
        unlinkSync(file);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
      continue;
    } finally {
      unlinkSync(tmp);
    }
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      process.removeListener('exit', release);
      // Only our own lock: never remove one a later process took over.
      if (readPid(file) === process.pid) {
        try {
          unlinkSync(file);
        } catch {}
      }
    };
    process.on('exit', release);
    return { file, release };
  }
}
