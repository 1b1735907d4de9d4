/**
 * A stored notice body as ShipStation (or a host in between) posted it: undoes a form encoding some
 * hosts add and reads the `<ShipNotice>` with the one parser (shipnotice.ts). Pure.
 */
import { parseShipNotice, type ShipNotice } from './shipnotice.js';

export type ParseNoticeResult = { ok: true; notice: ShipNotice } | { ok: false; error: string };

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
  if (parsed.notice === null) return { ok: false, error: 'the body holds no ShipNotice' };
  return { ok: true, notice: parsed.notice };
}
