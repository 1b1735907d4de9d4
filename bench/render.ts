/**
 * Export page rendering: the hand-written writer (src/shipstation/order-xml.ts) against the
 * xmlbuilder2 oracle (test/helpers/order-xml-oracle.ts) on 1 000 realistic orders (3 items, each
 * with options; Unicode, markup characters, a `]]>`, kg weights).
 *
 *   npx tsx bench/render.ts [orders=1000] [runs=21]
 *
 * Prints the median (and min–max) ms per 1 000 orders over `runs` timed runs after warm-up, the
 * output size, and the ratio. Also checks once that both outputs parse to the same tree.
 */
import { XMLParser } from 'fast-xml-parser';
import { type ExportItem, type ExportOrder, renderOrdersPage } from '../src/shipstation/order-xml.js';
import { oracleOrdersPage } from '../test/helpers/order-xml-oracle.js';

const ORDERS = Number(process.argv[2] ?? 1000);
const RUNS = Number(process.argv[3] ?? 21);

const NAMES = [
  'Jane Doe',
  'Jürgen Müller',
  '山田 太郎',
  "Zoë O'Brien",
  'Ōsaka Trading Co.',
  'Ana "Nina" Silva',
];
const CITIES = ['Springfield', 'München', '東京', 'São Paulo', 'Kraków'];

function makeItem(n: number, i: number): ExportItem {
  const kg = i === 1;
  return {
    lineItemId: String(n * 10 + i),
    lineId: `ln-${i}`,
    sku: `SKU-${(n * 7 + i) % 5000}-${['BLU', 'RED', 'GRN'][i]}`,
    name: ['Ceramic mug, blue, 12 oz', 'Grüner Tee 100 g — Bio', 'T-shirt <Large> & "soft" 😀'][i]!,
    imageUrl: `https://cdn.example.com/p/${n}-${i}.jpg`,
    weight: kg ? '0.125' : '14.5',
    weightUnit: kg ? 'kg' : 'oz',
    quantity: 1 + ((n + i) % 3),
    unitPrice: `${(n % 90) + 1}.${String((n * 13 + i) % 100).padStart(2, '0')}`,
    location: `A-${String(i).padStart(2, '0')}-${n % 9}`,
    adjustment: false,
    options: [
      { name: 'Colour', value: ['Blue', 'Rot', '緑'][i]!, weight: null },
      {
        name: 'Engraving',
        value: n % 10 === 0 ? 'J & D ]]> forever' : 'J & D',
        weight: kg ? '0.002' : '0.2',
      },
    ],
  };
}

function makeOrder(n: number): ExportOrder {
  const name = NAMES[n % NAMES.length]!;
  const modified = new Date(Date.UTC(2026, 10, 22, 8, 0, 0) + n * 37_000);
  return {
    orderId: String(100_000 + n),
    orderNumber: `R-${10_000 + n}`,
    orderDate: new Date(modified.getTime() - 86_400_000),
    lastModified: modified,
    status: ['new', 'at_wms', 'await_payment', 'canceled'][n % 4]!,
    shippingMethod: 'Ground (3-5 days)',
    paymentMethod: 'Card',
    orderTotal: `${(n % 300) + 20}.80`,
    taxAmount: '4.90',
    shippingAmount: '7.50',
    customerNotes: n % 3 === 0 ? 'Leave with the concierge & ring twice <bell>' : null,
    internalNotes: n % 5 === 0 ? 'Fragile: double box\nCheck the seal' : null,
    gift: n % 7 === 0,
    giftMessage: n % 7 === 0 ? 'Happy birthday, Zoë! 🎂' : null,
    customFields: ['B2C', n % 2 === 0 ? 'promo: SUMMER10' : null],
    requestedWarehouse: 'Reno DC',
    source: 'shopify',
    customer: { code: `cust-${n % 800}`, email: `buyer${n}@example.com` },
    billTo: {
      name,
      company: null,
      street1: null,
      street2: null,
      street3: null,
      city: null,
      state: null,
      postalCode: null,
      country: null,
      phone: '+1 555 0100',
      email: `buyer${n}@example.com`,
    },
    shipTo: {
      name,
      company: n % 4 === 0 ? 'Acme "East" Ltd.' : null,
      street1: `${n % 999} Elm St <rear>`,
      street2: n % 2 === 0 ? 'Apt 4' : null,
      street3: n % 8 === 0 ? 'Building C' : null,
      city: CITIES[n % CITIES.length]!,
      state: 'IL',
      postalCode: String(60_000 + (n % 9999)),
      country: ['US', 'DE', 'JP', 'BR', 'PL'][n % 5]!,
      phone: '+1 555 0101',
      email: null,
    },
    items: [0, 1, 2].map((i) => makeItem(n, i)),
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function time(fn: () => string, runs: number, warmup: number): { ms: number[]; bytes: number } {
  let out = '';
  for (let i = 0; i < warmup; i++) out = fn();
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    out = fn();
    ms.push(performance.now() - t0);
  }
  return { ms, bytes: Buffer.byteLength(out) };
}

const orders = Array.from({ length: ORDERS }, (_, n) => makeOrder(n));

// Sanity: both renderers agree on this data (same parsed tree).
const parser = new XMLParser({ ignoreAttributes: false, parseTagValue: false, trimValues: false });
const a = JSON.stringify(parser.parse(renderOrdersPage(orders.slice(0, 50), 1)));
const b = JSON.stringify(parser.parse(oracleOrdersPage(orders.slice(0, 50), 1)));
if (a !== b) throw new Error('writer and oracle disagree on the bench data');

const per1000 = (ms: number) => (ms * 1000) / ORDERS;
const writer = time(() => renderOrdersPage(orders, 1), RUNS, 5);
const oracle = time(() => oracleOrdersPage(orders, 1), Math.max(5, Math.round(RUNS / 2)), 2);

const line = (label: string, r: { ms: number[]; bytes: number }) => {
  const med = per1000(median(r.ms));
  const min = per1000(Math.min(...r.ms));
  const max = per1000(Math.max(...r.ms));
  const mbs = r.bytes / 1e6 / (median(r.ms) / 1000);
  return (
    `${label.padEnd(22)} median ${med.toFixed(1).padStart(8)} ms / 1000 orders` +
    `  (min ${min.toFixed(1)}, max ${max.toFixed(1)}; ${r.ms.length} runs)` +
    `  ${(r.bytes / ORDERS / 1024).toFixed(2)} KiB/order  ${mbs.toFixed(1)} MB/s`
  );
};

console.log(`node ${process.version}, ${ORDERS} orders × 3 items`);
console.log(line('hand-written writer', writer));
console.log(line('xmlbuilder2 oracle', oracle));
console.log(`ratio (oracle / writer): ${(median(oracle.ms) / median(writer.ms)).toFixed(1)}×`);
