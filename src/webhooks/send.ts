/**
 * One outbound POST of a delivery: no redirects followed, 10 s for the whole exchange, the answer
 * body read up to a small limit (kept for the delivery log), the SSRF guard on every connection.
 */
import http from 'node:http';
import https from 'node:https';
import { assertLiteralAllowed, guardedLookup } from './ssrf.js';

export const DELIVERY_TIMEOUT_MS = 10_000;
export const ANSWER_BODY_LIMIT = 2048;

export interface SendResult {
  /** The answer's status, or null when none came (refused, timeout, network error). */
  status: number | null;
  body: string | null;
  error: string | null;
  durationMs: number;
  /** Retry-After as an instant, when the answer carried one. */
  retryAfter: Date | null;
}

export interface SendOptions {
  allowPrivate: boolean;
  timeoutMs?: number;
  signal?: AbortSignal | undefined;
  now: () => Date;
}

export async function sendWebhook(
  url: string,
  headers: Record<string, string>,
  body: string,
  opts: SendOptions,
): Promise<SendResult> {
  const started = performance.now();
  const done = (r: Omit<SendResult, 'durationMs'>): SendResult => ({
    ...r,
    durationMs: Math.round(performance.now() - started),
  });
  let target: URL;
  try {
    target = new URL(url);
    if (target.protocol !== 'https:' && !(opts.allowPrivate && target.protocol === 'http:'))
      throw new Error('the URL must use https');
    if (!opts.allowPrivate) assertLiteralAllowed(target.hostname);
  } catch (err) {
    return done({ status: null, body: null, error: (err as Error).message, retryAfter: null });
  }
  const client = target.protocol === 'https:' ? https : http;
  return new Promise<SendResult>((resolve) => {
    let settled = false;
    const finish = (r: Omit<SendResult, 'durationMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      resolve(done(r));
    };
    const req = client.request(
      target,
      {
        method: 'POST',
        headers: {
          ...headers,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'user-agent': 'shipbridge-webhooks/1',
        },
        ...(opts.allowPrivate ? {} : { lookup: guardedLookup }),
        // A fresh connection per attempt: the address check happens on every connection.
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          if (size < ANSWER_BODY_LIMIT) chunks.push(c.subarray(0, ANSWER_BODY_LIMIT - size));
          size += c.length;
          // Enough read: the rest of a large answer is not worth waiting for.
          if (size >= ANSWER_BODY_LIMIT) res.destroy();
        });
        const end = () =>
          finish({
            status: res.statusCode ?? null,
            body: Buffer.concat(chunks).toString('utf8'),
            error: null,
            retryAfter: parseRetryAfter(res.headers['retry-after'], opts.now()),
          });
        res.on('end', end);
        res.on('close', end);
        res.on('error', end);
      },
    );
    const timeoutMs = opts.timeoutMs ?? DELIVERY_TIMEOUT_MS;
    const timer = setTimeout(() => {
      req.destroy();
      finish({ status: null, body: null, error: `no answer within ${timeoutMs / 1000} s`, retryAfter: null });
    }, timeoutMs);
    const onAbort = () => {
      req.destroy();
      finish({ status: null, body: null, error: 'aborted', retryAfter: null });
    };
    opts.signal?.addEventListener('abort', onAbort);
    req.on('error', (err) => finish({ status: null, body: null, error: err.message, retryAfter: null }));
    req.end(body);
  });
}

/** Retry-After in seconds or as an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: Date): Date | null {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return new Date(now.getTime() + Number(value.trim()) * 1000);
  const t = Date.parse(value);
  return Number.isNaN(t) ? null : new Date(t);
}
