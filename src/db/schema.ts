import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

/** Table types, kept by hand in step with migrations/. */

type Id = Generated<number>;
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
/** numeric(12,2): exact decimal strings in and out. */
type Money = ColumnType<string, string, string>;
type NullableMoney = ColumnType<string | null, string | null | undefined, string | null>;
type TextArray = ColumnType<string[], string[] | undefined, string[]>;
type Json<T> = ColumnType<T, string, string>;
type NullableJson<T> = ColumnType<T | null, string | null | undefined, string | null>;

export type OrderStatus =
  | 'await_payment'
  | 'new'
  | 'at_wms'
  | 'shipped'
  | 'confirmed'
  | 'canceled'
  | 'on_hold';
export const ORDER_STATUSES: readonly OrderStatus[] = [
  'await_payment',
  'new',
  'at_wms',
  'shipped',
  'confirmed',
  'canceled',
  'on_hold',
];

export interface ServerSettingsTable {
  key: string;
  value: string;
  created_at: CreatedAt;
}

export interface WarehousesTable {
  id: Id;
  code: string;
  name: string;
  created_at: CreatedAt;
}

export interface MerchantsTable {
  id: Id;
  code: string;
  name: string;
  warehouse_id: number | null;
  created_at: CreatedAt;
  /** Set while the merchant is disabled: its credentials answer 401, its stores export empty pages. */
  disabled_at: NullableTimestamp;
  normalise_addresses: Generated<boolean>;
}

export interface CredentialsTable {
  id: Id;
  api_user: string;
  key_hash: Buffer;
  warehouse_id: number | null;
  merchant_id: number | null;
  label: string | null;
  created_at: CreatedAt;
  created_by: string | null;
  revoked_at: NullableTimestamp;
  last_used_at: NullableTimestamp;
}

export interface StoresTable {
  merchant_id: number;
  id: Id;
  name: string;
  username: string;
  password_hash: Buffer;
  order_sources: TextArray;
  include_tags: TextArray;
  exclude_tags: TextArray;
  priority: Generated<number>;
  page_size: Generated<number>;
  timezone: Generated<string>;
  lookback_minutes: Generated<number>;
  order_number_prefix: Generated<string>;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
  retired_at: NullableTimestamp;
  password_rotated_at: NullableTimestamp;
  last_export_at: NullableTimestamp;
  last_window_start: NullableTimestamp;
  last_window_end: NullableTimestamp;
  last_notice_at: NullableTimestamp;
}

export interface OrdersTable {
  merchant_id: number;
  id: Id;
  order_source: string;
  order_number: string;
  status: OrderStatus;
  held_from: 'await_payment' | 'new' | 'at_wms' | null;
  order_date: Timestamp;
  currency: string | null;
  /** The tags routing matches: the effective ones (the sent tags are in content). */
  tags: TextArray;
  order_total: Money;
  tax_amount: NullableMoney;
  shipping_amount: NullableMoney;
  amount_paid: NullableMoney;
  /** The normalised order as the merchant sent it, less the lines (which live in order_lines). */
  content: Json<Record<string, unknown>>;
  /** Hash of the normalised content (lines included, requested status excluded): duplicate detection. */
  content_hash: string;
  /** What normalisation and rules made of the order (src/rules/effective.ts StoredEffective); null when they changed nothing. */
  effective: NullableJson<Record<string, unknown>>;
  store_id: number | null;
  routing_reason: string | null;
  /** Why the order is kept out of routing until a person releases it (src/orders/withheld.ts); null: routed as usual. */
  withheld: Generated<string | null>;
  served_store_id: number | null;
  served_at: NullableTimestamp;
  last_modified: ColumnType<Date, Date | string | undefined, Date | string>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
  created_at: CreatedAt;
  // Summary facts (src/summaries/facts.ts), kept by the writers of the rows they follow.
  /** Quantities of the shippable lines: not adjustments, not excluded by a rule. */
  units: Generated<number>;
  /** When the order last moved to shipped from an open status. */
  shipped_at: NullableTimestamp;
  /** Live (not voided) shipments and the sum of their costs. */
  shipment_count: Generated<number>;
  shipment_cost: Generated<string>;
  /** Per live shipment, in id order: ship date ('YYYY-MM-DD', null when unknown), cost, when recorded. */
  shipment_dates: ColumnType<(string | null)[] | null, never, never>;
  shipment_costs: ColumnType<(string | null)[] | null, never, never>;
  shipment_recorded: ColumnType<Date[] | null, never, never>;
  /** The days shipped_at and those shipments may fall on in any zone (a daterange). */
  ship_span: ColumnType<string | null, never, never>;
}

export interface OrderLinesTable {
  merchant_id: number;
  order_id: number;
  id: Id;
  position: number;
  line_id: string | null;
  sku: string | null;
  name: string | null;
  quantity: number;
  unit_price: Money;
  adjustment: Generated<boolean>;
  shipped_quantity: Generated<number>;
  /** Excluded by a rule (exclude_items): not exported, not shippable, in no summary's units. */
  excluded: Generated<boolean>;
  /** The normalised line as the merchant sent it. */
  content: Json<Record<string, unknown>>;
}

export interface OrderEventsTable {
  merchant_id: number;
  order_id: number;
  id: Id;
  at: CreatedAt;
  type: string;
  from_status: string | null;
  to_status: string | null;
  actor_type: 'credential' | 'store' | 'system' | 'admin';
  actor: string | null;
  data: NullableJson<Record<string, unknown>>;
}

export type NoticeStatus = 'received' | 'applied' | 'duplicate' | 'unmatched' | 'dismissed';

export interface ShipNoticesTable {
  merchant_id: number;
  id: Id;
  store_id: number;
  received_at: CreatedAt;
  query: Json<Record<string, string>>;
  content_type: string | null;
  body: string;
  order_number: string | null;
  tracking_number: string | null;
  status: ColumnType<NoticeStatus, NoticeStatus | undefined, NoticeStatus>;
  reason: string | null;
  order_id: number | null;
  shipment_id: number | null;
  resolved_at: NullableTimestamp;
  resolved_by: string | null;
}

export interface ShipmentsTable {
  merchant_id: number;
  id: Id;
  order_id: number;
  store_id: number | null;
  notice_id: number | null;
  carrier: string | null;
  service: string | null;
  tracking_number: string | null;
  /** 'YYYY-MM-DD' */
  ship_date: string | null;
  label_created_at: NullableTimestamp;
  shipping_cost: NullableMoney;
  notify_customer: boolean | null;
  idempotency_key: string;
  created_at: CreatedAt;
  confirmed_at: NullableTimestamp;
  voided_at: NullableTimestamp;
  /** When the order's source account (src/sources) was told it shipped, with this shipment's tracking. */
  source_notified_at: NullableTimestamp;
}

export interface ShipmentLinesTable {
  merchant_id: number;
  shipment_id: number;
  order_line_id: number;
  quantity: number;
  requested_quantity: number;
}

export interface AlertsTable {
  merchant_id: number;
  id: Id;
  kind: string;
  message: string;
  order_id: number | null;
  store_id: number | null;
  notice_id: number | null;
  data: NullableJson<Record<string, unknown>>;
  created_at: CreatedAt;
  dismissed_at: NullableTimestamp;
  dismissed_by: string | null;
}

export interface ExportSnapshotsTable {
  merchant_id: number;
  id: Id;
  store_id: number;
  window_start: Timestamp;
  window_end: Timestamp;
  page_size: number;
  total: number;
  created_at: CreatedAt;
  expires_at: Timestamp;
}

export interface ExportSnapshotOrdersTable {
  merchant_id: number;
  snapshot_id: number;
  position: number;
  order_id: number;
}

export interface ExportLogTable {
  merchant_id: number;
  id: Id;
  store_id: number;
  at: CreatedAt;
  window_start: Timestamp;
  window_end: Timestamp;
  page: number;
  pages: number;
  orders: number;
  duration_ms: number;
}

export interface AuthFailuresTable {
  username: string;
  client: string;
  window_start: Timestamp;
  failures: number;
}

export interface ConsoleSessionsTable {
  /** HMAC of the opaque id the cookie carries. */
  id_hash: Buffer;
  credential_id: number | null;
  /** HMAC of the ADMIN_TOKEN an admin session was opened with. */
  admin_token_hash: Buffer | null;
  created_at: CreatedAt;
  last_seen_at: ColumnType<Date, Date | string | undefined, Date | string>;
  expires_at: Timestamp;
}

export type JobStatus = 'pending' | 'running' | 'succeeded' | 'failed';

export interface JobsTable {
  id: Id;
  kind: string;
  payload: Json<Record<string, unknown>>;
  status: ColumnType<JobStatus, JobStatus | undefined, JobStatus>;
  /** pending: when it may run; running: when its lease ends. */
  run_at: Timestamp;
  attempts: ColumnType<number, number | undefined, number>;
  max_attempts: number;
  lease: string | null;
  locked_by: string | null;
  last_error: string | null;
  singleton: string | null;
  created_at: ColumnType<Date, Date | string | undefined, never>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
  finished_at: NullableTimestamp;
}

export interface WebhooksTable {
  id: Id;
  merchant_id: number | null;
  warehouse_id: number | null;
  url: string;
  events: TextArray;
  description: string | null;
  enabled: ColumnType<boolean, boolean | undefined, boolean>;
  disabled_reason: string | null;
  /** AES-256-GCM sealed signing key (lib/secrets.ts SecretBox). */
  secret: Buffer;
  secret_key_id: string;
  previous_secret: Buffer | null;
  previous_secret_expires_at: NullableTimestamp;
  failing_since: NullableTimestamp;
  last_success_at: NullableTimestamp;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface WebhookEventsTable {
  id: Id;
  merchant_id: number | null;
  type: string;
  order_id: number | null;
  subject_id: number | null;
  created_at: CreatedAt;
  dispatched_at: NullableTimestamp;
}

export type DeliveryStatus = 'pending' | 'succeeded' | 'failed' | 'skipped';

export interface WebhookDeliveriesTable {
  id: Id;
  webhook_id: number;
  event_id: number;
  status: ColumnType<DeliveryStatus, DeliveryStatus | undefined, DeliveryStatus>;
  attempts: ColumnType<number, number | undefined, number>;
  job_id: number | null;
  last_status_code: number | null;
  last_error: string | null;
  last_duration_ms: number | null;
  last_attempt_at: NullableTimestamp;
  created_at: CreatedAt;
  delivered_at: NullableTimestamp;
}

export interface WebhookAttemptsTable {
  id: Id;
  delivery_id: number;
  at: Timestamp;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
  response_body: string | null;
}

/** Rules of src/rules: owned by exactly one of merchant_id, warehouse_id. */
export interface RulesTable {
  id: Id;
  merchant_id: number | null;
  warehouse_id: number | null;
  name: string;
  enabled: Generated<boolean>;
  position: number;
  /** The rule's `when`. */
  conditions: Json<unknown[]>;
  /** The rule's `then`. */
  actions: Json<unknown[]>;
  stop: Generated<boolean>;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
  /** Why the rule no longer holds as written (a route_to_store naming a retired store), or null. */
  invalid_reason: Generated<string | null>;
}

/** Source connections of src/sources: order sources shipbridge pulls from itself. */
export interface SourcesTable {
  id: Id;
  merchant_id: number;
  type: 'shipstation';
  name: string;
  api_key: string;
  /** AES-256-GCM sealed API secret (lib/secrets.ts SecretBox). */
  api_secret: Buffer;
  api_secret_key_id: string;
  /** HMAC of the key pair: whose call budget (source_rate_limits) the source spends. */
  key_pair: string;
  store_id: number | null;
  order_statuses: TextArray;
  tag_mode: 'include' | 'exclude' | null;
  tag_name: string | null;
  poll_minutes: Generated<number>;
  earliest_order_date: NullableTimestamp;
  enabled: Generated<boolean>;
  disabled_reason: string | null;
  /** The newest ShipStation modifyDate stored. */
  cursor: NullableTimestamp;
  pull_requested_at: NullableTimestamp;
  last_pull_at: NullableTimestamp;
  last_pull_error: string | null;
  last_pull_orders: number | null;
  failures: Generated<number>;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
  retired_at: NullableTimestamp;
}

export type SourceOrderState = 'taken' | 'refused' | 'held';

export interface SourceOrdersTable {
  source_id: number;
  ss_order_id: number;
  merchant_id: number;
  order_id: number | null;
  state: SourceOrderState;
  reason: string | null;
  modify_date: Timestamp;
  ss_status: string;
  input_hash: string;
  held_by_source: Generated<boolean>;
  /** ShipStation's orderNumber as last seen. */
  order_number: string | null;
  /** A refused order's validation details ([{path, message}]). */
  details: NullableJson<{ path: string; message: string }[]>;
  ship_job_at: NullableTimestamp;
  notified_at: NullableTimestamp;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface SourceRateLimitsTable {
  key_pair: string;
  remaining: number | null;
  reset_at: NullableTimestamp;
  /** Calls taken while the window was unknown, not yet answered for. */
  unknown_taken: Generated<number>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface DB {
  server_settings: ServerSettingsTable;
  warehouses: WarehousesTable;
  merchants: MerchantsTable;
  credentials: CredentialsTable;
  stores: StoresTable;
  orders: OrdersTable;
  order_lines: OrderLinesTable;
  order_events: OrderEventsTable;
  ship_notices: ShipNoticesTable;
  shipments: ShipmentsTable;
  shipment_lines: ShipmentLinesTable;
  alerts: AlertsTable;
  export_snapshots: ExportSnapshotsTable;
  export_snapshot_orders: ExportSnapshotOrdersTable;
  export_log: ExportLogTable;
  auth_failures: AuthFailuresTable;
  rules: RulesTable;
  console_sessions: ConsoleSessionsTable;
  jobs: JobsTable;
  webhooks: WebhooksTable;
  webhook_events: WebhookEventsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_attempts: WebhookAttemptsTable;
  sources: SourcesTable;
  source_orders: SourceOrdersTable;
  source_rate_limits: SourceRateLimitsTable;
}

export type Warehouse = Selectable<WarehousesTable>;
export type Merchant = Selectable<MerchantsTable>;
export type Credential = Selectable<CredentialsTable>;
export type Store = Selectable<StoresTable>;
export type NewStore = Insertable<StoresTable>;
export type StoreUpdate = Updateable<StoresTable>;
export type OrderRow = Selectable<OrdersTable>;
export type NewOrderRow = Insertable<OrdersTable>;
export type OrderLineRow = Selectable<OrderLinesTable>;
export type OrderEventRow = Selectable<OrderEventsTable>;
export type ShipmentRow = Selectable<ShipmentsTable>;
export type ShipNoticeRow = Selectable<ShipNoticesTable>;
export type AlertRow = Selectable<AlertsTable>;
export type JobRow = Selectable<JobsTable>;
export type WebhookRow = Selectable<WebhooksTable>;
export type SourceRow = Selectable<SourcesTable>;
