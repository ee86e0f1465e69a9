/** evaluate(credential, context): decisions and reason codes, with property-based zone and pattern edges. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { evaluate, isResource, isResourcePattern, matchResource, validateGrants, type CredentialClaims, type Grants } from '../../src/credentials/device.ts';
import { generateKeyPair } from '../../src/crypto/index.ts';
import { NOW, NOW_S, throwsCode } from './helpers.ts';

const holder = generateKeyPair('P-256').publicKey;
function cred(grants: Record<string, unknown>, over: Partial<CredentialClaims> = {}): CredentialClaims {
  return { iss: 'metro', exp: NOW_S + 3600, nbf: NOW_S - 2 * 86400, iat: NOW_S - 2 * 86400, cti: new Uint8Array(8), holderKey: holder, grants: validateGrants(grants), ...over };
}

describe('evaluate', () => {
  const ticket = cred({ zones: ['A', 'B', 'C'], schedule: [[0x7f, 540, 1020]], timeZone: 'Europe/Berlin', class: 1, attributes: ['student'], uses: 3 });
  const ok = { now: NOW, zones: ['A', 'B'], usesSoFar: 0 };

  it('grants a journey within the zones, window, class, attributes and uses', () => {
    assert.deepEqual(evaluate(ticket, { ...ok, class: 2, requiredAttributes: ['student', 'staff'] }), { allow: true, reason: 'GRANTED' });
  });

  it('gives one specific reason for each failing check, in a fixed order', () => {
    const cases: [Parameters<typeof evaluate>[1], string][] = [
      [{ ...ok, now: (NOW_S - 3 * 86400) * 1000 }, 'NOT_YET_VALID'],
      [{ ...ok, now: (NOW_S + 7200) * 1000 }, 'EXPIRED'],
      [{ ...ok, status: 'revoked' }, 'REVOKED'],
      [{ ...ok, status: 'suspended' }, 'SUSPENDED'],
      [{ ...ok, status: 'unknown' }, 'STATUS_UNKNOWN'],
      [{ now: NOW }, 'NOTHING_REQUESTED'],
      [{ ...ok, zones: ['A', 'D'] }, 'ZONE_NOT_GRANTED'],
      [{ ...ok, zones: [] }, 'ZONE_NOT_GRANTED'],
      [{ ...ok, resource: 'door:hq/1' }, 'RESOURCE_NOT_GRANTED'],
      [{ ...ok, resource: 'door:hq/../1' }, 'RESOURCE_INVALID'],
      [{ ...ok, now: Date.UTC(2026, 5, 10, 5, 0) }, 'OUTSIDE_SCHEDULE'],
      [{ ...ok, class: 0 }, 'CLASS_NOT_GRANTED'],
      [{ ...ok, requiredAttributes: ['staff'] }, 'ATTRIBUTE_MISSING'],
      [{ now: NOW, zones: ['A'] }, 'USES_UNKNOWN'],
      [{ ...ok, usesSoFar: 3 }, 'USES_EXHAUSTED'],
    ];
    for (const [ctx, reason] of cases) assert.deepEqual(evaluate(ticket, ctx), { allow: false, reason }, reason);
  });

  it('denies when the status is required but was not established', () => {
    const c = cred({ zones: ['A'] }, { status: { idx: 1, uri: 'ct:abcd' } });
    assert.equal(evaluate(c, { now: NOW, zones: ['A'], requireStatus: true }).reason, 'STATUS_UNKNOWN');
    assert.equal(evaluate(c, { now: NOW, zones: ['A'], requireStatus: true, status: 'valid' }).reason, 'GRANTED');
  });

  it('denies a schedule whose zone this platform does not know (fail closed)', () => {
    const c = cred({ zones: ['A'] });
    const odd = { ...c, grants: { ...c.grants, schedule: [[0x7f, 0, 1440]] as const, timeZone: 'Mars/Olympus' } } as unknown as CredentialClaims;
    assert.equal(evaluate(odd, { now: NOW, zones: ['A'] }).reason, 'SCHEDULE_ZONE_UNKNOWN');
  });

  it('treats a credential without class as the lowest class', () => {
    const c = cred({ zones: ['A'] });
    assert.equal(evaluate(c, { now: NOW, zones: ['A'], class: 2 }).reason, 'CLASS_NOT_GRANTED');
    assert.equal(evaluate(c, { now: NOW, zones: ['A'], class: 9 }).reason, 'GRANTED');
  });

  it('grants a visitor badge for door 3 on Tuesday 9–17 only', () => {
    const badge = cred({ resources: ['door:hq/floor3/d3'], schedule: [[0b10, 540, 1020]], timeZone: 'Europe/Berlin' }, { exp: NOW_S + 30 * 86400 });
    const tuesday10 = Date.UTC(2026, 5, 9, 8, 0);
    assert.equal(evaluate(badge, { now: tuesday10, resource: 'door:hq/floor3/d3' }).reason, 'GRANTED');
    assert.equal(evaluate(badge, { now: tuesday10, resource: 'door:hq/floor3/d4' }).reason, 'RESOURCE_NOT_GRANTED');
    assert.equal(evaluate(badge, { now: NOW, resource: 'door:hq/floor3/d3' }).reason, 'OUTSIDE_SCHEDULE');
  });
});

const zoneName = fc.stringMatching(/^[A-Z][A-Z0-9]{0,3}$/);

describe('zones (property-based)', () => {
  it('a journey is granted exactly when every zone it touches is granted', () => {
    fc.assert(
      fc.property(fc.uniqueArray(zoneName, { minLength: 1, maxLength: 10 }), fc.array(zoneName, { minLength: 1, maxLength: 6 }), (granted, journey) => {
        const d = evaluate(cred({ zones: granted }), { now: NOW, zones: journey });
        assert.equal(d.allow, journey.every((z) => granted.includes(z)));
        assert.equal(d.reason, d.allow ? 'GRANTED' : 'ZONE_NOT_GRANTED');
      }),
    );
  });

  it('zones are compared exactly: case and prefixes never widen a grant', () => {
    fc.assert(
      fc.property(zoneName, (z) => {
        const c = cred({ zones: [z] });
        assert.equal(evaluate(c, { now: NOW, zones: [z.toLowerCase()] }).allow, z === z.toLowerCase());
        assert.equal(evaluate(c, { now: NOW, zones: [`${z}0`] }).allow, false);
      }),
    );
  });
});

const segment = fc.stringMatching(/^[a-z0-9]{1,6}$/);
const path = fc.array(segment, { minLength: 1, maxLength: 5 });

describe('resource patterns (property-based)', () => {
  it('`*` matches exactly one whole segment', () => {
    fc.assert(
      fc.property(path, fc.nat(), segment, (p, at, other) => {
        const i = at % p.length;
        const pattern = `door:${p.map((s, j) => (j === i ? '*' : s)).join('/')}`;
        assert.ok(isResourcePattern(pattern));
        assert.equal(matchResource(pattern, `door:${p.map((s, j) => (j === i ? other : s)).join('/')}`), true);
        assert.equal(matchResource(pattern, `door:${[...p, other].join('/')}`), false);
        if (p.length > 1) assert.equal(matchResource(pattern, `door:${p.slice(0, -1).join('/')}`), false);
      }),
    );
  });

  it('a trailing `**` matches one or more segments below its prefix and nothing beside it', () => {
    fc.assert(
      fc.property(path, fc.array(segment, { minLength: 1, maxLength: 3 }), (prefix, rest) => {
        const pattern = `door:${prefix.join('/')}/**`;
        assert.equal(matchResource(pattern, `door:${[...prefix, ...rest].join('/')}`), true);
        assert.equal(matchResource(pattern, `door:${prefix.join('/')}`), false);
        assert.equal(matchResource(pattern, `door:${prefix.join('/')}x/${rest.join('/')}`), false);
        assert.equal(matchResource(pattern, `gate:${[...prefix, ...rest].join('/')}`), false);
      }),
    );
  });

  it('refuses wildcards inside segments, empty and dot segments, and `**` before the end', () => {
    for (const p of ['door:hq/flo*', 'door:hq//x', 'door:hq/../x', 'door:**/x', 'door:', ':hq', 'Door:hq']) assert.equal(isResourcePattern(p), false, p);
    for (const r of ['door:hq/*', 'door:hq/.', 'door:']) assert.equal(isResource(r), false, r);
    throwsCode(() => validateGrants({ resources: ['door:hq/flo*'] }), 'CREDENTIAL_GRANTS_INVALID');
  });
});

describe('grants validation', () => {
  it('refuses each malformed grant with CREDENTIAL_GRANTS_INVALID', () => {
    const bad: Record<string, unknown>[] = [
      { zones: [] },
      { zones: ['A', 'A'] },
      { schedule: [[0, 0, 60]], timeZone: 'UTC' },
      { schedule: [[1, 60, 60]], timeZone: 'UTC' },
      { schedule: [[1, 0, 1441]], timeZone: 'UTC' },
      { schedule: [[1, 0, 60]] },
      { schedule: [[1, 0, 60]], timeZone: 'Mars/Olympus' },
      { timeZone: 'UTC' },
      { class: 0 },
      { uses: 1.5 },
      { attributes: ['stu dent'] },
      { colour: 'red' },
    ];
    for (const g of bad) throwsCode(() => validateGrants(g), 'CREDENTIAL_GRANTS_INVALID');
    throwsCode(() => validateGrants(null), 'CREDENTIAL_GRANTS_INVALID');
  });

  it('keeps what it validated frozen', () => {
    const g: Grants = validateGrants({ zones: ['A'] });
    assert.ok(Object.isFrozen(g) && Object.isFrozen(g.zones));
  });
});
