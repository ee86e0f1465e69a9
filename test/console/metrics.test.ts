import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { httpCounts, rate, samples } from '../../console/src/lib/metrics.ts';

const TEXT = `# HELP citytrust_http_requests_total HTTP requests by route and status
# TYPE citytrust_http_requests_total counter
citytrust_http_requests_total{method="GET",route="/v1/tenants",status="200"} 12
citytrust_http_requests_total{method="POST",route="/v1/tenants",status="409"} 2
citytrust_http_requests_total{method="GET",route="/v1/a\\"b",status="401"} 3 1700000000000
citytrust_http_requests_total_created{method="GET"} 99
citytrust_audit_log_size 41
bogus line without a value
`;

describe('reading Prometheus text for the dashboard', () => {
  it('sums the HTTP request counter and splits it by status class', () => {
    assert.deepEqual(httpCounts(TEXT), { total: 17, byClass: { '2xx': 12, '4xx': 5 } });
  });

  it('reads labels with escaped quotes and ignores metrics that only share a prefix', () => {
    const s = samples(TEXT, 'citytrust_http_requests_total');
    assert.equal(s.length, 3);
    assert.equal(s[2]!.labels['route'], '/v1/a"b');
    assert.deepEqual(samples(TEXT, 'citytrust_audit_log_size'), [{ labels: {}, value: 41 }]);
  });

  it('turns two counter readings into a rate, and a reset into zero', () => {
    assert.equal(rate(10, 40, 2), 15);
    assert.equal(rate(40, 10, 1), 0);
    assert.equal(rate(1, 2, 0), 0);
  });
});
