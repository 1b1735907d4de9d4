import fc from 'fast-check';
import t from 'tap';
import {
  exportWindow,
  formatShipStationDate,
  parseLabelCreateDate,
  parseLocalDateTime,
  parseShipDate,
  parseShipStationDate,
} from '../../src/shipstation/dates.js';

const iso = (d: Date | undefined | null) => d?.toISOString();
const win = (start: string, end: string, zone = 'UTC', lookback = 0) => {
  const w = exportWindow(start, end, zone, lookback);
  return w && [w.start.toISOString(), w.end.toISOString()];
};

t.test('lenient parsing of ShipStation date-times (UTC)', async (t) => {
  const cases: [string, string][] = [
    ['03/23/2012 21:09', '2012-03-23T21:09:00.000Z'],
    ['03/23/2012+21:09', '2012-03-23T21:09:00.000Z'],
    ['01/23/2012++17:28', '2012-01-23T17:28:00.000Z'],
    ['3/5/2012 9:09', '2012-03-05T09:09:00.000Z'],
    ['3/5/12 9:09', '2012-03-05T09:09:00.000Z'],
    ['07/14/2025 18:03:59', '2025-07-14T18:03:59.000Z'],
    ['7/14/2025 6:03 PM', '2025-07-14T18:03:00.000Z'],
    ['7/14/2025 6:03PM', '2025-07-14T18:03:00.000Z'],
    ['7/14/2025 6:03 pm', '2025-07-14T18:03:00.000Z'],
    ['7/14/2025 6:03 p.m.', '2025-07-14T18:03:00.000Z'],
    ['7/14/2025 6:03+PM', '2025-07-14T18:03:00.000Z'],
    ['7/14/2025 12:00 AM', '2025-07-14T00:00:00.000Z'],
    ['7/14/2025 12:30 PM', '2025-07-14T12:30:00.000Z'],
    ['7/14/2025 11:59:30 PM', '2025-07-14T23:59:30.000Z'],
    ['12/8/2011 21:56 PM', '2011-12-08T21:56:00.000Z'],
    ['7/14/2025 0:15 AM', '2025-07-14T00:15:00.000Z'],
    ['  07/14/2025 00:00  ', '2025-07-14T00:00:00.000Z'],
    ['07/14/2025T18:03', '2025-07-14T18:03:00.000Z'],
    ['02/29/2024 10:00', '2024-02-29T10:00:00.000Z'],
    ['02/29/2000 10:00', '2000-02-29T10:00:00.000Z'],
    ['12/31/2026 23:59', '2026-12-31T23:59:00.000Z'],
  ];
  for (const [text, expected] of cases) t.equal(iso(parseShipStationDate(text)), expected, text);
});

t.test('unreadable dates are undefined', async (t) => {
  const bad = [
    '',
    'yesterday',
    '2025-07-14 18:03:00',
    '2025-07-14T18:03:00Z',
    '07/14/2025',
    '07/14/2025 24:00',
    '07/14/2025 23:60',
    '07/14/2025 23:59:60',
    '13/01/2025 10:00',
    '00/10/2025 10:00',
    '02/29/2023 10:00',
    '02/29/1900 10:00',
    '04/31/2025 10:00',
    '02/30/2024 10:00',
    '1/1/202 10:00',
    '1/1/20255 10:00',
    '7/14/2025 13:00 AM',
    '7/14/2025 0:00 PM',
    '7/14/2025 10:00 XM',
    '07/14/2025 10:0',
    '07/14/2025 100:00',
    '07-14-2025 10:00',
    '07/14/2025 10:00 extra',
  ];
  for (const text of bad) t.equal(parseShipStationDate(text), undefined, JSON.stringify(text));
  t.equal(exportWindow('garbage', '07/14/2025 10:00'), undefined, 'bad start');
  t.equal(exportWindow('07/14/2025 10:00', '02/30/2025 10:00'), undefined, 'bad end');
});

t.test('export window in UTC: inclusive start minus look-back, exclusive end one minute later', async (t) => {
  t.same(win('07/14/2025 18:00', '07/14/2025 18:05'), [
    '2025-07-14T18:00:00.000Z',
    '2025-07-14T18:06:00.000Z',
  ]);
  t.same(win('07/14/2025 18:00', '07/14/2025 18:05', 'UTC', 10), [
    '2025-07-14T17:50:00.000Z',
    '2025-07-14T18:06:00.000Z',
  ]);
  t.same(
    win('07/14/2025 18:00:45', '07/14/2025 18:05:30'),
    ['2025-07-14T18:00:00.000Z', '2025-07-14T18:06:00.000Z'],
    'seconds ignored',
  );
  t.same(
    win('12/31/2025 23:59', '12/31/2025 23:59'),
    ['2025-12-31T23:59:00.000Z', '2026-01-01T00:00:00.000Z'],
    'year boundary',
  );
  t.same(
    win('02/28/2024 23:59', '02/28/2024 23:59'),
    ['2024-02-28T23:59:00.000Z', '2024-02-29T00:00:00.000Z'],
    'into a leap day',
  );
  t.same(
    win('02/29/2024 23:59', '02/29/2024 23:59'),
    ['2024-02-29T23:59:00.000Z', '2024-03-01T00:00:00.000Z'],
    'out of a leap day',
  );
  t.same(
    win('01/01/2025 00:00', '01/01/2025 00:00', 'UTC', 1440),
    ['2024-12-31T00:00:00.000Z', '2025-01-01T00:01:00.000Z'],
    'max look-back',
  );
  t.same(
    win('07/14/2025 18:00', '07/14/2025 17:00'),
    ['2025-07-14T18:00:00.000Z', '2025-07-14T17:01:00.000Z'],
    'inverted: empty, not an error',
  );
});

t.test('export window in a zone (no DST change)', async (t) => {
  t.same(win('07/14/2025 14:00', '07/14/2025 14:00', 'America/New_York'), [
    '2025-07-14T18:00:00.000Z',
    '2025-07-14T18:01:00.000Z',
  ]);
  t.same(win('01/14/2025 14:00', '01/14/2025 14:00', 'Europe/London'), [
    '2025-01-14T14:00:00.000Z',
    '2025-01-14T14:01:00.000Z',
  ]);
  t.same(win('07/14/2025 14:00', '07/14/2025 14:00', 'Europe/London'), [
    '2025-07-14T13:00:00.000Z',
    '2025-07-14T13:01:00.000Z',
  ]);
  t.same(win('07/14/2025 14:00', '07/14/2025 14:00', 'Asia/Kolkata'), [
    '2025-07-14T08:30:00.000Z',
    '2025-07-14T08:31:00.000Z',
  ]);
  t.throws(() => exportWindow('07/14/2025 14:00', '07/14/2025 14:00', 'Mars/Olympus'), RangeError);
});

t.test('DST fall-back (ambiguous hour): earliest start, latest end', async (t) => {
  // New York, 2026-11-01: 01:00–01:59 happens twice (EDT -4, then EST -5).
  const ny = 'America/New_York';
  t.same(win('11/01/2026 01:30', '11/01/2026 01:30', ny), [
    '2026-11-01T05:30:00.000Z',
    '2026-11-01T06:31:00.000Z',
  ]);
  t.same(win('11/01/2026 01:00', '11/01/2026 01:59', ny), [
    '2026-11-01T05:00:00.000Z',
    '2026-11-01T07:00:00.000Z',
  ]);
  t.same(
    win('11/01/2026 00:59', '11/01/2026 00:59', ny),
    ['2026-11-01T04:59:00.000Z', '2026-11-01T05:00:00.000Z'],
    'just before',
  );
  t.same(
    win('11/01/2026 02:00', '11/01/2026 02:00', ny),
    ['2026-11-01T07:00:00.000Z', '2026-11-01T07:01:00.000Z'],
    'just after',
  );
  t.equal(
    iso(parseShipStationDate('11/01/2026 01:30', ny)),
    '2026-11-01T05:30:00.000Z',
    'default pick: earliest',
  );
  t.equal(iso(parseShipStationDate('11/01/2026 01:30', ny, 'latest')), '2026-11-01T06:30:00.000Z');
  // London, 2026-10-25: 01:00–01:59 twice (BST +1, then GMT).
  const ldn = 'Europe/London';
  t.same(win('10/25/2026 01:15', '10/25/2026 01:15', ldn), [
    '2026-10-25T00:15:00.000Z',
    '2026-10-25T01:16:00.000Z',
  ]);
  t.same(win('10/25/2026 01:59', '10/25/2026 01:59', ldn, 10), [
    '2026-10-25T00:49:00.000Z',
    '2026-10-25T02:00:00.000Z',
  ]);
});

t.test('DST spring-forward (skipped hour): mapped to the transition instant', async (t) => {
  // New York, 2026-03-08: 02:00–02:59 does not exist; 03:00 EDT = 07:00Z.
  const ny = 'America/New_York';
  t.same(win('03/08/2026 02:30', '03/08/2026 02:30', ny), [
    '2026-03-08T07:00:00.000Z',
    '2026-03-08T07:00:00.000Z',
  ]);
  t.same(win('03/08/2026 02:00', '03/08/2026 03:00', ny), [
    '2026-03-08T07:00:00.000Z',
    '2026-03-08T07:01:00.000Z',
  ]);
  t.same(
    win('03/08/2026 01:59', '03/08/2026 01:59', ny),
    ['2026-03-08T06:59:00.000Z', '2026-03-08T07:00:00.000Z'],
    'end at 01:59 → first instant after it',
  );
  t.same(win('03/08/2026 01:00', '03/08/2026 02:15', ny), [
    '2026-03-08T06:00:00.000Z',
    '2026-03-08T07:00:00.000Z',
  ]);
  t.equal(iso(parseShipStationDate('03/08/2026 2:30 AM', ny)), '2026-03-08T07:00:00.000Z');
  // London, 2026-03-29: 01:00–01:59 does not exist; 02:00 BST = 01:00Z.
  const ldn = 'Europe/London';
  t.same(win('03/29/2026 01:30', '03/29/2026 01:30', ldn), [
    '2026-03-29T01:00:00.000Z',
    '2026-03-29T01:00:00.000Z',
  ]);
  t.same(win('03/29/2026 00:59', '03/29/2026 02:00', ldn), [
    '2026-03-29T00:59:00.000Z',
    '2026-03-29T01:01:00.000Z',
  ]);
});

t.test('formatShipStationDate', async (t) => {
  t.equal(formatShipStationDate(new Date('2025-07-04T08:05:59.999Z')), '07/04/2025 08:05', 'seconds dropped');
  t.equal(formatShipStationDate(new Date('2025-12-31T23:59:00Z')), '12/31/2025 23:59');
  t.equal(formatShipStationDate(new Date('2024-02-29T00:00:00Z')), '02/29/2024 00:00');
  t.equal(formatShipStationDate(new Date('2025-07-04T08:05:00Z'), 'America/New_York'), '07/04/2025 04:05');
  t.equal(formatShipStationDate(new Date('2026-11-01T05:30:00Z'), 'America/New_York'), '11/01/2026 01:30');
  t.equal(formatShipStationDate(new Date('2026-11-01T06:30:00Z'), 'America/New_York'), '11/01/2026 01:30');
  t.equal(formatShipStationDate(new Date('2026-03-08T07:00:00Z'), 'America/New_York'), '03/08/2026 03:00');
  t.equal(formatShipStationDate(new Date('2026-03-08T06:59:00Z'), 'America/New_York'), '03/08/2026 01:59');
  t.equal(formatShipStationDate(new Date('2026-03-29T01:00:00Z'), 'Europe/London'), '03/29/2026 02:00');
  t.equal(formatShipStationDate(new Date('2025-01-01T00:00:00Z'), 'Asia/Kathmandu'), '01/01/2025 05:45');
  t.throws(() => formatShipStationDate(new Date(Number.NaN)), RangeError);
  t.throws(() => formatShipStationDate(new Date(), 'Nowhere/Land'), RangeError);
});

t.test('format → parse round trip (property)', async (t) => {
  const zones = ['UTC', 'America/New_York', 'Europe/London', 'Australia/Lord_Howe', 'Asia/Kolkata'];
  fc.assert(
    fc.property(
      fc.date({
        min: new Date('1970-01-01T00:00:00Z'),
        max: new Date('2099-12-31T23:59:00Z'),
        noInvalidDate: true,
      }),
      fc.constantFrom(...zones),
      (date, zone) => {
        const minute = new Date(Math.floor(date.getTime() / 60_000) * 60_000);
        const text = formatShipStationDate(minute, zone);
        const w = exportWindow(text, text, zone, 0)!;
        // The minute's instant lies in the window of its own text, whatever the DST state.
        return w.start.getTime() <= minute.getTime() && minute.getTime() < w.end.getTime();
      },
    ),
    { numRuns: 500 },
  );
  t.pass('every instant falls in the window of its own formatted minute');
});

t.test('parseLocalDateTime fields', async (t) => {
  t.same(parseLocalDateTime('7/4/25 6:03:09 AM'), {
    year: 2025,
    month: 7,
    day: 4,
    hour: 6,
    minute: 3,
    second: 9,
  });
});

t.test('ShipNotice LabelCreateDate', async (t) => {
  t.equal(iso(parseLabelCreateDate('07/15/2025 16:20')), '2025-07-15T16:20:00.000Z');
  t.equal(iso(parseLabelCreateDate('12/8/2011 12:56 PM')), '2011-12-08T12:56:00.000Z');
  t.equal(iso(parseLabelCreateDate('12/14/2022 03:00')), '2022-12-14T03:00:00.000Z');
  t.equal(iso(parseLabelCreateDate('07/15/2025')), '2025-07-15T00:00:00.000Z', 'date alone: midnight');
  t.equal(iso(parseLabelCreateDate('2025-07-15T16:20:00Z')), '2025-07-15T16:20:00.000Z', 'ISO fallback');
  t.equal(iso(parseLabelCreateDate('2025-07-15T16:20:00-04:00')), '2025-07-15T20:20:00.000Z');
  t.equal(iso(parseLabelCreateDate('07/15/2025 12:20', 'America/New_York')), '2025-07-15T16:20:00.000Z');
  for (const bad of ['', 'soon', '13/15/2025 10:00', '02/29/2025', '2025-02-30T00:00:00Z']) {
    t.equal(parseLabelCreateDate(bad), null, JSON.stringify(bad));
  }
});

t.test('ShipNotice ShipDate', async (t) => {
  t.equal(parseShipDate('07/16/2025'), '2025-07-16');
  t.equal(parseShipDate('7/6/2025'), '2025-07-06');
  t.equal(parseShipDate('7/6/25'), '2025-07-06');
  t.equal(parseShipDate('02/29/2024'), '2024-02-29');
  t.equal(parseShipDate('07/16/2025 16:20'), '2025-07-16', 'a time is ignored');
  t.equal(parseShipDate('2025-07-16'), '2025-07-16');
  t.equal(parseShipDate('2025-07-16T10:00:00Z'), '2025-07-16');
  for (const bad of ['', 'today', '02/29/2025', '13/01/2025', '2025-13-01', '07/16', '16.07.2025']) {
    t.equal(parseShipDate(bad), null, JSON.stringify(bad));
  }
});
