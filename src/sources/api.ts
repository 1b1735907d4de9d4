/**
 * Calls to ShipStation's API (v1) for one source: Basic auth with the key pair, a time limit on
 * every call, pacing by the key pair's budget (pacing.ts), 429 waited out when the wait is short.
 * Never logs or answers the secret. No database transaction is open during a call.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.js';
import { recordBudget, takeCall } from './pacing.js';

export const CALL_TIMEOUT_MS = 30_000;

export interface ApiAccount {
  apiKey: string;
  apiSecret: string;
  keyPair: string;
}

export type ApiFailureKind =
  | 'unauthorized'
  | 'rate_limited'
  | 'server'
  | 'timeout'
  | 'network'
  | 'bad_answer';

/** A call that did not succeed: what went wrong, and when to try again when ShipStation said. */
export class ApiFailure extends Error {
  override name = 'ApiFailure';
  constructor(
    readonly kind: ApiFailureKind,
    message: string,
    readonly status: number | null = null,
    readonly retryAt: Date | null = null,
  ) {
    super(message);
  }
}

export interface ApiOptions {
  baseUrl: string;
  db: Kysely<DB>;
  clock: () => Date;
  signal?: AbortSignal | undefined;
  timeoutMs?: number;
  /** Waits for the budget (or a 429's reset) up to this long inside a call; longer waits fail with retryAt. */
  maxWaitMs?: number;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason ?? new Error('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

export class ShipStationApi {
  readonly #o: ApiOptions;
  readonly #account: ApiAccount;

  constructor(account: ApiAccount, opts: ApiOptions) {
    this.#account = account;
    this.#o = opts;
  }

  get<T>(path: string, query: Record<string, string | number | undefined> = {}): Promise<T> {
    const url = new URL(this.#o.baseUrl + path);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    return this.#call<T>('GET', url, undefined);
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.#call<T>('POST', new URL(this.#o.baseUrl + path), JSON.stringify(body));
  }

  async #call<T>(method: string, url: URL, body: string | undefined): Promise<T> {
    const maxWait = this.#o.maxWaitMs ?? 15_000;
    for (let attempt = 1; ; attempt++) {
      await this.#pace(maxWait);
      const res = await this.#fetch(method, url, body);
      const now = this.#o.clock();
      const remaining = Number(res.headers.get('x-rate-limit-remaining'));
      const reset = Number(res.headers.get('x-rate-limit-reset'));
      if (res.headers.has('x-rate-limit-remaining') && Number.isFinite(remaining) && Number.isFinite(reset))
        await recordBudget(this.#o.db, this.#account.keyPair, remaining, reset, now);
      if (res.ok) {
        try {
          return (await res.json()) as T;
        } catch {
          throw new ApiFailure(
            'bad_answer',
            `ShipStation answered ${url.pathname} with something not JSON`,
            res.status,
          );
        }
      }
      await res.body?.cancel().catch(() => {});
      if (res.status === 401)
        throw new ApiFailure('unauthorized', 'ShipStation refused the API key pair (401)', 401);
      if (res.status === 429) {
        const after = Number(res.headers.get('retry-after') ?? res.headers.get('x-rate-limit-reset') ?? 60);
        const until = new Date(now.getTime() + (Number.isFinite(after) ? after : 60) * 1000);
        // Nothing left until the window ends: no other call of this key pair goes before then.
        await recordBudget(
          this.#o.db,
          this.#account.keyPair,
          0,
          Math.max(1, (until.getTime() - now.getTime()) / 1000),
          now,
        );
        if (attempt < 3 && until.getTime() - now.getTime() <= maxWait) continue;
        throw new ApiFailure('rate_limited', 'ShipStation answered 429 (too many calls)', 429, until);
      }
      if (res.status >= 500) throw new ApiFailure('server', `ShipStation answered ${res.status}`, res.status);
      throw new ApiFailure(
        'bad_answer',
        `ShipStation answered ${res.status} to ${method} ${url.pathname}`,
        res.status,
      );
    }
  }

  async #pace(maxWait: number): Promise<void> {
    for (;;) {
      const now = this.#o.clock();
      const take = await takeCall(this.#o.db, this.#account.keyPair, now);
      if (take.ok) return;
      const wait = take.until.getTime() - now.getTime();
      if (wait > maxWait)
        throw new ApiFailure(
          'rate_limited',
          "the key pair's call budget is spent until its window ends",
          null,
          take.until,
        );
      await sleep(Math.max(wait, 10), this.#o.signal);
    }
  }

  async #fetch(method: string, url: URL, body: string | undefined): Promise<Response> {
    const timeoutMs = this.#o.timeoutMs ?? CALL_TIMEOUT_MS;
    const signals = [AbortSignal.timeout(timeoutMs)];
    if (this.#o.signal) signals.push(this.#o.signal);
    const auth = Buffer.from(`${this.#account.apiKey}:${this.#account.apiSecret}`).toString('base64');
    try {
      return await fetch(url, {
        method,
        headers: {
          authorization: `Basic ${auth}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          'user-agent': 'shipbridge-sources/1',
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.any(signals),
      });
    } catch (err) {
      if (this.#o.signal?.aborted) throw this.#o.signal.reason ?? err;
      const e = err as Error;
      if (e.name === 'TimeoutError' || e.name === 'AbortError')
        throw new ApiFailure('timeout', `ShipStation gave no answer within ${timeoutMs / 1000} s`);
      throw new ApiFailure(
        'network',
        `could not reach ShipStation: ${(e.cause as Error | undefined)?.message ?? e.message}`,
      );
    }
  }
}
