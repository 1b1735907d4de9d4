/**
 * Adapter between a stored notice body and the shipment code: undoes a form encoding some hosts
 * add, reads the `<ShipNotice>` with the shared parser (shipstation/shipnotice.ts) and keeps the
 * fields shipments need. Pure.
 */
import type { NoticeItem } from '../shipstation/notice-matching.js';
import { parseShipNotice } from '../shipstation/shipnotice.js';

export interface ParsedNoticeBody {
  orderId: string | null;
  orderNumber: string | null;
  notifyCustomer: boolean | null;
  labelCreateDate: Date | null;
  /** 'YYYY-MM-DD' */
  shipDate: string | null;
  carrier: string | null;
  service: string | null;
  trackingNumber: string | null;
  /** Two-decimal money string. */
  shippingCost: string | null;
  /** null when the notice has no Items element (ship everything). */
  items: NoticeItem[] | null;
}

export type ParseNoticeResult = { ok: true; notice: ParsedNoticeBody } | { ok: false; error: string };

/** Some hosts post the XML form-encoded (`xml=%3CShipNotice…` or the bare encoded document). */
export function xmlOf(body: string, contentType: string | null): string {
  const trimmed = body.trim();
  if (trimmed.startsWith('<')) return trimmed;
  if (contentType && /application\/x-www-form-urlencoded/i.test(contentType)) {
    try {
      const decoded = decodeURIComponent(trimmed.replace(/\+/g, ' '));
      if (decoded.trim().startsWith('<')) return decoded.trim();
      const eq = decoded.indexOf('=');
      if (
        eq >= 0 &&
        decoded
          .slice(eq + 1)
          .trim()
          .startsWith('<')
      )
        return decoded.slice(eq + 1).trim();
    } catch {
      // not form-encoded after all
    }
  }
  return trimmed;
}

/** Reads a non-empty notice body: the shared ShipNotice parser, after undoing a form encoding. */
export function parseNoticeBody(body: string, contentType: string | null, zone = 'UTC'): ParseNoticeResult {
  const parsed = parseShipNotice(xmlOf(body, contentType), zone);
  if (!parsed.ok) return { ok: false, error: parsed.error };
  const n = parsed.notice;
  if (n === null) return { ok: false, error: 'the body holds no ShipNotice' };
  return {
    ok: true,
    notice: {
      orderId: n.orderId,
      orderNumber: n.orderNumber,
      notifyCustomer: n.notifyCustomer,
      labelCreateDate: n.labelCreateDate,
      shipDate: n.shipDate,
      carrier: n.carrier,
      service: n.service,
      trackingNumber: n.trackingNumber,
      shippingCost: n.shippingCost,
      items: n.items === null ? null : n.items.map((i) => ({ ...i })),
    },
  };
}
