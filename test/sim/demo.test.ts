import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('citytrust demo', () => {
  const tmp = tempDir();
  after(() => tmp.remove());

  it('sets the city up, runs the scenarios and ends with a report', () => {
    // 60 taps a second for 8 s: one in ten is an incident (they take turns), enough for every kind of refusal.
    const r = runCli(['demo', '-d', join(tmp.dir, 'city'), '--port', '0', '--duration', '8', '--residents', '25', '--meters', '20', '--rate', '60', '--json'], { CITYTRUST_LOG_LEVEL: 'error' });
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout.trim().split('\n').pop()!) as { startupSeconds: number; auditEvents: number; stats: Record<string, number>; report: string[]; adminToken: string };
    assert.ok(report.startupSeconds < 30, `started in ${report.startupSeconds} s`);
    assert.match(report.adminToken, /^ct_/);
    assert.equal(report.stats['vault.drills'], 1);
    assert.ok(report.report.some((l) => /vault drill: zeroized in [\d.]+ ms, 0 key files left/.test(l)), report.report.join('\n'));
    assert.ok((report.stats['witness.consistency_ok'] ?? 0) >= 1, 'the witness checked a consistency proof');
    assert.equal(report.stats['witness.failures'] ?? 0, 0);
    assert.ok((report.stats['devices.registered'] ?? 0) >= 25, 'the fleet of gates, doors, cars and meters is registered');
    assert.ok(report.report.some((l) => /^devices: \d+ registered$/.test(l)), report.report.join('\n'));
    assert.ok((report.stats['credentials.issued'] ?? 0) >= 20, 'residents and visitors hold synced credentials');
    assert.ok((report.stats['taps.granted'] ?? 0) > 0, 'residents passed gates and doors');
    assert.equal(report.stats['taps.revocation_enforced'], 1, 'the revoked ticket was refused at the next gate with REVOKED');
    assert.ok((report.stats['taps.denied.REVOKED'] ?? 0) >= 1);
    assert.equal(report.stats['taps.errors'] ?? 0, 0);
    // Denials for the right reasons, each decided by the reader (or declined by the wallet).
    for (const reason of ['EXPIRED', 'OUTSIDE_SCHEDULE', 'ATTRIBUTE_MISSING', 'USES_EXHAUSTED', 'ANTI_PASSBACK', 'STATUS_STALE', 'TAP_NO_MATCHING_CREDENTIAL']) {
      assert.ok((report.stats[`taps.denied.${reason}`] ?? 0) >= 1, `no tap was refused with ${reason}: ${JSON.stringify(report.stats)}`);
    }
    const denied = Object.entries(report.stats).filter(([k]) => k.startsWith('taps.denied.'));
    const noMatch = report.stats['taps.denied.TAP_NO_MATCHING_CREDENTIAL'] ?? 0;
    assert.ok(noMatch * 2 < denied.reduce((s, [, v]) => s + v, 0), 'most refusals have a specific reason');
    // The real paths: events uploaded over HTTP, the revocation pushed over server-sent events.
    assert.equal(report.stats['readers.events_uploaded'], report.stats['taps.total'], 'every tap event reached the server');
    assert.ok((report.stats['readers.status_pushes'] ?? 0) >= 1, 'the new status list reached readers through the push channel');
    assert.ok((report.stats['revocation.readers_online'] ?? 0) >= 3);
    assert.equal(report.stats['revocation.readers_reached'], report.stats['revocation.readers_online'], 'every online metro reader got the revocation pushed');
    assert.ok(report.report.some((l) => /^taps: \d+ at \d+\/s \(target 60\/s.*\) \(\d+ granted; denied: .*REVOKED \d+/.test(l)), report.report.join('\n'));
    assert.ok((report.stats['meters.readings'] ?? 0) >= 20, 'meters sent readings that were stored');
    assert.equal(report.stats['meters.errors'] ?? 0, 0);
    assert.equal(report.stats['meters.alerts.tamper'], 1, 'the tampered meter signed a tamper event that was stored');
    assert.equal(report.stats['meters.zeroized'], 1, 'and then wiped its keys');
    assert.equal(report.stats['guard.refused'], 1, 'the mass disconnect was refused with METER_COMMAND_GUARD');
    assert.ok(report.report.some((l) => /mass disconnect: METER_COMMAND_GUARD$/.test(l)), report.report.join('\n'));
    // The firmware rollout: published, staged to half the metro readers then widened to all,
    // installed over HTTP after the TUF checks, and every reader's signed install report accepted.
    assert.equal(report.stats['firmware.published'], 1);
    assert.equal(report.stats['firmware.errors'] ?? 0, 0);
    assert.equal(report.stats['firmware.installed'], 3, JSON.stringify(report.stats));
    assert.ok((report.stats['firmware.stage1'] ?? 0) <= 3);
    assert.equal(report.stats['firmware.reports'], 6, 'each reader reported after each stage');
    assert.ok(report.report.some((l) => /^firmware: [\d.]+ rolled out in two stages \(50%, then 100%\) to 3 metro readers/.test(l)), report.report.join('\n'));
    assert.ok(report.auditEvents > 5);
  });

  it('refuses a nonsensical option with INPUT_INVALID', () => {
    const r = runCli(['demo', '-d', join(tmp.dir, 'city2'), '--rate', '-5']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /error INPUT_INVALID: --rate/);
  });
});
