import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CityTrustError, allErrorCodes, errorInfo } from '../../src/core/index.ts';

describe('CityTrustError', () => {
  it('serialises to code and message only, never the cause', () => {
    const e = new CityTrustError('INPUT_INVALID', 'bad field', { cause: new Error('secret detail') });
    assert.deepEqual(JSON.parse(JSON.stringify(e)), { code: 'INPUT_INVALID', message: 'bad field' });
    assert.equal(e.status, 400);
  });
  it('gives every code an HTTP status and a remedy', () => {
    for (const code of allErrorCodes()) {
      const info = errorInfo(code);
      assert.ok(info.status >= 400 && info.status < 600, code);
      assert.ok(info.remedy.length > 10, code);
    }
  });
});
