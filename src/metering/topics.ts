/**
 * MQTT topics of meter traffic: `city/<tenant>/meters/<id>/up` (meter → head-end) and
 * `city/<tenant>/meters/<id>/down` (head-end → meter), QoS 1. Tenant and meter ids use the
 * registry's alphabets, which contain no MQTT wildcard (`+`, `#`) or level separator.
 */
const TENANT = /^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$/;
const METER_ID = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export interface MeterTopics {
  readonly up: string;
  readonly down: string;
}

export function isTenantId(s: string): boolean {
  return TENANT.test(s);
}

export function isMeterId(s: string): boolean {
  return METER_ID.test(s);
}

export function meterTopics(tenant: string, meterId: string): MeterTopics {
  if (!isTenantId(tenant) || !isMeterId(meterId)) throw new TypeError('tenant or meter id is malformed');
  const base = `city/${tenant}/meters/${meterId}`;
  return { up: `${base}/up`, down: `${base}/down` };
}

/** Subscription filters of the head-end. */
export const UP_FILTER = 'city/+/meters/+/up';
export const DOWN_FILTER = 'city/+/meters/+/down';

const TOPIC = /^city\/([^/]+)\/meters\/([^/]+)\/(up|down)$/;

/** Tenant, meter and direction of a meter topic; undefined for anything else. */
export function parseMeterTopic(topic: string): { tenant: string; meterId: string; direction: 'up' | 'down' } | undefined {
  const m = TOPIC.exec(topic);
  if (!m || !isTenantId(m[1]!) || !isMeterId(m[2]!)) return undefined;
  return { tenant: m[1]!, meterId: m[2]!, direction: m[3] as 'up' | 'down' };
}
