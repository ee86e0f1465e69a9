/** Weekly schedules in IANA time zones, across DST changes; property-based against independent DST rules. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { inSchedule, inWindow, isTimeZone, localTime, type ScheduleWindow } from '../../src/credentials/device.ts';

const H = 3600_000;
const M = 60_000;
const SUNDAY = 1 << 6;

/** Last Sunday of a month at 01:00 UTC (EU rule since 1996). */
function lastSundayUtc(year: number, month: number): number {
  const last = new Date(Date.UTC(year, month + 1, 0, 1));
  return last.getTime() - last.getUTCDay() * 24 * H;
}
/** nth Sunday of a month at `hourUtc` (US rule since 2007). */
function nthSundayUtc(year: number, month: number, n: number, hourUtc: number): number {
  const first = new Date(Date.UTC(year, month, 1, hourUtc));
  return first.getTime() + (((7 - first.getUTCDay()) % 7) + 7 * (n - 1)) * 24 * H;
}
function berlinOffset(t: number): number {
  const y = new Date(t).getUTCFullYear();
  return t >= lastSundayUtc(y, 2) && t < lastSundayUtc(y, 9) ? 2 * H : 1 * H;
}
function newYorkOffset(t: number): number {
  const y = new Date(t).getUTCFullYear();
  return t >= nthSundayUtc(y, 2, 2, 7) && t < nthSundayUtc(y, 10, 1, 6) ? -4 * H : -5 * H;
}
/** Local time computed from an offset rule, without Intl. */
function reference(t: number, offset: (t: number) => number): { weekday: number; minute: number } {
  const d = new Date(t + offset(t));
  return { weekday: (d.getUTCDay() + 6) % 7, minute: d.getUTCHours() * 60 + d.getUTCMinutes() };
}

const window = fc.tuple(fc.integer({ min: 1, max: 127 }), fc.integer({ min: 0, max: 1439 }), fc.integer({ min: 1, max: 1440 })).filter(([, s, e]) => s !== e) as fc.Arbitrary<ScheduleWindow>;
const instant = fc.integer({ min: Date.UTC(2008, 0, 1), max: Date.UTC(2037, 11, 31) }).map((t) => t - (t % M));

describe('local time in a named zone', () => {
  it('agrees with the EU DST rule for Europe/Berlin at every instant from 2008 to 2037', () => {
    fc.assert(fc.property(instant, (t) => assert.deepEqual(localTime(t, 'Europe/Berlin'), reference(t, berlinOffset))), { numRuns: 2000 });
  });

  it('agrees with the US DST rule for America/New_York at every instant from 2008 to 2037', () => {
    fc.assert(fc.property(instant, (t) => assert.deepEqual(localTime(t, 'America/New_York'), reference(t, newYorkOffset))), { numRuns: 2000 });
  });

  it('knows IANA names and refuses offsets, wrong case and unknown names', () => {
    assert.ok(isTimeZone('Europe/Berlin'));
    assert.ok(isTimeZone('America/New_York'));
    for (const z of ['europe/berlin', '+01:00', 'Mars/Olympus', '', 'x'.repeat(80)]) assert.equal(isTimeZone(z), false, z);
    assert.equal(localTime(0, 'Mars/Olympus'), undefined);
  });
});

describe('a 09:00–17:00 Sunday window in Europe/Berlin', () => {
  const w: ScheduleWindow[] = [[SUNDAY, 540, 1020]];
  it('opens at 09:00 local time on the spring-forward day (29 March 2026, UTC+2 from 03:00)', () => {
    assert.equal(inSchedule(Date.UTC(2026, 2, 29, 6, 59), 'Europe/Berlin', w), false);
    assert.equal(inSchedule(Date.UTC(2026, 2, 29, 7, 0), 'Europe/Berlin', w), true);
    assert.equal(inSchedule(Date.UTC(2026, 2, 29, 14, 59), 'Europe/Berlin', w), true);
    assert.equal(inSchedule(Date.UTC(2026, 2, 29, 15, 0), 'Europe/Berlin', w), false);
  });
  it('opens at 09:00 local time on the fall-back day (25 October 2026, UTC+1 from 03:00)', () => {
    assert.equal(inSchedule(Date.UTC(2026, 9, 25, 7, 59), 'Europe/Berlin', w), false);
    assert.equal(inSchedule(Date.UTC(2026, 9, 25, 8, 0), 'Europe/Berlin', w), true);
    assert.equal(inSchedule(Date.UTC(2026, 9, 25, 15, 59), 'Europe/Berlin', w), true);
    assert.equal(inSchedule(Date.UTC(2026, 9, 25, 16, 0), 'Europe/Berlin', w), false);
  });
});

describe('windows over the hour that DST skips or repeats', () => {
  const minutes = (from: number, to: number) => Array.from({ length: (to - from) / M }, (_, i) => from + i * M);
  it('a 02:00–03:00 window never opens on the Berlin spring-forward day and is open two real hours on the fall-back day', () => {
    const w: ScheduleWindow[] = [[SUNDAY, 120, 180]];
    const spring = minutes(Date.UTC(2026, 2, 28, 22), Date.UTC(2026, 2, 29, 22)).filter((t) => inSchedule(t, 'Europe/Berlin', w));
    assert.equal(spring.length, 0);
    const fall = minutes(Date.UTC(2026, 9, 24, 22), Date.UTC(2026, 9, 25, 23)).filter((t) => inSchedule(t, 'Europe/Berlin', w));
    assert.equal(fall.length, 120);
    assert.equal(fall[0], Date.UTC(2026, 9, 25, 0, 0));
  });
  it('a 01:00–02:00 window is open two real hours on the New York fall-back day (1 November 2026) and a 02:00–03:00 one never on 8 March 2026', () => {
    const fall = minutes(Date.UTC(2026, 10, 1, 4), Date.UTC(2026, 10, 2, 5)).filter((t) => inSchedule(t, 'America/New_York', [[SUNDAY, 60, 120]]));
    assert.equal(fall.length, 120);
    const spring = minutes(Date.UTC(2026, 2, 8, 5), Date.UTC(2026, 2, 9, 5)).filter((t) => inSchedule(t, 'America/New_York', [[SUNDAY, 120, 180]]));
    assert.equal(spring.length, 0);
  });
});

describe('window edges (property-based)', () => {
  it('a window is half-open: start is inside, end is outside, for every day set', () => {
    fc.assert(
      fc.property(window, fc.integer({ min: 0, max: 6 }), ([days, s, e], wd) => {
        const dayOn = ((days >> wd) & 1) === 1;
        if (s < e) {
          assert.equal(inWindow({ weekday: wd, minute: s }, [days, s, e]), dayOn);
          if (e < 1440) assert.equal(inWindow({ weekday: wd, minute: e }, [days, s, e]), false);
          if (s > 0) assert.equal(inWindow({ weekday: wd, minute: s - 1 }, [days, s, e]), false);
        }
      }),
    );
  });

  it('an overnight window equals its evening part on the start day plus its morning part on the next day', () => {
    fc.assert(
      fc.property(window.filter(([, s, e]) => e < s), fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 1439 }), ([days, s, e], wd, minute) => {
        const next = ((days << 1) | (days >> 6)) & 0x7f;
        const t = { weekday: wd, minute };
        assert.equal(inWindow(t, [days, s, e]), inWindow(t, [days, s, 1440]) || inWindow(t, [next, 0, e]));
      }),
    );
  });

  it('inSchedule in UTC equals plain UTC arithmetic', () => {
    fc.assert(
      fc.property(instant, fc.array(window, { minLength: 1, maxLength: 4 }), (t, ws) => {
        const d = new Date(t);
        const local = { weekday: (d.getUTCDay() + 6) % 7, minute: d.getUTCHours() * 60 + d.getUTCMinutes() };
        assert.equal(inSchedule(t, 'UTC', ws), ws.some((w) => inWindow(local, w)));
      }),
      { numRuns: 500 },
    );
  });
});
