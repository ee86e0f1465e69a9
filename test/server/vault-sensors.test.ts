import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { testApp, auth } from '../helpers/app.ts';

describe('tamper sensors over HTTP', () => {
  it('leave the vault alone for readings within range and zeroize it on an opened enclosure', async () => {
    const t = await testApp({ 'vault.sensors': true });
    try {
      const send = (payload: object) => t.app.inject({ method: 'POST', url: '/v1/vault/sensors', headers: auth(t.adminToken), payload });
      for (const r of [{ sensor: 'enclosure', closed: true }, { sensor: 'temperature', celsius: 24.5 }, { sensor: 'voltage', volts: 3.3 }]) {
        const res = await send(r);
        assert.equal(res.statusCode, 200, res.body);
        assert.equal(res.json().state, 'unsealed');
      }
      const bad = await send({ sensor: 'temperature', celsius: 'hot' });
      assert.equal(bad.json().code, 'INPUT_INVALID');
      assert.equal(t.ctx.vault.status().state, 'unsealed', 'a malformed reading changes nothing');
      const open = await send({ sensor: 'enclosure', closed: false });
      assert.equal(open.json().state, 'tampered');
      assert.equal(open.json().tamper.source, 'sensor');
    } finally {
      await t.close();
    }
  });

  it('zeroize the vault when readings stop for longer than the heartbeat', async () => {
    const t = await testApp({ 'vault.sensors': true, 'vault.sensorHeartbeatMs': 60_000 });
    try {
      await t.app.inject({ method: 'POST', url: '/v1/vault/sensors', headers: auth(t.adminToken), payload: { sensor: 'voltage', volts: 3.31 } });
      t.clock.advance(30_000);
      await t.ctx.sensors!.checkHeartbeat();
      assert.equal(t.ctx.vault.status().state, 'unsealed');
      t.clock.advance(31_000);
      await t.ctx.sensors!.checkHeartbeat();
      assert.equal(t.ctx.vault.status().state, 'tampered');
      assert.match(t.ctx.vault.status().tamper!.reason, /silent for 61000 ms/);
    } finally {
      await t.close();
    }
  });

  it('answer VAULT_UNSUPPORTED when sensors are off', async () => {
    const t = await testApp();
    try {
      const r = await t.app.inject({ method: 'POST', url: '/v1/vault/sensors', headers: auth(t.adminToken), payload: { sensor: 'enclosure', closed: false } });
      assert.equal(r.json().code, 'VAULT_UNSUPPORTED');
      assert.equal(t.ctx.vault.status().state, 'unsealed');
    } finally {
      await t.close();
    }
  });
});
