/** Retry schedules: pure, no I/O. */
import type { Job, Settlement } from './queue.js';

/**
 * After a failed attempt: again after the schedule's next delay (or at `notBefore` when later, e.g.
 * a Retry-After), or failed for good once every attempt is spent.
 */
export function retrySettlement(
  job: Pick<Job, 'attempts' | 'max_attempts'>,
  delaysMs: readonly number[],
  now: Date,
  error: string,
  notBefore?: Date,
): Settlement {
  if (job.attempts >= job.max_attempts || job.attempts > delaysMs.length) return { kind: 'failed', error };
  const delay = delaysMs[job.attempts - 1] ?? delaysMs[delaysMs.length - 1] ?? 0;
  let at = now.getTime() + delay;
  if (notBefore && notBefore.getTime() > at) at = notBefore.getTime();
  return { kind: 'again', at: new Date(at), error };
}

const S = 1_000;
const M = 60 * S;
const H = 60 * M;

/**
 * How often background work of a disabled merchant (webhook deliveries, source pulls and tracking
 * back) looks again whether the merchant was enabled: put off, never failed, so it resumes by itself.
 */
export const MERCHANT_PAUSED_RECHECK_MS = M;

/** The default for background work that does not say: 5 s, 30 s, 2 min, 10 min, 1 h. */
export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [5 * S, 30 * S, 2 * M, 10 * M, H];

/** Webhook deliveries: about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (8 attempts over ~27.6 h). */
export const WEBHOOK_RETRY_DELAYS_MS: readonly number[] = [
  5 * S,
  5 * M,
  30 * M,
  2 * H,
  5 * H,
  10 * H,
  10 * H,
];
