/**
 * ShipStation date handling (pure, no I/O).
 *
 * ShipStation speaks `MM/dd/yyyy HH:mm` wall-clock times, UTC unless the store sets an IANA zone.
 * We parse leniently (its own samples are inconsistent) and always emit the strict form.
 *
 * Local → instant resolution (the only tricky part). A local wall-clock time can map to:
 * - one instant (normal);
 * - two instants (the repeated hour when clocks go back): `earliest` or `latest` is chosen by the
 *   caller — the export window takes the earliest for its start and the latest for its end, so the
 *   window always covers every instant the local text could mean;
 * - no instant (the skipped hour when clocks go forward): the time is mapped to the transition
 *   instant itself, the first instant after the gap (02:30 in New York on a spring-forward day →
 *   03:00 EDT). For a window start this is exactly "the earliest instant at or after the local
 *   time"; for an exclusive window end it is exactly "the first instant after every local time
 *   ≤ the given one".
 */
import { DateTime, IANAZone } from 'luxon';

const MINUTE = 60_000;
const DAY = 86_400_000;

export interface LocalDateTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const zoneCache = new Map<string, IANAZone>();

/** The luxon zone for an IANA name; throws a RangeError for an unknown zone (a configuration bug). */
export function zoneOf(name: string): IANAZone {
  let zone = zoneCache.get(name);
  if (!zone) {
    zone = IANAZone.create(name);
    if (!zone.isValid) throw new RangeError(`unknown time zone: ${name}`);
    zoneCache.set(name, zone);
  }
  return zone;
}

/** True when `name` is an IANA zone luxon (and so Intl) knows. */
export function isValidZone(name: string): boolean {
  return IANAZone.isValidZone(name);
}

const isUtc = (zone: string): boolean => zone === 'UTC' || zone === 'Etc/UTC';

/** Offset of `zone` from UTC at instant `ts`, in minutes. */
function offsetAt(zone: string, ts: number): number {
  return isUtc(zone) ? 0 : zoneOf(zone).offset(ts);
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function validLocal(l: LocalDateTime): boolean {
  return (
    l.year >= 1 &&
    l.year <= 9999 &&
    l.month >= 1 &&
    l.month <= 12 &&
    l.day >= 1 &&
    l.day <= daysInMonth(l.year, l.month) &&
    l.hour >= 0 &&
    l.hour <= 23 &&
    l.minute >= 0 &&
    l.minute <= 59 &&
    l.second >= 0 &&
    l.second <= 59
  );
}

/** Wall-clock fields read as if they were UTC, in ms (the "local timestamp"). */
function localMs(l: LocalDateTime): number {
  const d = new Date(0);
  d.setUTCFullYear(l.year, l.month - 1, l.day);
  d.setUTCHours(l.hour, l.minute, l.second, 0);
  return d.getTime();
}

/**
 * Every instant whose wall-clock time in `zone` is the local timestamp `local` (0, 1 or 2 of them),
 * ascending. Zone transitions are assumed at least two days apart (true of every real zone).
 */
function instantsFor(local: number, zone: string): number[] {
  if (isUtc(zone)) return [local];
  const offsets = new Set([offsetAt(zone, local - DAY), offsetAt(zone, local), offsetAt(zone, local + DAY)]);
  const found: number[] = [];
  for (const o of offsets) {
    const t = local - o * MINUTE;
    if (offsetAt(zone, t) === o && !found.includes(t)) found.push(t);
  }
  return found.sort((a, b) => a - b);
}

/** The first instant at which the zone's offset differs from its offset at `before` (≤ `after`). */
function transitionBetween(zone: string, before: number, after: number): number {
  const o = offsetAt(zone, before);
  let lo = before;
  let hi = after;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (offsetAt(zone, mid) === o) lo = mid;
    else hi = mid;
  }
  return hi;
}

/**
 * The instant for a local wall-clock time in `zone`. Ambiguous → `earliest` or `latest` as asked;
 * nonexistent (in a gap) → the transition instant that ends the gap.
 */
export function resolveLocal(l: LocalDateTime, zone: string, pick: 'earliest' | 'latest'): Date {
  const local = localMs(l);
  const found = instantsFor(local, zone);
  if (found.length > 0) return new Date(pick === 'earliest' ? found[0]! : found[found.length - 1]!);
  // In a gap: the local time was skipped. Before the gap the offset is smaller; the instant read
  // with the pre-gap offset lies after the transition, the one with the post-gap offset before it.
  const oBefore = offsetAt(zone, local - DAY);
  const oAfter = offsetAt(zone, local + DAY);
  const lo = local - oAfter * MINUTE;
  const hi = local - oBefore * MINUTE;
  return new Date(transitionBetween(zone, Math.min(lo, hi), Math.max(lo, hi)));
}

// 1–2 digit month and day, 2 or 4 digit year, time with 1–2 digit hour, optional seconds and
// meridiem. Separators between date and time: spaces, '+' (form encoding left undecoded) or 'T'.
const DATE_TIME =
  /^\s*(\d{1,2})\/(\d{1,2})\/(\d{4}|\d{2})(?:[\s+]+|T)(\d{1,2}):(\d{2})(?::(\d{2}))?(?:[\s+]*([AaPp])\.?[Mm]\.?)?\s*$/;
const DATE_ONLY = /^\s*(\d{1,2})\/(\d{1,2})\/(\d{4}|\d{2})\s*$/;

function fullYear(text: string): number {
  const y = Number(text);
  return text.length === 2 ? 2000 + y : y;
}

/**
 * Reads ShipStation's `MM/dd/yyyy HH:mm` leniently as local wall-clock fields: 1- or 2-digit month
 * and day; 2-digit years are 20yy; 24-hour `HH:mm` or 12-hour `h:mm AM/PM`; optional seconds;
 * `+` accepted in place of spaces. With a meridiem, hours 1–12 are 12-hour clock; 13–23 followed by
 * PM are read as 24-hour (ShipStation's own sample has `21:56 PM`); 0 with AM is midnight. Returns
 * undefined for anything else, including impossible dates (02/30, 02/29 in a common year).
 */
export function parseLocalDateTime(text: string): LocalDateTime | undefined {
  const m = DATE_TIME.exec(text);
  if (!m) return undefined;
  let hour = Number(m[4]);
  const meridiem = m[7]?.toUpperCase();
  if (meridiem) {
    if (hour >= 1 && hour <= 12) {
      if (meridiem === 'A' && hour === 12) hour = 0;
      else if (meridiem === 'P' && hour !== 12) hour += 12;
    } else if (!((hour >= 13 && hour <= 23 && meridiem === 'P') || (hour === 0 && meridiem === 'A'))) {
      return undefined;
    }
  }
  const l: LocalDateTime = {
    year: fullYear(m[3]!),
    month: Number(m[1]),
    day: Number(m[2]),
    hour,
    minute: Number(m[5]),
    second: m[6] === undefined ? 0 : Number(m[6]),
  };
  return validLocal(l) ? l : undefined;
}

/**
 * Parses a ShipStation date-time in `zone` (default UTC). Ambiguous local times take `pick`
 * (default earliest). Returns undefined when unreadable.
 */
export function parseShipStationDate(
  text: string,
  zone = 'UTC',
  pick: 'earliest' | 'latest' = 'earliest',
): Date | undefined {
  const l = parseLocalDateTime(text);
  return l ? resolveLocal(l, zone, pick) : undefined;
}

export interface ExportWindow {
  /** Inclusive: `last_modified >= start`. Already widened backwards by the look-back. */
  start: Date;
  /**
   * EXCLUSIVE: `last_modified < end`. It is the first instant after the end minute (its latest
   * reading + 1 minute), so the window includes every instant through the end minute's last microsecond —
   * PostgreSQL timestamps have microseconds, which an inclusive `:59.999` bound would miss.
   */
  end: Date;
}

/**
 * The export window for ShipStation's `start_date` / `end_date` texts in the store's `zone`:
 * [earliest reading of start − lookback, latest reading of end + 1 minute). Seconds in the texts
 * are ignored (ShipStation's resolution is the minute). Returns undefined when either text is
 * unreadable (the caller answers 400). An end before the start gives an empty window, not an error.
 */
export function exportWindow(
  startText: string,
  endText: string,
  zone = 'UTC',
  lookbackMinutes = 0,
): ExportWindow | undefined {
  const s = parseLocalDateTime(startText);
  const e = parseLocalDateTime(endText);
  if (!s || !e) return undefined;
  const start = resolveLocal({ ...s, second: 0 }, zone, 'earliest');
  // The latest reading of the end minute, plus one minute (offsets change on minute boundaries, so
  // that whole minute reads as the end minute). If the end minute was skipped by a DST gap, every
  // instant before the transition reads earlier than it and every one after reads later: the
  // transition itself is the exclusive end, which is what resolveLocal gives for a gap.
  const endMinute: LocalDateTime = { ...e, second: 0 };
  const readings = instantsFor(localMs(endMinute), zone);
  const end =
    readings.length > 0
      ? new Date(readings[readings.length - 1]! + MINUTE)
      : resolveLocal(endMinute, zone, 'latest');
  return { start: new Date(start.getTime() - lookbackMinutes * MINUTE), end };
}

const pad2 = (n: number): string => (n < 10 ? '0' + n : String(n));

/** `MM/dd/yyyy HH:mm` for `date` as seen in `zone` (default UTC); seconds are dropped, not rounded. */
export function formatShipStationDate(date: Date, zone = 'UTC'): string {
  const ts = date.getTime();
  if (Number.isNaN(ts)) throw new RangeError('invalid date');
  const d = new Date(ts + offsetAt(zone, ts) * MINUTE);
  const y = d.getUTCFullYear();
  const year = y >= 1000 ? String(y) : String(y).padStart(4, '0');
  return `${pad2(d.getUTCMonth() + 1)}/${pad2(d.getUTCDate())}/${year} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}`;
}

/**
 * A ShipNotice `LabelCreateDate`: ShipStation's date-time (12- or 24-hour, see
 * parseLocalDateTime), or an ISO 8601 date-time as a fallback; a date alone means midnight.
 * Read in `zone` (default UTC); null when unreadable.
 */
export function parseLabelCreateDate(text: string, zone = 'UTC'): Date | null {
  const l = parseLocalDateTime(text);
  if (l) return resolveLocal(l, zone, 'earliest');
  const d = DATE_ONLY.exec(text);
  if (d) {
    const day: LocalDateTime = {
      year: fullYear(d[3]!),
      month: Number(d[1]),
      day: Number(d[2]),
      hour: 0,
      minute: 0,
      second: 0,
    };
    return validLocal(day) ? resolveLocal(day, zone, 'earliest') : null;
  }
  const iso = DateTime.fromISO(text.trim(), { zone, setZone: false });
  return iso.isValid ? iso.toJSDate() : null;
}

/**
 * A ShipNotice `ShipDate` (`MM/dd/yyyy`, leniently: 1–2 digit month/day, 2-digit year; a trailing
 * time is ignored; `YYYY-MM-DD` accepted too) → `'YYYY-MM-DD'`; null when unreadable.
 */
export function parseShipDate(text: string): string | null {
  let year: number;
  let month: number;
  let day: number;
  const iso = /^\s*(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?$/.exec(text);
  const us = /^\s*(\d{1,2})\/(\d{1,2})\/(\d{4}|\d{2})(?:[\s+T].*)?$/.exec(text);
  if (iso) {
    year = Number(iso[1]);
    month = Number(iso[2]);
    day = Number(iso[3]);
  } else if (us) {
    year = fullYear(us[3]!);
    month = Number(us[1]);
    day = Number(us[2]);
  } else {
    return null;
  }
  if (!validLocal({ year, month, day, hour: 0, minute: 0, second: 0 })) return null;
  return `${String(year).padStart(4, '0')}-${pad2(month)}-${pad2(day)}`;
}
