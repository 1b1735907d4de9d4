/**
 * ShipStation's API (v1) dates carry no offset and are Pacific time. Pure: no I/O.
 */
import { DateTime } from 'luxon';

export const SHIPSTATION_ZONE = 'America/Los_Angeles';

const LOCAL = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?)?$/;

/**
 * The instant of a ShipStation date (`2026-11-01T01:30:00.0000000`). A wall-clock time the autumn
 * change makes ambiguous takes the earlier instant; one the spring change skips is read with the
 * offset before the change. Null when it is not such a date.
 */
export function readPacific(value: string): Date | null {
  const m = LOCAL.exec(value.trim());
  if (!m) return null;
  const [, y, mo, d, h = '00', mi = '00', s = '00', frac = ''] = m;
  const ms = Number(frac.padEnd(3, '0').slice(0, 3));
  const parts = {
    year: Number(y),
    month: Number(mo),
    day: Number(d),
    hour: Number(h),
    minute: Number(mi),
    second: Number(s),
    millisecond: ms,
  };
  // Pacific is UTC−8 (standard) or UTC−7 (daylight): the instants that read back as this wall time.
  const candidates: number[] = [];
  for (const offset of [-7, -8]) {
    const dt = DateTime.fromObject(parts, { zone: `UTC${offset}` });
    if (!dt.isValid) return null;
    const back = dt.setZone(SHIPSTATION_ZONE);
    if (
      back.year === parts.year &&
      back.month === parts.month &&
      back.day === parts.day &&
      back.hour === parts.hour &&
      back.minute === parts.minute
    )
      candidates.push(dt.toMillis());
  }
  if (candidates.length > 0) return new Date(Math.min(...candidates));
  // Skipped by the spring change: the offset in force just before it (standard time).
  const standard = DateTime.fromObject(parts, { zone: 'UTC-8' });
  return standard.isValid ? new Date(standard.toMillis()) : null;
}

/** A filter date as ShipStation reads it (`2026-11-22 10:15:00`, Pacific); seconds are its finest unit. */
export function formatPacific(instant: Date): string {
  return DateTime.fromJSDate(instant).setZone(SHIPSTATION_ZONE).toFormat('yyyy-MM-dd HH:mm:ss');
}
