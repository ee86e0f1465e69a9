/** Prometheus metrics: HTTP traffic and the audit log's growth. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  httpRequests: Counter<'method' | 'route' | 'status'>;
  httpDuration: Histogram<'method' | 'route'>;
  auditSize: Gauge;
  meterFramesStored: Gauge;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'citytrust_process_' });
  return {
    registry,
    httpRequests: new Counter({ name: 'citytrust_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['method', 'route', 'status'], registers: [registry] }),
    httpDuration: new Histogram({
      name: 'citytrust_http_request_duration_seconds',
      help: 'HTTP request duration',
      labelNames: ['method', 'route'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers: [registry],
    }),
    auditSize: new Gauge({ name: 'citytrust_audit_log_size', help: 'Events in the audit log', registers: [registry] }),
    meterFramesStored: new Gauge({ name: 'citytrust_meter_frames_stored', help: 'Meter frames this server instance stored since it started (the ingest rate is its slope)', registers: [registry] }),
  };
}
