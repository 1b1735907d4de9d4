import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { merchantOf } from '../accounts/auth.js';
import type { AppContext } from '../context.js';
import type { Store } from '../db/schema.js';
import { codeSchema, idParam, timestamp } from '../http/common.js';
import { commonErrorResponses, notFound } from '../http/errors.js';
import { shipstationUrl } from '../stores/public-url.js';
import { formatShipStationDate } from './dates.js';
import { createSnapshot, pagesOf, readPage, renderPage, type Window, windowOf } from './export.js';
import { validateOrdersDocuments } from './xsd-validate.js';

/** At most this many schema errors are reported (the first ones say enough). */
const MAX_ERRORS = 50;
/** Pages rendered and validated together. */
const VALIDATION_BATCH = 10;

const testResultSchema = z
  .object({
    orders: z.number().int().describe('orders in the window, every status'),
    pages: z.number().int(),
    page_size: z.number().int(),
    window: z.object({
      start: timestamp.describe('inclusive, lookback applied'),
      end: timestamp.describe('exclusive: the first instant after the end minute'),
    }),
    schema_valid: z.boolean().describe("every page validates against ShipStation's order schema"),
    errors: z.array(z.string()).describe('schema errors as "page N: line L: message"'),
    warnings: z
      .array(z.string())
      .describe(
        'why ShipStation may not reach this service (the store URL names a local or private address)',
      ),
  })
  .meta({ id: 'StoreTestResult' });

export type StoreTestResult = Omit<z.infer<typeof testResultSchema>, 'warnings'>;

class Rollback extends Error {
  constructor(readonly result: StoreTestResult) {
    super('rollback');
  }
}

/**
 * Runs the export of the last 24 hours exactly as ShipStation would ask for it (the same window
 * parsing, snapshot query, page query and renderer, every page), validates every page against the
 * schema, and changes nothing: it runs in a transaction that is always rolled back — no pinning, no
 * at_wms, no snapshot rows, no export log or health update.
 */
export async function testStoreExport(
  ctx: AppContext,
  store: Store,
  now = new Date(),
): Promise<StoreTestResult> {
  const end = formatShipStationDate(now, store.timezone);
  const start = formatShipStationDate(new Date(now.getTime() - 24 * 3_600_000), store.timezone);
  const w: Window = windowOf(store, { start_date: start, end_date: end });
  try {
    await ctx.db.transaction().execute(async (trx) => {
      const snap = await createSnapshot(trx, store, w, ctx.config.exportSnapshotTtlMinutes);
      const pages = pagesOf(snap.total, store.page_size);
      const errors: string[] = [];
      let valid = true;
      const last = Math.max(pages, 1);
      // Pages are validated in batches: one xmllint run per batch, memory bounded by the batch.
      for (let first = 1; first <= last; first += VALIDATION_BATCH) {
        const docs: string[] = [];
        for (let page = first; page <= Math.min(last, first + VALIDATION_BATCH - 1); page++) {
          const rows = page <= pages ? await readPage(trx, store, snap.id, page) : [];
          docs.push(renderPage(store, rows, pages));
        }
        const checks = await validateOrdersDocuments(docs);
        checks.forEach((check, i) => {
          if (check.valid) return;
          valid = false;
          for (const e of check.errors)
            if (errors.length < MAX_ERRORS) errors.push(`page ${first + i}: ${e}`);
        });
      }
      throw new Rollback({
        orders: snap.total,
        pages,
        page_size: store.page_size,
        window: { start: w.start, end: w.end },
        schema_valid: valid,
        errors,
      });
    });
  } catch (e) {
    if (e instanceof Rollback) return e.result;
    throw e;
  }
  throw new Error('unreachable: the test transaction always rolls back');
}

/** POST /v1/merchants/{merchant}/stores/{store}/test. */
export function storeTestRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  return async (app) => {
    app.post(
      '/merchants/:merchant/stores/:store/test',
      {
        schema: {
          tags: ['stores'],
          summary:
            'Test a store connection: the last 24 hours exported as ShipStation would, changing nothing',
          description:
            'Runs the export of the last 24 hours (every page, the same queries and renderer as ShipStation ' +
            'gets) and validates each page against the published order schema. Nothing is pinned, no status ' +
            'changes, nothing is logged.',
          params: z.object({ merchant: codeSchema, store: idParam }),
          response: {
            200: testResultSchema.describe(
              'What ShipStation would get for the last 24 hours, and whether every page is valid',
            ),
            ...commonErrorResponses,
          },
        },
      },
      async (req) => {
        const m = merchantOf(req);
        const store = await ctx.db
          .selectFrom('stores')
          .selectAll()
          .where('merchant_id', '=', m.id)
          .where('id', '=', req.params.store)
          .executeTakeFirst();
        if (!store) throw notFound(`store ${req.params.store} of merchant ${m.code}`);
        req.logContext = { ...(req.logContext ?? {}), store: store.id, merchant: m.id };
        const result = await testStoreExport(ctx, store);
        return { ...result, warnings: shipstationUrl(ctx.config, req).warnings };
      },
    );
  };
}
