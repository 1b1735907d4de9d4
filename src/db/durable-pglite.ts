import { fsyncSync } from 'node:fs';

/**
 * Durable commits for the embedded PGlite on a folder.
 *
 * PGlite 0.5 as shipped is not durable against a power loss or an OS crash, for three reasons that
 * all have to be undone:
 * 1. its default start parameters include `-F` (fsync = off), so PostgreSQL never asks for a flush;
 * 2. with fsync on, PostgreSQL flushes the WAL with fdatasync(), which Emscripten implements as a
 *    no-op; `wal_sync_method = fsync` makes it call fsync() instead (open_sync/open_datasync would
 *    need O_SYNC/O_DSYNC, which Emscripten's Node filesystem refuses);
 * 3. Emscripten turns fsync() into its file system's `stream_ops.fsync`, which the Node filesystem
 *    (NODEFS) does not have: the call succeeds and does nothing. We give it one that calls the real
 *    fsync(2) on the host file descriptor.
 * Writes themselves go straight to the host file (writeSync), so a killed process (kill -9, OOM)
 * never lost a committed write; what the flush adds is surviving a power loss or kernel crash.
 * `relaxedDurability` is not involved: it only decides whether PGlite awaits its own syncToFs(),
 * which copies nothing for a Node folder.
 *
 * With these, a commit returns only after its WAL is fsync'ed (synchronous_commit stays on), and
 * checkpoints fsync data files and directories, as PostgreSQL does on a server.
 */

/** How many host fsync calls the embedded database made (the durability test reads it). */
export const hostSyncs = { count: 0 };

interface StreamWithFd {
  nfd?: number;
}

/** The start parameters: PGlite's own, fsync back on, WAL flushed with fsync(). */
export function durableStartParams(defaults: readonly string[]): string[] {
  return [...defaults.filter((p) => p !== '-F'), '-c', 'fsync=on', '-c', 'wal_sync_method=fsync'];
}

/** An Emscripten preRun hook that gives NODEFS a real fsync. */
export function installHostFsync(mod: { NODEFS: unknown }): void {
  const nodefs = mod.NODEFS as { stream_ops: Record<string, unknown> };
  nodefs.stream_ops['fsync'] = (stream: StreamWithFd) => {
    if (stream.nfd !== undefined) {
      fsyncSync(stream.nfd);
      hostSyncs.count++;
    }
    return 0;
  };
}

/** PGlite options for a durable database in `dir` (pass `PGlite.defaultStartParams`). */
export async function durableOptions(dir: string, defaults: readonly string[]) {
  const { NodeFS } = await import('@electric-sql/pglite/nodefs');
  class DurableNodeFS extends NodeFS {
    override async init(...args: Parameters<InstanceType<typeof NodeFS>['init']>) {
      const r = await super.init(args[0], args[1]);
      const preRun = r.emscriptenOpts.preRun ?? [];
      r.emscriptenOpts.preRun = [...preRun, (mod: { NODEFS: unknown }) => installHostFsync(mod)];
      return r;
    }
  }
  return { fs: new DurableNodeFS(dir), startParams: durableStartParams(defaults) };
}
