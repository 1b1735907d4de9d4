import type { AppContext } from '../context.js';
import type { Store } from '../db/schema.js';

export interface ShipNotifyRequest {
  /** The query string parameters, credentials already removed. */
  query: Record<string, string>;
  /** The raw body, whatever the content type ('' when none). */
  body: string;
  contentType: string | null;
}

export interface ShipNotifyResult {
  /** 200 when the notice was applied (or was a repeat), 404 when unmatched, 400 when unreadable. */
  status: number;
  /** A short human-readable message; the routes wrap it in XML. */
  message: string;
  noticeId: number | undefined;
}

/**
 * Stores the raw notice, then matches and applies it (§5). PLACEHOLDER until the shipment-notice
 * work lands.
 */
export async function handleShipNotify(
  _ctx: AppContext,
  _store: Store,
  _req: ShipNotifyRequest,
): Promise<ShipNotifyResult> {
  return { status: 501, message: 'shipment notices are not implemented yet', noticeId: undefined };
}
