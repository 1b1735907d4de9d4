import http from 'node:http';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * The load generator: an open-loop driver at a fixed request rate, a closed-loop driver for
 * saturation throughput, and a sampler of the service's memory.
 *
 * Open loop: request i is due at t0 + i / rate whatever happened to the earlier ones, and its
 * latency is measured from that due time. When the bound on in-flight requests is reached, due
 * requests wait in a queue and that wait counts in their latency (a closed-loop generator would
 * silently slow down instead and understate the tail). Keep-alive connections, one per in-flight
 * request at most.
 */

export interface Req {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** A label to split results by (page 1 vs later page…). */
  tag?: string;
}

export interface Res {
  status: number;
  body: Buffer;
}

export class HttpClient {
  readonly agent: http.Agent;
  readonly host: string;
  readonly port: number;

  constructor(baseUrl: string, maxSockets = 64) {
    const u = new URL(baseUrl);
    this.host = u.hostname;
    this.port = Number(u.port || 80);
    this.agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  }

  request(req: Req, timeoutMs = 60_000): Promise<Res> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = { ...(req.headers ?? {}) };
      if (req.body !== undefined) headers['content-length'] = Buffer.byteLength(req.body);
      const r = http.request(
        { host: this.host, port: this.port, method: req.method, path: req.path, headers, agent: this.agent },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
      r.setTimeout(timeoutMs, () => r.destroy(new Error(`timeout after ${timeoutMs} ms`)));
      r.on('error', reject);
      if (req.body !== undefined) r.write(req.body);
      r.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

export const basic = (user: string, pass: string) =>
  `Basic ${Buffer.from(`${user}:${pass}`, 'utf8').toString('base64')}`;

export interface LoadResult {
  /** Requests scheduled (open loop) or sent (closed loop). */
  sent: number;
  completed: number;
  /** Non-2xx answers, failed checks, network errors and timeouts. */
  errors: number;
  /** A few error descriptions (status and body start), for the log. */
  errorSamples: string[];
  statuses: Record<string, number>;
  /** Latency from the due time (open loop) or the send time (closed loop), ms, sorted. */
  latencies: number[];
  /** Wall time from the first due request to the last answer, s. */
  elapsedS: number;
  /** Completed requests per second over the scheduled duration. */
  achievedRps: number;
  /** Requests that had to wait for a free slot (the in-flight bound was reached). */
  queued: number;
  /** Requests given up on at the end of an open-loop run (see OpenLoopOptions.drainMs). */
  abandoned: number;
  /** Sum of `units` the checks reported (orders served, orders created…). */
  units: number;
  byTag: Record<string, number[]>;
}

export const pct = (sorted: number[], p: number): number => {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
};

/** What a check makes of an answer: ok or not, and how many units (orders…) it carried. */
export type Check = (req: Req, res: Res) => { ok: boolean; units?: number };

const defaultCheck: Check = (_req, res) => ({ ok: res.status >= 200 && res.status < 300 });

function newResult(): LoadResult {
  return {
    sent: 0,
    completed: 0,
    errors: 0,
    errorSamples: [],
    statuses: {},
    latencies: [],
    elapsedS: 0,
    achievedRps: 0,
    queued: 0,
    abandoned: 0,
    units: 0,
    byTag: {},
  };
}

function record(r: LoadResult, req: Req, res: Res | undefined, err: unknown, ms: number, check: Check) {
  r.completed += 1;
  let ok = false;
  if (res) {
    r.statuses[res.status] = (r.statuses[res.status] ?? 0) + 1;
    const c = check(req, res);
    ok = c.ok;
    if (ok) r.units += c.units ?? 0;
    if (!ok && r.errorSamples.length < 5) {
      r.errorSamples.push(
        `${req.method} ${req.path.slice(0, 120)} → ${res.status} ${res.body.toString('utf8', 0, 300)}`,
      );
    }
  } else {
    r.statuses['error'] = (r.statuses['error'] ?? 0) + 1;
    if (r.errorSamples.length < 5)
      r.errorSamples.push(`${req.method} ${req.path.slice(0, 120)} → ${String(err)}`);
  }
  if (!ok) r.errors += 1;
  r.latencies.push(ms);
  if (req.tag) {
    const list = r.byTag[req.tag] ?? [];
    list.push(ms);
    r.byTag[req.tag] = list;
  }
}

/** Rates are successes over the scheduled duration, or over the wall time when that was longer. */
function finish(r: LoadResult, started: number, durationS: number) {
  r.elapsedS = (performance.now() - started) / 1000;
  r.latencies.sort((a, b) => a - b);
  for (const v of Object.values(r.byTag)) v.sort((a, b) => a - b);
  r.achievedRps = (r.completed - r.errors) / Math.max(durationS, r.elapsedS);
}

export interface OpenLoopOptions {
  rate: number;
  seconds: number;
  maxInFlight: number;
  make: (i: number) => Req;
  check?: Check;
  /**
   * How long to wait for answers after the last due time, ms (default 5 000). Requests still queued
   * or in flight then are abandoned: counted as errors, with their wait so far as latency (a lower
   * bound), so an overloaded service shows as such without the run lasting for ever.
   */
  drainMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Open loop at a fixed rate for a bounded duration (see the file comment). */
export async function openLoop(client: HttpClient, o: OpenLoopOptions): Promise<LoadResult> {
  const r = newResult();
  const check = o.check ?? defaultCheck;
  const total = Math.max(1, Math.round(o.rate * o.seconds));
  const interval = 1000 / o.rate;
  const queue: { req: Req; due: number }[] = [];
  let inFlight = 0;
  const t0 = performance.now() + 5;
  let outstanding = 0;
  let allDone: () => void = () => {};
  const done = new Promise<void>((res) => {
    allDone = res;
  });

  let closed = false;
  const pending = new Map<Req, number>();
  const sentPromises = new Set<Promise<void>>();
  const launch = (req: Req, due: number) => {
    inFlight += 1;
    pending.set(req, due);
    const p = client.request(req).then(
      (res) => settle(req, res, undefined, due),
      (err) => settle(req, undefined, err, due),
    );
    sentPromises.add(p);
    p.finally(() => sentPromises.delete(p));
  };
  const settle = (req: Req, res: Res | undefined, err: unknown, due: number) => {
    if (closed) return;
    pending.delete(req);
    record(r, req, res, err, performance.now() - due, check);
    inFlight -= 1;
    outstanding -= 1;
    const next = queue.shift();
    if (next) launch(next.req, next.due);
    if (outstanding === 0 && r.sent === total) allDone();
  };

  for (let i = 0; i < total; i++) {
    const due = t0 + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait - 0.5);
    const req = o.make(i);
    r.sent += 1;
    outstanding += 1;
    if (inFlight < o.maxInFlight) launch(req, due);
    else {
      r.queued += 1;
      queue.push({ req, due });
    }
  }
  if (outstanding > 0) {
    await Promise.race([done, sleep(o.drainMs ?? 5_000)]);
  }
  closed = true;
  const now = performance.now();
  for (const [req, due] of [...pending, ...queue.map((x) => [x.req, x.due] as const)]) {
    r.abandoned += 1;
    record(r, req, undefined, 'abandoned: no answer by the end of the drain time', now - due, check);
  }
  finish(r, t0, o.seconds);
  // Requests already sent are still being served: let them finish (unrecorded) so the next step
  // (a restore, another scenario) does not overlap them.
  await Promise.race([Promise.allSettled([...sentPromises]), sleep(120_000)]);
  return r;
}

export interface ClosedLoopOptions {
  concurrency: number;
  seconds: number;
  /** Worker w's next request; undefined ends that worker. */
  make: (i: number, worker: number) => Req | undefined;
  check?: Check;
}

/** Closed loop: `concurrency` workers, each sending its next request when the previous is answered. */
export async function closedLoop(client: HttpClient, o: ClosedLoopOptions): Promise<LoadResult> {
  const r = newResult();
  const check = o.check ?? defaultCheck;
  const started = performance.now();
  const end = started + o.seconds * 1000;
  let i = 0;
  const worker = async (w: number) => {
    while (performance.now() < end) {
      const req = o.make(i++, w);
      if (!req) return;
      r.sent += 1;
      const t = performance.now();
      try {
        const res = await client.request(req);
        record(r, req, res, undefined, performance.now() - t, check);
      } catch (err) {
        record(r, req, undefined, err, performance.now() - t, check);
      }
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, (_, w) => worker(w)));
  finish(r, started, (performance.now() - started) / 1000);
  return r;
}

/** Samples a process's resident memory (VmRSS) every `everyMs`, and reads its high-water mark. */
export class RssSampler {
  #timer: NodeJS.Timeout | undefined;
  #peak = 0;

  constructor(
    readonly pid: number,
    readonly everyMs = 50,
  ) {}

  static read(pid: number): { rssMb: number; hwmMb: number } {
    try {
      const s = readFileSync(`/proc/${pid}/status`, 'utf8');
      const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? 0);
      return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
    } catch {
      return { rssMb: 0, hwmMb: 0 };
    }
  }

  /** Starts a new window; peak() then answers the highest RSS seen since. */
  start(): this {
    this.stop();
    this.#peak = RssSampler.read(this.pid).rssMb;
    this.#timer = setInterval(() => {
      const v = RssSampler.read(this.pid).rssMb;
      if (v > this.#peak) this.#peak = v;
    }, this.everyMs);
    this.#timer.unref();
    return this;
  }

  peak(): number {
    const v = RssSampler.read(this.pid).rssMb;
    if (v > this.#peak) this.#peak = v;
    return this.#peak;
  }

  stop(): number {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    return this.peak();
  }
}

/**
 * CPU time (ms) of the service process, of this generator, and of the rest of the machine: on the
 * bench machine that is PostgreSQL (its backends, WAL writer, autovacuum workers that come and go).
 */
export interface CpuTimes {
  serviceMs: number;
  postgresMs: number;
  generatorMs: number;
}

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime + stime of one process, in ms (0 when it is gone). */
function processCpuMs(pid: number | string): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
  } catch {
    return 0;
  }
}

/** Busy CPU time of the whole machine (all cores), in ms, from /proc/stat. */
function machineBusyMs(): number {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal …: busy is all but idle and iowait.
    const busy = f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + (f[7] ?? 0);
    return (busy * 1000) / CLK_TCK;
  } catch {
    return 0;
  }
}

/**
 * CPU used over a window by the service, PostgreSQL and the generator: divided by the requests
 * answered it is the CPU cost of one request, and 2 cores ÷ that cost is the highest rate this
 * machine could sustain with the three sharing it (the bound a missed throughput target meets).
 * PostgreSQL's share is the machine's busy time less the service's and the generator's: per-process
 * counters would lose the processes that exit inside the window (autovacuum and parallel workers).
 */
export class CpuMeter {
  constructor(readonly servicePid: number) {}

  static now(servicePid: number): CpuTimes {
    const g = process.cpuUsage();
    const serviceMs = processCpuMs(servicePid);
    const generatorMs = (g.user + g.system) / 1000;
    return { serviceMs, generatorMs, postgresMs: machineBusyMs() - serviceMs - generatorMs };
  }

  /** Starts a window; the function it answers ends it and answers the CPU used since. */
  start(): () => CpuTimes {
    const a = CpuMeter.now(this.servicePid);
    return () => {
      const b = CpuMeter.now(this.servicePid);
      return {
        serviceMs: b.serviceMs - a.serviceMs,
        postgresMs: b.postgresMs - a.postgresMs,
        generatorMs: b.generatorMs - a.generatorMs,
      };
    };
  }
}
