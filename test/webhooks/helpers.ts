import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { createJobRunner } from '../../src/background.js';
import { dispatchEvents } from '../../src/webhooks/delivery.js';
import type { JobRunner } from '../../src/jobs/runner.js';
import { SecretHasher } from '../../src/lib/secrets.js';
import { buildTestApp, seedAccounts, TEST_SECRET_KEY } from '../helpers/app.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  json: {
    id: string;
    type: string;
    created_at: string;
    merchant: string | null;
    sequence: number;
    data: Record<string, unknown> | null;
  };
}

export interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** Never answer (the request hangs until the client gives up). */
  hang?: boolean;
  /** Answer after this long; `onSent` runs when the answer is sent. */
  delayMs?: number;
  onSent?: () => void;
}

/** A webhook receiver on 127.0.0.1, started by the test: records every request, answers as told. */
export async function startReceiver(t: Teardown) {
  const received: Received[] = [];
  let answer: (r: Received) => Answer = () => ({ status: 204 });
  const hanging = new Set<import('node:http').ServerResponse>();
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      const r: Received = { headers: req.headers, body, json: JSON.parse(body) };
      received.push(r);
      const a = answer(r);
      if (a.hang) {
        hanging.add(res);
        return;
      }
      const send = () => {
        res.writeHead(a.status, a.headers ?? {});
        res.end(a.body ?? '');
        a.onSent?.();
      };
      if (a.delayMs) setTimeout(send, a.delayMs);
      else send();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(
    () =>
      new Promise<void>((r) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    answerWith(fn: (r: Received) => Answer) {
      answer = fn;
    },
  };
}

/** A clock the test moves by hand. */
export function manualClock(start = Date.now()) {
  let now = start;
  return {
    now: () => new Date(now),
    advance(ms: number) {
      now += ms;
    },
  };
}

/** The app (private webhook targets allowed), accounts, a receiver and a runner on a manual clock. */
export async function setupWebhooks(t: Teardown) {
  const ta = await buildTestApp(t, { WEBHOOK_ALLOW_PRIVATE: 'true' });
  const accounts = await seedAccounts(ta.app, `wh${process.pid % 10000}`);
  const receiver = await startReceiver(t);
  const clock = manualClock();
  const runner = makeRunner(ta.db.db, clock.now);
  return { ...ta, ...accounts, receiver, clock, runner };
}

export function makeRunner(
  db: Parameters<typeof createJobRunner>[0],
  clock: () => Date,
  opts: { owner?: string; leaseMs?: number; concurrency?: number } = {},
): JobRunner {
  return createJobRunner(
    db,
    { webhookAllowPrivate: true },
    new SecretHasher(TEST_SECRET_KEY).box,
    undefined,
    {
      clock,
      ...opts,
    },
  );
}

export async function createWebhook(
  app: FastifyInstance,
  who: { code: string; auth: { authorization: string } },
  url: string,
  events: string[],
  scope: 'merchants' | 'warehouses' = 'merchants',
): Promise<{ id: number; secret: string }> {
  const r = await app.inject({
    method: 'POST',
    url: `/v1/${scope}/${who.code}/webhooks`,
    headers: who.auth,
    payload: { url, events },
  });
  if (r.statusCode !== 201) throw new Error(`webhook: ${r.statusCode} ${r.body}`);
  return { id: r.json().webhook.id, secret: r.json().secret };
}

export type Setup = Awaited<ReturnType<typeof setupWebhooks>>;

/** Dispatches the outbox and runs every job due at the test clock's time. */
export async function pump(s: Setup) {
  await dispatchEvents(s.db.db, s.clock.now());
  return s.runner.runDue();
}

export async function deliveries(s: Setup, who: Setup['merchant'], webhookId: number) {
  const r = await s.app.inject({
    method: 'GET',
    url: `/v1/merchants/${who.code}/webhooks/${webhookId}/deliveries`,
    headers: who.auth,
  });
  if (r.statusCode !== 200) throw new Error(r.body);
  return r.json().deliveries as {
    id: number;
    status: string;
    attempts: number;
    next_attempt_at: string | null;
    last_status_code: number | null;
    attempt_log: { status_code: number | null; response_body: string | null }[];
  }[];
}
