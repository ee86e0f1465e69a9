import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes, createDecipheriv, createPrivateKey } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SoftwareVault, SimulatedSensors, TamperMonitor } from '../../src/vault/index.ts';
import { FixedClock } from '../../src/core/clock.ts';
import { silentLogger } from '../../src/core/log.ts';
import { CITY, TRANSIT, MemoryAudit, openFresh, reopen, rejectsWith, tempDir } from './helpers.ts';

const enc = (s: string) => new TextEncoder().encode(s);

function allFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...allFiles(p));
    else out.push(p);
  }
  return out;
}

/** Which of the needles occur anywhere in the bytes of any file under dir. */
function found(dir: string, needles: Map<string, Buffer>): string[] {
  const blobs = allFiles(dir).map((f) => readFileSync(f));
  return [...needles].filter(([, n]) => blobs.some((b) => b.includes(n))).map(([name]) => name);
}

describe('tamper response', () => {
  it('zeroizes on an authenticated API call: every operation then fails with VAULT_ZEROIZED, also after restart', async (t) => {
    const o = await openFresh(t);
    const key = await o.vault.createKey(TRANSIT, { type: 'ed25519', label: 'doomed' });
    await o.vault.tamper(CITY, 'api', 'operator pressed the red button');
    assert.equal(o.vault.status().state, 'tampered');
    await rejectsWith(o.vault.sign(TRANSIT, key.id, enc('x')), 'VAULT_ZEROIZED');
    await rejectsWith(o.vault.createKey(TRANSIT, { type: 'ed25519', label: 'x' }), 'VAULT_ZEROIZED');
    await rejectsWith(o.vault.listKeys(TRANSIT), 'VAULT_ZEROIZED');
    await rejectsWith(o.vault.unseal(o.shares[0]!), 'VAULT_ZEROIZED');
    const event = o.audit.events.find((e) => e.action === 'vault.tamper');
    assert.equal(event?.actor, CITY.actor);
    assert.equal(event?.details?.source, 'api');
    assert.equal(typeof event?.details?.memoryMs, 'number');
    const again = await reopen(o);
    assert.equal(again.status().state, 'tampered');
    assert.equal(again.status().tamper?.reason, 'operator pressed the red button');
    await rejectsWith(again.unseal(o.shares[0]!), 'VAULT_ZEROIZED');
  });

  it('can be re-initialised after zeroization, with none of the old keys', async (t) => {
    const o = await openFresh(t);
    const old = await o.vault.createKey(CITY, { type: 'ed25519', label: 'old' });
    await o.vault.tamper(CITY, 'api', 'drill');
    const { shares } = await o.vault.init(CITY, { shares: 3, threshold: 2 });
    assert.equal(shares.length, 3);
    assert.equal(o.vault.status().state, 'unsealed');
    await rejectsWith(o.vault.getKey(CITY, old.id), 'VAULT_KEY_NOT_FOUND');
  });

  for (const [name, reading] of [
    ['the enclosure opens', { sensor: 'enclosure', closed: false }],
    ['the temperature drops below its safe range (cold boot)', { sensor: 'temperature', celsius: -40 }],
    ['the supply voltage leaves its safe range (glitching)', { sensor: 'voltage', volts: 4.2 }],
    ['a sensor reports garbage', { sensor: 'voltage', volts: Number.NaN }],
  ] as const) {
    it(`zeroizes when ${name}`, async (t) => {
      const o = await openFresh(t);
      const key = await o.vault.createKey(CITY, { type: 'hmac-sha256', label: 'k' });
      const sensors = new SimulatedSensors();
      const monitor = new TamperMonitor(o.vault, sensors, silentLogger());
      t.after(() => monitor.stop());
      sensors.emit({ sensor: 'temperature', celsius: 22 });
      sensors.emit({ sensor: 'voltage', volts: 3.3 });
      sensors.emit({ sensor: 'enclosure', closed: true });
      assert.equal(o.vault.status().state, 'unsealed');
      sensors.emit(reading);
      // The in-memory wipe happened synchronously inside emit(): no await in between.
      assert.equal(o.vault.status().state, 'tampered');
      await rejectsWith(o.vault.mac(CITY, key.id, enc('x')), 'VAULT_ZEROIZED');
      await monitor.response;
      const event = o.audit.events.find((e) => e.action === 'vault.tamper');
      assert.equal(event?.details?.source, 'sensor');
      assert.equal(event?.actor, `sensor:${reading.sensor}`);
    });
  }

  it('leaves no key material, sealed or plain, anywhere in the data directory', async (t) => {
    const dir = tempDir(t);
    const devFile = join(dir, 'vault', 'dev-unseal.key');
    const audit = new MemoryAudit();
    const v = await SoftwareVault.open({ dataDir: dir, clock: new FixedClock(), logger: silentLogger(), audit, usageFlushMs: 0, devUnsealKeyFile: devFile });
    await v.init(CITY, { shares: 5, threshold: 3, devUnsealKeyFile: devFile });
    const needles = new Map<string, Buffer>();
    // The master key (readable here only because the dev key file holds it).
    const masterHex = readFileSync(devFile, 'utf8').split('\n')[2]!;
    needles.set('master key', Buffer.from(masterHex, 'hex'));
    needles.set('master key (hex)', Buffer.from(masterHex, 'latin1'));
    // Known secrets, imported so the test knows their bytes.
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const ed = generateKeyPairSync('ed25519').privateKey;
    const aes = randomBytes(32);
    const hmac = randomBytes(32);
    const kekBytes = randomBytes(32);
    await v.importKey(TRANSIT, { type: 'ec-p256', label: 'ec', pkcs8OrRaw: ec.export({ format: 'der', type: 'pkcs8' }) });
    await v.importKey(TRANSIT, { type: 'ed25519', label: 'ed', pkcs8OrRaw: ed.export({ format: 'der', type: 'pkcs8' }) });
    await v.importKey(TRANSIT, { type: 'aes-256-gcm', label: 'aes', pkcs8OrRaw: aes });
    await v.importKey(CITY, { type: 'hmac-sha256', label: 'hmac', pkcs8OrRaw: hmac });
    const kek = await v.importKey(CITY, { type: 'aes-256-gcm', label: 'kek', usages: ['wrap'], pkcs8OrRaw: kekBytes });
    needles.set('P-256 scalar', Buffer.from(ec.export({ format: 'jwk' }).d!, 'base64url'));
    needles.set('Ed25519 seed', Buffer.from(ed.export({ format: 'jwk' }).d!, 'base64url'));
    needles.set('AES key', aes);
    needles.set('HMAC key', hmac);
    needles.set('KEK', kekBytes);
    // Keys the vault generated itself: their scalars learned through wrap under the known KEK.
    for (const type of ['ec-p384', 'ed25519', 'hmac-sha256'] as const) {
      const k = await v.createKey(CITY, { type, label: `generated ${type}`, extractable: true });
      await v.rotateKey(CITY, k.id);
      const w = Buffer.from(await v.wrapKey(CITY, kek.id, k.id));
      const d = createDecipheriv('aes-256-gcm', kekBytes, w.subarray(10, 22));
      d.setAAD(w.subarray(0, 10));
      d.setAuthTag(w.subarray(w.length - 16));
      const material = Buffer.concat([d.update(w.subarray(22, w.length - 16)), d.final()]);
      const secret = type === 'hmac-sha256' ? material : Buffer.from(createPrivateKey({ key: material, format: 'der', type: 'pkcs8' }).export({ format: 'jwk' }).d!, 'base64url');
      assert.ok(secret.length >= 32);
      needles.set(`generated ${type}`, secret);
      needles.set(`generated ${type} (material)`, material);
    }
    // The sealed blobs themselves: recoverable with the shares if they stayed on disk.
    for (const f of readdirSync(join(dir, 'vault', 'keys'))) {
      const bytes = readFileSync(join(dir, 'vault', 'keys', f));
      needles.set(`sealed ${f}`, bytes.subarray(bytes.length - 80, bytes.length - 32));
    }
    needles.set('vault.meta', readFileSync(join(dir, 'vault', 'vault.meta')));

    // Positive control: the scan does find what is on disk before zeroization.
    const before = found(dir, needles);
    assert.ok(before.includes('master key (hex)') && before.includes('vault.meta') && before.some((n) => n.startsWith('sealed ')));
    assert.ok(!before.includes('P-256 scalar') && !before.includes('AES key'), 'plain secrets never touch the disk');

    await v.tamper(CITY, 'api', 'scan test');
    assert.deepEqual(found(dir, needles), []);
    assert.deepEqual(allFiles(dir).map((f) => f.slice(dir.length)), ['/vault/TAMPERED']);
    assert.ok(!readFileSync(join(dir, 'vault', 'TAMPERED'), 'utf8').includes('BEGIN'));
  });
});
