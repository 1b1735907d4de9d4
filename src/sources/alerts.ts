/** Alerts of source connections: each names its source (and ShipStation's order) in its data. */
import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.js';
import type { SourceAlertKind } from './model.js';

export interface SourceAlert {
  kind: SourceAlertKind;
  message: string;
  orderId?: number | null;
  data?: Record<string, unknown>;
}

export async function raiseAlerts(
  db: Kysely<DB>,
  merchantId: number,
  sourceId: number,
  alerts: readonly SourceAlert[],
): Promise<void> {
  if (alerts.length === 0) return;
  await db
    .insertInto('alerts')
    .values(
      alerts.map((a) => ({
        merchant_id: merchantId,
        kind: a.kind,
        message: a.message,
        order_id: a.orderId ?? null,
        data: JSON.stringify({ source_id: sourceId, ...a.data }),
      })),
    )
    .execute();
}
