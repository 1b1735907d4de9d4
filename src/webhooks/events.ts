/**
 * The event types a webhook may subscribe to. Which recorded change becomes which event is decided
 * in SQL by the outbox triggers (migrations/2026-12-03T06-jobs-webhooks.ts); this list must name
 * the same types (the outbox test checks every one is emitted).
 */
export const WEBHOOK_EVENT_TYPES = [
  'order.created',
  'order.updated',
  'order.status_changed',
  'order.unrouted',
  'shipment.created',
  'shipment.voided',
  'shipnotice.unmatched',
  'alert.created',
  'ping',
] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export const EVENT_DESCRIPTIONS: Record<WebhookEventType, string> = {
  'order.created': 'an order was created',
  'order.updated': "an order's content was replaced, or it moved to another store connection",
  'order.status_changed': "an order's status changed (pay, hold, release, cancel, exported, shipped…)",
  'order.unrouted': 'no store connection accepts the order (routing.reason says why)',
  'shipment.created': 'a shipment notice from ShipStation was recorded as a shipment',
  'shipment.voided': 'a shipment was voided',
  'shipnotice.unmatched': 'a shipment notice matched no order',
  'alert.created': 'something needs a person (an alert was raised)',
  ping: 'a test delivery (POST …/webhooks/{id}/test)',
};
