import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createDatabase } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { SecretHasher } from '../src/lib/secrets.js';

/**
 * The benchmark data set: a warehouse-scale shipbridge database, generated server-side.
 *
 * - 10 warehouses and 1 000 merchants (5 % stand alone), one credential each, with known keys.
 * - Merchant sizes follow a Zipf law (exponent 1.2): the largest merchant holds ~23 % of the orders
 *   (≥ 100 000 at 1 M), the ten largest over half, the smallest a handful — a real 3PL's shape.
 * - 1–3 store connections per merchant with routing filters (sources, include/exclude tags), routed
 *   exactly as §4 says (first accepting store by priority, creation, id; otherwise unrouted with a reason).
 * - Orders spread over 90 days, the newest 10 % of them in the last 2 days (busy windows: the largest
 *   store has ≥ 10 000 orders in well under a day at 1 M); 1–5 lines with options, adjustments
 *   (discount lines), tags, Unicode names and addresses; statuses of a live warehouse (old orders
 *   shipped/confirmed, recent ones new/at_wms/…, pinned when served). The largest merchant also
 *   holds a backlog of never-exported pre-orders (await_payment / on_hold / new, unpinned) — the
 *   orders a store change re-routes (≥ 100 000 of them at 1 M).
 * - Shipments (with lines) for shipped and confirmed orders, and a 'created' event per order.
 *
 * Orders and lines are built in SQL (INSERT … SELECT FROM generate_series), in chunks on two
 * connections, with content / line content jsonb in the shape of src/orders/types.ts.
 * Credentials and store passwords are hashed with the same SecretHasher and BENCH_SECRET_KEY that the
 * benchmarked service is started with, so the load generator knows every secret.
 */

export const SEED_VERSION = 4;
export const BENCH_SECRET_KEY = 'shipbridge-bench-secret-key-0123456789-not-for-production';
export const MERCHANTS = 1000;
export const WAREHOUSES = 10;
const ZIPF_S = 1.2;
/** The largest merchant's orders from this fraction of the time line on are its pre-order backlog. */
const BACKLOG_FROM = 0.4;

export type Log = (line: string) => void;

export interface MerchantDef {
  rank: number;
  id: number;
  code: string;
  warehouseId: number | null;
  apiUser: string;
  apiKey: string;
  orders: number;
}

export interface StoreDef {
  id: number;
  merchantId: number;
  name: string;
  username: string;
  password: string;
  order_sources: string[];
  include_tags: string[];
  exclude_tags: string[];
  priority: number;
  page_size: number;
}

export interface Dataset {
  size: number;
  url: string;
  dbName: string;
  merchants: MerchantDef[];
  stores: StoreDef[];
  warehouses: { id: number; code: string; apiUser: string; apiKey: string }[];
  /** The instant the time line ends at (seed time). */
  tEnd: Date;
}

/** A fingerprint of the schema (the migration files): a changed migration means a new seed. */
export function schemaHash(): string {
  const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'migrations');
  const h = createHash('sha256');
  for (const f of readdirSync(dir).sort()) h.update(f).update(readFileSync(path.join(dir, f)));
  return h.digest('hex').slice(0, 16);
}

/** `cold`: the data set that is never analysed (the "cold statistics" pass), a database of its own. */
export const dbNameFor = (size: number, cold = false) => {
  const label =
    size % 1_000_000 === 0 ? `${size / 1_000_000}m` : size % 1000 === 0 ? `${size / 1000}k` : String(size);
  return `shipbridge_bench_${label}${cold ? '_cold' : ''}`;
};

export function urlFor(baseUrl: string, dbName: string): string {
  const u = new URL(baseUrl);
  u.pathname = `/${dbName}`;
  return u.toString();
}

/** Orders per merchant rank (index 0 = rank 1), summing to `size`, every merchant ≥ 1 order. */
export function merchantSizes(size: number): number[] {
  const w = Array.from({ length: MERCHANTS }, (_, i) => (i + 1) ** -ZIPF_S);
  const total = w.reduce((a, b) => a + b, 0);
  const counts = w.map((x) => Math.max(1, Math.floor((size * x) / total)));
  const sum = counts.reduce((a, b) => a + b, 0);
  counts[0]! += size - sum;
  return counts;
}

const secret = (kind: string, n: number) =>
  `${kind}-${n}-` +
  createHash('sha256').update(`${BENCH_SECRET_KEY}:${kind}:${n}`).digest('base64url').slice(0, 27);

export function merchantDefs(size: number): MerchantDef[] {
  const sizes = merchantSizes(size);
  return sizes.map((orders, i) => {
    const rank = i + 1;
    return {
      rank,
      id: rank,
      code: `m${String(rank).padStart(4, '0')}`,
      warehouseId: rank % 20 === 7 ? null : (rank % WAREHOUSES) + 1,
      apiUser: `bench_m${rank}`,
      apiKey: secret('mkey', rank),
      orders,
    };
  });
}

export function warehouseDefs() {
  return Array.from({ length: WAREHOUSES }, (_, i) => ({
    id: i + 1,
    code: `wh${String(i + 1).padStart(2, '0')}`,
    apiUser: `bench_w${i + 1}`,
    apiKey: secret('wkey', i + 1),
  }));
}

/**
 * Store connections. The largest merchant: Wholesale (include wholesale), Main (exclude hold-review),
 * Fallback (everything). Others by rank modulo 4: shop/marketplace split by source (api orders
 * unrouted), one catch-all, main/B2B by tag, priority/standard by tag (hold-review orders unrouted).
 */
export function storeDefs(merchants: MerchantDef[]): StoreDef[] {
  const out: StoreDef[] = [];
  let id = 0;
  const add = (m: MerchantDef, name: string, priority: number, f: Partial<StoreDef> = {}) => {
    id += 1;
    out.push({
      id,
      merchantId: m.id,
      name,
      username: `bench_s${id}`,
      password: secret('spass', id),
      order_sources: f.order_sources ?? [],
      include_tags: f.include_tags ?? [],
      exclude_tags: f.exclude_tags ?? [],
      priority,
      page_size: f.page_size ?? 100,
    });
  };
  for (const m of merchants) {
    if (m.rank === 1) {
      add(m, 'Wholesale', 10, { include_tags: ['wholesale'] });
      add(m, 'Main', 20, { exclude_tags: ['hold-review'] });
      add(m, 'Fallback', 30);
      continue;
    }
    switch (m.rank % 4) {
      case 0:
        add(m, 'Shopify', 10, { order_sources: ['shopify-us', 'shopify-eu'] });
        add(m, 'Marketplaces', 20, { order_sources: ['amazon', 'ebay', 'etsy'] });
        break;
      case 1:
        add(m, 'ShipStation', 100);
        break;
      case 2:
        add(m, 'Retail', 10, { exclude_tags: ['b2b'] });
        add(m, 'B2B', 20, { include_tags: ['b2b'] });
        break;
      default:
        add(m, 'Priority', 10, { include_tags: ['priority', 'vip'] });
        add(m, 'Standard', 20, { exclude_tags: ['hold-review'] });
    }
  }
  return out;
}

export function datasetFor(baseUrl: string, size: number, cold = false): Dataset {
  const merchants = merchantDefs(size);
  const dbName = dbNameFor(size, cold);
  return {
    size,
    url: urlFor(baseUrl, dbName),
    dbName,
    merchants,
    stores: storeDefs(merchants),
    warehouses: warehouseDefs(),
    tEnd: new Date(0),
  };
}

// ---------------------------------------------------------------------------------------------------
// Sample values (Unicode on purpose: names, cities, products, tags).

const FIRST = [
  'José',
  'Zoë',
  'Łukasz',
  'Søren',
  'Ängela',
  'François',
  'Dmitri',
  'Иван',
  'Ольга',
  '李',
  '陈静',
  '山田',
  'Μαρία',
  'Nguyễn',
  'Aoife',
  'Mohammed',
  'Chloé',
  'Björn',
  'Şebnem',
  'María José',
  'Олександр',
  'John',
  'Emily',
  'Michael',
  'Sarah',
  'David',
  'Jessica',
  'Daniel',
  'Ashley',
  'Chris',
  'Laura',
  'Kenji',
];
const LAST = [
  'García',
  'Müller',
  'Øster',
  'Nowak',
  'Ivanova',
  '王',
  'Tanaka',
  'Papadopoulos',
  'Ó Briain',
  "O'Neil",
  'Smith',
  'Johnson',
  'Brown',
  'Williams',
  'Jones',
  'Miller',
  'Davis',
  'Wilson',
  'Anderson',
  'Thomas',
  'Lefèvre',
  'Da Silva',
  'Kowalczyk',
  'Yılmaz',
  'Håkansson',
  'Ng',
  'Kim',
  'Pérez',
  'Schröder',
  'Dubois',
];
const STREETS = [
  'Main St',
  'Oak Avenue',
  'Hauptstraße',
  'Rue de la Paix',
  'Calle Mayor',
  'Ångströmvägen',
  'Elm St',
  'Market Street',
  'Broadway',
  'Königsallee',
  'Via Roma',
  'Maple Drive',
  'Sunset Blvd',
  'Pine Road',
  '中山路',
  'Ulica Długa',
  'King St W',
  'High Street',
  'Rua Augusta',
  'Cedar Lane',
];
const PLACES: [string, string, string, string][] = [
  ['US', 'CA', 'Los Angeles', '90012'],
  ['US', 'NY', 'New York', '10001'],
  ['US', 'TX', 'Austin', '73301'],
  ['US', 'WA', 'Seattle', '98101'],
  ['US', 'FL', 'Miami', '33101'],
  ['US', 'IL', 'Chicago', '60601'],
  ['US', 'GA', 'Atlanta', '30301'],
  ['US', 'CO', 'Denver', '80201'],
  ['US', 'MA', 'Boston', '02108'],
  ['US', 'OR', 'Portland', '97201'],
  ['US', 'NJ', 'Newark', '07102'],
  ['US', 'AZ', 'Phoenix', '85001'],
  ['CA', 'QC', 'Montréal', 'H2X 1Y4'],
  ['CA', 'ON', 'Toronto', 'M5H 2N2'],
  ['GB', 'Greater London', 'London', 'SW1A 1AA'],
  ['DE', 'Bayern', 'München', '80331'],
  ['FR', 'Île-de-France', 'Paris', '75001'],
  ['JP', '東京都', '渋谷区', '150-0002'],
  ['AU', 'NSW', 'Sydney', '2000'],
  ['MX', 'CDMX', 'Ciudad de México', '06000'],
];
const PRODUCTS = [
  'Organic Cotton T-Shirt',
  'Crème Brûlée Candle',
  'Café Grinder — Burr',
  'Kaffeebecher „Morgen“',
  'Ergonomic Chair',
  'Wireless Earbuds',
  'Yoga Mat 6mm',
  'Matcha 抹茶 Tin 100g',
  'Leather Wallet',
  'Stainless Bottle 750ml',
  'Smørrebrød Cookbook',
  'Phone Case ❤',
  'Running Shoes',
  'Scented Soap Set',
  'Ceramic Vase 🌸',
  'LED Desk Lamp',
  'Merino Beanie',
  'Piñata Party Pack',
  'Dog Harness (M)',
  'Notebook A5',
  'Chocolat Noir 85 %',
  'Socks 3-pack',
  'Kimono Robe 着物',
  'Backpack 25L',
];
const SIZES = ['XS', 'S', 'M', 'L', 'XL', 'XXL', '42', '10½'];
const COLORS = ['Black', 'White', 'Bleu marine', 'Grün', 'Rojo', 'Ivory', 'Charcoal', '灰色'];
const TAGS = [
  'gift',
  'vip',
  'priority',
  'wholesale',
  'b2b',
  'hold-review',
  'pre-order',
  'fragile',
  'Übergröße',
  '限定',
  'subscription',
  'returning-customer',
  'influencer',
  'bulk',
  'express',
  'eco-pack',
];
const SOURCES = [
  ...Array(9).fill('shopify-us'),
  ...Array(4).fill('amazon'),
  ...Array(2).fill('shopify-eu'),
  'etsy',
  'etsy',
  'ebay',
  'api',
  'api',
] as string[];
const CARRIERS = ['UPS', 'USPS', 'FedEx', 'DHL', 'CanadaPost', 'RoyalMail'];
const NOTES = [
  'Please leave at the back door',
  'Bitte nicht knicken',
  'Livraison après 18 h, merci !',
  '请放在门口',
  'Gift — no invoice in the box',
  'Call before delivery: 555-0100',
];

// ---------------------------------------------------------------------------------------------------

const q = (client: pg.ClientBase, text: string, values?: unknown[]) => client.query(text, values);

/** SQL helpers in a `bench` schema of the bench database (not part of the product schema). */
const HELPERS = `
  create schema if not exists bench;
  create or replace function bench.h(g bigint, salt int) returns bigint
    language sql immutable parallel safe as $$ select hashint8extended(g, salt) & 1073741823 $$;
  create or replace function bench.pick(a text[], h bigint) returns text
    language sql immutable parallel safe as $$ select a[1 + (h % cardinality(a))::int] $$;
  create or replace function bench.qty(g bigint, p int) returns int
    language sql immutable parallel safe as $$
      select case when bench.h(g, 100 + p) % 10 < 7 then 1 else 1 + (bench.h(g, 100 + p) % 4)::int end $$;
  create or replace function bench.price(g bigint, p int) returns numeric
    language sql immutable parallel safe as $$ select ((bench.h(g, 200 + p) % 15000) + 199) / 100.0 $$;
  create or replace function bench.money(v numeric) returns text
    language sql stable parallel safe as $$ select to_char(v, 'FM999999990.00') $$;
  create or replace function bench.iso(t timestamptz) returns text
    language sql stable parallel safe as $$
      select to_char(t at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') $$;
  create table if not exists bench.seed_info (
    version int not null, size int not null, seeded_at timestamptz not null default now(),
    t_end timestamptz not null, seconds double precision, details jsonb, schema_hash text
  );
`;

/** Parameters shared by the chunk statements. */
interface ChunkParams {
  size: number;
  thresholds: number[];
  tEnd: Date;
}

/**
 * Step 1 of a chunk: the order skeletons of ids lo..hi in a temp table (merchant, time, status,
 * routing). Merchants are interleaved over ids ((g·7919) mod N falls in the merchant's bucket), time
 * grows with the id, the newest 10 % in the last two days.
 */
const SKELETON = `
  create temp table chunk on commit drop as
  with base as (
    select g,
      width_bucket((g * 7919) % $3::bigint, $4::bigint[]) as mid,
      (g - 1)::float8 / $3::float8 as x,
      bench.h(g, 1) as h1, bench.h(g, 2) as h2, bench.h(g, 3) as h3, bench.h(g, 4) as h4,
      bench.h(g, 5) as h5, bench.h(g, 6) as h6
    from generate_series($1::bigint, $2::bigint) g
  ), b1 as (
    select b.*,
      bench.pick($6::text[], b.h1) as order_source,
      case when b.h2 % 100 < 45 then array[]::text[]
        when b.h2 % 100 < 80 then array[bench.pick($7::text[], b.h2 / 7)]
        when b.h2 % 100 < 95 then array_remove(array[bench.pick($7::text[], b.h2 / 7),
          bench.pick($7::text[], b.h2 / 131)], null)
        else array[bench.pick($7::text[], b.h2 / 7), bench.pick($7::text[], b.h2 / 131),
          bench.pick($7::text[], b.h2 / 2311)] end as tags0,
      (array[1,1,1,2,2,2,3,3,4,5])[1 + (b.h3 % 10)::int] as nlines,
      case when b.x < 0.9
        then $5::timestamptz - interval '2 days' - ((0.9 - b.x) / 0.9) * interval '88 days'
        else $5::timestamptz - ((1 - b.x) / 0.1) * interval '2 days' end as created_at,
      case
        when b.mid = 1 and b.x >= ${BACKLOG_FROM} then
          case when b.h5 % 100 < 45 then 'await_payment' when b.h5 % 100 < 75 then 'on_hold'
            when b.h5 % 100 < 87 then 'new' when b.h5 % 100 < 95 then 'at_wms'
            when b.h5 % 100 < 98 then 'shipped' else 'canceled' end
        when b.x >= 0.9 then
          case when b.h5 % 100 < 35 then 'new' when b.h5 % 100 < 65 then 'at_wms'
            when b.h5 % 100 < 73 then 'await_payment' when b.h5 % 100 < 78 then 'on_hold'
            when b.h5 % 100 < 93 then 'shipped' when b.h5 % 100 < 96 then 'confirmed' else 'canceled' end
        else
          case when b.h5 % 100 < 68 then 'confirmed' when b.h5 % 100 < 90 then 'shipped'
            when b.h5 % 100 < 96 then 'canceled' when b.h5 % 100 < 99 then 'at_wms' else 'on_hold' end
      end as status0
    from base b
  ), b2 as (
    select b1.*, array(select distinct t from unnest(b1.tags0) t order by t) as tags,
      pick.id as store_id
    from b1
    left join lateral (
      select s.id from stores s
      where s.merchant_id = b1.mid and s.retired_at is null
        and (cardinality(s.order_sources) = 0 or b1.order_source = any(s.order_sources))
        and (cardinality(s.include_tags) = 0 or b1.tags0 && s.include_tags)
        and not (b1.tags0 && s.exclude_tags)
      order by s.priority, s.created_at, s.id limit 1
    ) pick on true
  )
  select b2.g, b2.mid, b2.x, b2.h1, b2.h2, b2.h3, b2.h4, b2.h5, b2.h6, b2.order_source, b2.tags, b2.nlines,
    b2.created_at, b2.store_id,
    case when b2.store_id is null and b2.status0 in ('at_wms', 'shipped', 'confirmed') then 'new'
      else b2.status0 end as status,
    case when b2.store_id is null then (
      select string_agg('store ' || s.id || ' ''' || s.name || ''': ' || case
          when cardinality(s.order_sources) > 0 and not (b2.order_source = any(s.order_sources))
            then 'order_source ''' || b2.order_source || ''' not in ['
              || array_to_string(s.order_sources, ', ') || ']'
          when cardinality(s.include_tags) > 0 and not (b2.tags && s.include_tags)
            then 'has none of the tags [' || array_to_string(s.include_tags, ', ') || ']'
          else (select case when count(*) = 1 then 'has excluded tag ' else 'has excluded tags ' end
                  || string_agg(x.t, ', ' order by x.i)
                from unnest(s.exclude_tags) with ordinality as x(t, i) where x.t = any(b2.tags))
        end, '; ' order by s.priority, s.created_at, s.id)
      from stores s where s.merchant_id = b2.mid and s.retired_at is null)
    end as routing_reason,
    (select coalesce(sum(bench.qty(b2.g, p) * bench.price(b2.g, p)), 0)
       from generate_series(1, b2.nlines - case when b2.nlines >= 2 and b2.h6 % 10 = 0 then 1 else 0 end) p)
      - case when b2.nlines >= 2 and b2.h6 % 10 = 0 then 5 else 0 end as subtotal
  from b2
`;

/** An address object of NormalizedOrder, from a hash; `salt` varies bill_to and ship_to. */
const address = (h: string, place: string) => `jsonb_build_object(
    'name', bench.pick($1::text[], ${h} / 3) || ' ' || bench.pick($2::text[], ${h} / 97),
    'company', case when ${h} % 10 < 3 then bench.pick($2::text[], ${h} / 13) || ' GmbH & Co. KG' end,
    'street1', (1 + ${h} % 9800)::text || ' ' || bench.pick($3::text[], ${h} / 11),
    'street2', case when ${h} % 5 = 0 then 'Apt ' || (1 + ${h} % 300)::text end,
    'street3', null,
    'city', ${place}[3],
    'state', ${place}[2],
    'postal_code', ${place}[4],
    'country', ${place}[1],
    'phone', case when ${h} % 4 <> 0 then '+1 555-' || lpad((${h} % 10000)::text, 4, '0') end,
    'email', case when ${h} % 3 <> 0 then 'buyer' || (${h} % 100000)::text || '@example.com' end)`;

/** Step 2: the orders rows, content built in SQL in the shape of NormalizedOrder (without items). */
const ORDERS = `
  insert into orders (merchant_id, id, order_source, order_number, status, held_from, order_date, currency,
    tags, order_total, tax_amount, shipping_amount, amount_paid, content, content_hash, store_id,
    routing_reason, served_store_id, served_at, last_modified, updated_at, created_at)
  overriding system value
  select c.mid, c.g, c.order_source, c.order_number, c.status,
    case when c.status = 'on_hold' then 'new' end,
    c.created_at, c.currency, c.tags, c.total, c.tax, c.shipping,
    case when c.status = 'await_payment' then null else c.total end,
    jsonb_build_object(
      'order_source', c.order_source,
      'order_number', c.order_number,
      'order_date', bench.iso(c.created_at),
      'currency', c.currency,
      'tags', to_jsonb(c.tags),
      'shipping_method', bench.pick(array['Standard','Express','Ground','Priority Mail','Next Day'], c.h4 / 3),
      'payment_method', bench.pick(array['credit_card','paypal','shop_pay','amazon_pay','invoice'], c.h4 / 17),
      'order_total', bench.money(c.total),
      'tax_amount', bench.money(c.tax),
      'shipping_amount', bench.money(c.shipping),
      'amount_paid', case when c.status = 'await_payment' then null else bench.money(c.total) end,
      'customer_notes', case when c.h4 % 7 = 0 then bench.pick($5::text[], c.h4 / 5) end,
      'internal_notes', case when c.h4 % 11 = 0 then 'Packed by team ' || (c.h4 % 9)::text || ' — check 🧊' end,
      'gift', c.h4 % 20 = 0,
      'gift_message', case when c.h4 % 20 = 0 then 'Joyeux anniversaire ! 🎂 Alles Gute!' end,
      'custom_fields', case when c.h4 % 6 = 0 then jsonb_build_array('campaign-' || (c.h4 % 40)::text)
        else '[]'::jsonb end,
      'requested_warehouse', case when c.h4 % 8 = 0 then 'DC-' || (1 + c.h4 % 3)::text end,
      'customer', jsonb_build_object('code', 'C' || (c.h6 % 500000)::text,
        'email', 'buyer' || (c.h6 % 100000)::text || '@example.com'),
      'bill_to', case when c.h2 % 10 < 7 then ${address('c.h6', 'c.place')}
        else ${address('c.h1', 'c.place')} end,
      'ship_to', ${address('c.h6', 'c.place')}
    ),
    md5(c.g::text), c.store_id, c.routing_reason,
    case when c.served then c.store_id end,
    case when c.served then c.created_at + ((5 + c.h4 % 55) * interval '1 minute') end,
    c.last_modified,
    greatest(c.last_modified, case when c.served then c.created_at + interval '1 hour' else c.created_at end),
    c.created_at
  from (
    select ch.*, pl.place,
      case ch.order_source when 'shopify-us' then '#' when 'amazon' then '11' || (ch.mid % 10)::text || '-'
        when 'shopify-eu' then 'EU' when 'etsy' then 'E' when 'ebay' then '23-' else 'API-' end
        || (100000 + ch.g)::text as order_number,
      case pl.place[1] when 'US' then 'USD' when 'CA' then 'CAD' when 'GB' then 'GBP' when 'JP' then 'JPY'
        when 'AU' then 'AUD' when 'MX' then 'MXN' else 'EUR' end as currency,
      ch.subtotal + round(ch.subtotal * 0.08, 2) + (array[0, 4.99, 7.50, 12.00])[1 + (ch.h3 % 4)::int] as total,
      round(ch.subtotal * 0.08, 2) as tax,
      (array[0, 4.99, 7.50, 12.00])[1 + (ch.h3 % 4)::int]::numeric as shipping,
      (ch.store_id is not null and (ch.status in ('at_wms', 'shipped', 'confirmed')
        or (ch.status = 'canceled' and ch.h4 % 2 = 0))) as served,
      least($6::timestamptz, ch.created_at + case when ch.status in ('on_hold', 'canceled', 'new')
        and ch.h4 % 3 = 0 then (ch.h4 % 180) * interval '1 minute' else interval '0' end) as last_modified
    from chunk ch
    cross join lateral (select $4::text[] as a) arr
    cross join lateral (select array[
        split_part(bench.pick(arr.a, ch.h6 / 23), '|', 1), split_part(bench.pick(arr.a, ch.h6 / 23), '|', 2),
        split_part(bench.pick(arr.a, ch.h6 / 23), '|', 3), split_part(bench.pick(arr.a, ch.h6 / 23), '|', 4)
      ] as place) pl
  ) c
`;

/** Step 3: the lines (NormalizedItem content); the last line of 10 % of multi-line orders is a discount. */
const LINES = `
  insert into order_lines (merchant_id, order_id, position, line_id, sku, name, quantity, unit_price,
    adjustment, shipped_quantity, content)
  select l.mid, l.g, l.p, l.line_id, l.sku, l.name, l.qty, l.price, l.adj,
    case when l.status in ('shipped', 'confirmed') and not l.adj then l.qty else 0 end,
    jsonb_build_object(
      'line_id', l.line_id, 'sku', l.sku, 'name', l.name, 'quantity', l.qty,
      'unit_price', bench.money(l.price),
      'weight', case when l.adj then null else bench.money((1 + l.hl % 400) / 10.0) end,
      'weight_unit', case when l.adj then null else (array['oz','lb','g','kg'])[1 + (l.hl % 4)::int] end,
      'image_url', case when not l.adj and l.hl % 3 <> 0
        then 'https://cdn.example.com/p/' || lower(l.sku) || '.jpg' end,
      'location', case when not l.adj and l.hl % 2 = 0
        then chr(65 + (l.hl % 8)::int) || '-' || (1 + l.hl % 40)::text || '-' || (1 + l.hl % 6)::text end,
      'upc', case when not l.adj and l.hl % 5 < 2 then lpad((l.hl * 7919 % 1000000000000)::text, 12, '0') end,
      'options', case when l.adj or l.hl % 3 = 0 then '[]'::jsonb
        when l.hl % 3 = 1 then jsonb_build_array(jsonb_build_object('name', 'Size',
          'value', bench.pick($2::text[], l.hl / 7), 'weight', null))
        else jsonb_build_array(
          jsonb_build_object('name', 'Size', 'value', bench.pick($2::text[], l.hl / 7), 'weight', null),
          jsonb_build_object('name', 'Farbe / Colour', 'value', bench.pick($3::text[], l.hl / 13),
            'weight', '0.10')) end,
      'adjustment', l.adj)
  from (
    select ch.mid, ch.g, ch.status, p,
      bench.h(ch.g, 300 + p) as hl,
      (ch.nlines >= 2 and ch.h6 % 10 = 0 and p = ch.nlines) as adj,
      case when (ch.nlines >= 2 and ch.h6 % 10 = 0 and p = ch.nlines) then null
        when bench.h(ch.g, 300 + p) % 5 = 0 then null else 'L' || p::text end as line_id,
      case when (ch.nlines >= 2 and ch.h6 % 10 = 0 and p = ch.nlines) then null
        else 'SKU-' || lpad((bench.h(ch.g, 300 + p) % 5000)::text, 4, '0') || '-'
          || bench.pick($2::text[], bench.h(ch.g, 300 + p) / 7) end as sku,
      case when (ch.nlines >= 2 and ch.h6 % 10 = 0 and p = ch.nlines) then 'Discount WELCOME10 (−5 €)'
        else bench.pick($1::text[], bench.h(ch.g, 300 + p) / 3) end as name,
      case when (ch.nlines >= 2 and ch.h6 % 10 = 0 and p = ch.nlines) then 1 else bench.qty(ch.g, p) end as qty,
      case when (ch.nlines >= 2 and ch.h6 % 10 = 0 and p = ch.nlines) then -5.00
        else bench.price(ch.g, p) end as price
    from chunk ch cross join lateral generate_series(1, ch.nlines) p
  ) l
`;

/** Step 4: a 'created' event per order, an 'exported' one per served order. */
const EVENTS = `
  insert into order_events (merchant_id, order_id, at, type, from_status, to_status, actor_type, actor, data)
  select o.merchant_id, o.id, o.created_at, 'created', null, case when o.status = 'on_hold' then 'on_hold'
      when o.status = 'await_payment' then 'await_payment' else 'new' end, 'credential', 'bench_m' || o.merchant_id,
    null
  from orders o join chunk ch on o.merchant_id = ch.mid and o.id = ch.g
  union all
  select o.merchant_id, o.id, o.served_at, 'exported', 'new', 'at_wms', 'store', o.served_store_id::text,
    jsonb_build_object('store_id', o.served_store_id)
  from orders o join chunk ch on o.merchant_id = ch.mid and o.id = ch.g
  where o.served_store_id is not null
`;

/** Step 5: one shipment (with its lines) per shipped or confirmed order; shipment id = order id. */
const SHIPMENTS = `
  with s as (
    insert into shipments (merchant_id, id, order_id, store_id, carrier, service, tracking_number, ship_date,
      label_created_at, shipping_cost, notify_customer, idempotency_key, created_at, confirmed_at)
    overriding system value
    select o.merchant_id, o.id, o.id, o.store_id, bench.pick($1::text[], ch.h4 / 29), 'Ground',
      '1Z' || upper(substr(md5(o.id::text || 'trk'), 1, 16)), (o.served_at + interval '1 day')::date,
      o.served_at + interval '20 hours', 4.50 + (ch.h4 % 2000) / 100.0, ch.h4 % 2 = 0,
      'seed:' || o.id, o.served_at + interval '1 day',
      case when o.status = 'confirmed' then o.served_at + interval '2 days' end
    from orders o join chunk ch on o.merchant_id = ch.mid and o.id = ch.g
    where o.status in ('shipped', 'confirmed') and o.served_at is not null
    returning merchant_id, id, order_id
  )
  insert into shipment_lines (merchant_id, shipment_id, order_line_id, quantity, requested_quantity)
  select l.merchant_id, s.id, l.id, l.quantity, l.quantity
  from s join order_lines l on l.merchant_id = s.merchant_id and l.order_id = s.order_id
  where not l.adjustment
`;

export const SEED_SQL = () => ({ SKELETON, ORDERS, LINES, EVENTS, SHIPMENTS, SOURCES, TAGS });

async function seedChunk(client: pg.ClientBase, lo: number, hi: number, p: ChunkParams): Promise<void> {
  const steps: [string, string, unknown[] | undefined][] = [
    ['begin', 'begin', undefined],
    ['skeleton', SKELETON, [lo, hi, p.size, p.thresholds, p.tEnd, SOURCES, TAGS]],
    ['orders', ORDERS, [FIRST, LAST, STREETS, PLACES.map((x) => x.join('|')), NOTES, p.tEnd]],
    ['lines', LINES, [PRODUCTS, SIZES, COLORS]],
    ['events', EVENTS, undefined],
    ['shipments', SHIPMENTS, [CARRIERS]],
    ['commit', 'commit', undefined],
  ];
  const times: string[] = [];
  for (const [name, text, values] of steps) {
    const t = performance.now();
    await q(client, text, values);
    times.push(`${name} ${Math.round(performance.now() - t)}`);
  }
  if (process.env['BENCH_SEED_PROFILE']) process.stderr.write(`  chunk ${lo}: ${times.join(', ')} ms\n`);
}

async function seedAccounts(client: pg.ClientBase, ds: Dataset): Promise<void> {
  const hasher = new SecretHasher(BENCH_SECRET_KEY);
  const hex = (s: string) => hasher.hash(s).toString('hex');
  await q(
    client,
    `insert into warehouses (id, code, name) overriding system value
     select * from unnest($1::bigint[], $2::text[], $3::text[])`,
    [
      ds.warehouses.map((w) => w.id),
      ds.warehouses.map((w) => w.code),
      ds.warehouses.map((w) => `Lager ${w.code} — Nord`),
    ],
  );
  await q(
    client,
    `insert into merchants (id, code, name, warehouse_id, created_at) overriding system value
     select id, code, name, wh, now() - interval '400 days' + id * interval '1 minute'
     from unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[]) as t(id, code, name, wh)`,
    [
      ds.merchants.map((m) => m.id),
      ds.merchants.map((m) => m.code),
      ds.merchants.map((m) => `${LAST[m.rank % LAST.length]} & Söhne ${m.rank}`),
      ds.merchants.map((m) => m.warehouseId),
    ],
  );
  const creds = [
    ...ds.warehouses.map((w) => ({
      user: w.apiUser,
      key: w.apiKey,
      wh: w.id as number | null,
      m: null as number | null,
    })),
    ...ds.merchants.map((m) => ({
      user: m.apiUser,
      key: m.apiKey,
      wh: null as number | null,
      m: m.id as number | null,
    })),
  ];
  await q(
    client,
    `insert into credentials (api_user, key_hash, warehouse_id, merchant_id, label, created_by)
     select u, decode(h, 'hex'), wh, m, 'bench', 'admin'
     from unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) as t(u, h, wh, m)`,
    [creds.map((c) => c.user), creds.map((c) => hex(c.key)), creds.map((c) => c.wh), creds.map((c) => c.m)],
  );
  const s = ds.stores;
  const lit = (a: string[]) => `{${a.map((x) => `"${x}"`).join(',')}}`;
  await q(
    client,
    `insert into stores (merchant_id, id, name, username, password_hash, order_sources, include_tags,
       exclude_tags, priority, page_size, created_at) overriding system value
     select m, id, name, u, decode(h, 'hex'), os::text[], it::text[], et::text[], pr, ps,
       now() - interval '300 days' + id * interval '1 second'
     from unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
       $8::text[], $9::int[], $10::int[]) as t(m, id, name, u, h, os, it, et, pr, ps)`,
    [
      s.map((x) => x.merchantId),
      s.map((x) => x.id),
      s.map((x) => x.name),
      s.map((x) => x.username),
      s.map((x) => hex(x.password)),
      s.map((x) => lit(x.order_sources)),
      s.map((x) => lit(x.include_tags)),
      s.map((x) => lit(x.exclude_tags)),
      s.map((x) => x.priority),
      s.map((x) => x.page_size),
    ],
  );
}

async function setSequences(client: pg.ClientBase): Promise<void> {
  for (const t of ['warehouses', 'merchants', 'stores', 'orders', 'shipments']) {
    await q(
      client,
      `select setval(pg_get_serial_sequence('${t}', 'id'), greatest(1, (select max(id) from ${t})))`,
    );
  }
}

async function databaseExists(admin: pg.ClientBase, name: string): Promise<boolean> {
  const r = await q(admin, 'select 1 from pg_database where datname = $1', [name]);
  return (r.rowCount ?? 0) > 0;
}

async function readInfo(
  url: string,
): Promise<{ version: number; size: number; t_end: Date; schema_hash: string | null } | undefined> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query(
      `select version, size, t_end, schema_hash from bench.seed_info order by seeded_at desc limit 1`,
    );
    return r.rows[0];
  } catch {
    return undefined;
  } finally {
    await c.end();
  }
}

/**
 * Makes sure the data set of `size` orders exists in its own database (reused when its marker says
 * it is complete and of this seed version), and answers its description.
 */
export async function ensureSeeded(
  baseUrl: string,
  size: number,
  log: Log,
  cold = false,
): Promise<Dataset & { seeded: boolean; seconds: number }> {
  const ds = datasetFor(baseUrl, size, cold);
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  try {
    if (await databaseExists(admin, ds.dbName)) {
      const info = await readInfo(ds.url);
      if (info && info.version === SEED_VERSION && info.size === size && info.schema_hash === schemaHash()) {
        log(`${ds.dbName}: reusing the seeded data set (${size} orders, seed v${SEED_VERSION})`);
        return { ...ds, tEnd: info.t_end, seeded: false, seconds: 0 };
      }
      log(`${ds.dbName}: incomplete or outdated seed: dropping it`);
      await q(admin, `drop database ${ds.dbName} with (force)`);
    }
    await q(admin, `create database ${ds.dbName}`);
  } finally {
    await admin.end();
  }

  const started = performance.now();
  const database = await createDatabase({ url: ds.url, poolSize: 2 });
  try {
    await migrateToLatest(database.db);
  } finally {
    await database.close();
  }

  const pool = new pg.Pool({ connectionString: ds.url, max: 2 });
  try {
    const c = await pool.connect();
    let tEnd: Date;
    let deferred: { indexname: string; indexdef: string }[] = [];
    try {
      await q(c, HELPERS);
      tEnd = (await q(c, `select date_trunc('minute', now()) - interval '1 hour' as t`)).rows[0].t as Date;
      await seedAccounts(c, ds);
      // Plain secondary indexes of the bulk-loaded tables are built once at the end (faster than
      // maintaining them row by row); constraint indexes stay.
      const idx = await q(
        c,
        `select i.indexname, i.indexdef from pg_indexes i
         where i.schemaname = 'public'
           and i.tablename in ('orders', 'order_lines', 'order_events', 'shipments', 'shipment_lines')
           and not exists (select 1 from pg_constraint k where k.conname = i.indexname)`,
      );
      deferred = idx.rows as { indexname: string; indexdef: string }[];
      for (const d of deferred) await q(c, `drop index ${d.indexname}`);
    } finally {
      c.release();
    }
    const sizes = merchantSizes(size);
    const thresholds: number[] = [];
    let acc = 0;
    for (const n of sizes) {
      thresholds.push(acc);
      acc += n;
    }
    const params: ChunkParams = { size, thresholds, tEnd };
    const chunk = size >= 200_000 ? 25_000 : 10_000;
    const ranges: [number, number][] = [];
    for (let lo = 1; lo <= size; lo += chunk) ranges.push([lo, Math.min(size, lo + chunk - 1)]);
    let done = 0;
    let next = 0;
    const worker = async () => {
      const client = await pool.connect();
      try {
        // Bulk load: no fsync wait per chunk, no per-row foreign-key triggers (rows are consistent by
        // construction); the checks are ordinary again for the service's own connections.
        await q(client, 'set synchronous_commit = off');
        await q(client, 'set jit = off');
        await q(client, "set session_replication_role = 'replica'");
        while (next < ranges.length) {
          const [lo, hi] = ranges[next++]!;
          await seedChunk(client, lo, hi, params);
          done += hi - lo + 1;
          const s = (performance.now() - started) / 1000;
          log(
            `${ds.dbName}: ${done}/${size} orders (${Math.round((100 * done) / size)} %, ${s.toFixed(1)} s)`,
          );
        }
        await q(client, "set session_replication_role = 'origin'");
      } finally {
        client.release();
      }
    };
    await Promise.all([worker(), worker()]);
    log(`${ds.dbName}: building ${deferred.length} indexes`);
    let nextIndex = 0;
    const builder = async () => {
      const client = await pool.connect();
      try {
        await q(client, "set maintenance_work_mem = '256MB'");
        while (nextIndex < deferred.length) await q(client, deferred[nextIndex++]!.indexdef);
      } finally {
        client.release();
      }
    };
    await Promise.all([builder(), builder()]);
    const c2 = await pool.connect();
    try {
      await setSequences(c2);
      if (cold) {
        // What a freshly restored or bulk-loaded database looks like: no statistics at all; from here
        // on, only the server's autovacuum (as configured) may analyse it.
        log(`${ds.dbName}: cold statistics: no ANALYZE`);
      } else {
        log(`${ds.dbName}: vacuum analyze`);
        await q(
          c2,
          'vacuum (analyze) orders, order_lines, order_events, shipments, shipment_lines, stores, merchants, credentials',
        );
      }
      const seconds = (performance.now() - started) / 1000;
      const details = (
        await q(
          c2,
          `select jsonb_build_object(
             'orders', (select count(*) from orders), 'lines', (select count(*) from order_lines),
             'shipments', (select count(*) from shipments), 'events', (select count(*) from order_events),
             'unrouted', (select count(*) from orders where store_id is null),
             'db_bytes', pg_database_size(current_database())) as d`,
        )
      ).rows[0].d;
      await q(
        c2,
        'insert into bench.seed_info (version, size, t_end, seconds, details, schema_hash) values ($1, $2, $3, $4, $5, $6)',
        [SEED_VERSION, size, tEnd, seconds, details, schemaHash()],
      );
      log(`${ds.dbName}: seeded in ${seconds.toFixed(1)} s ${JSON.stringify(details)}`);
      return { ...ds, tEnd, seeded: true, seconds };
    } finally {
      c2.release();
    }
  } finally {
    await pool.end();
  }
}

/** Seed details stored in the marker (row counts, size on disk). */
export async function seedDetails(url: string): Promise<Record<string, unknown>> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query(
      'select details, seconds, seeded_at from bench.seed_info order by seeded_at desc limit 1',
    );
    return {
      ...(r.rows[0]?.details ?? {}),
      seed_seconds: r.rows[0]?.seconds,
      seeded_at: r.rows[0]?.seeded_at,
    };
  } finally {
    await c.end();
  }
}

// `tsx bench/seed.ts 10000` seeds (or checks) one size by itself.
if (import.meta.url === `file://${process.argv[1]}`) {
  const base = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const size = Number(process.argv[2] ?? 10000);
  ensureSeeded(base, size, (l) => process.stderr.write(l + '\n')).catch((e) => {
    process.stderr.write(`seed failed: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  });
}
