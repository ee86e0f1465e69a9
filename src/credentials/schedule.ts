/**
 * Weekly schedules in a named IANA time zone (device-side, pure).
 *
 * A window is [days, start, end]: `days` a bit set (bit 0 = Monday … bit 6 = Sunday), `start` and
 * `end` minutes after local midnight (0 ≤ start ≤ 1439, 1 ≤ end ≤ 1440, start ≠ end). When
 * end < start the window runs overnight and belongs to the day it starts on (Friday 22:00–02:00
 * covers Saturday 01:00 through Friday's bit).
 *
 * Windows are wall-clock times: an instant is turned into the local date and time of the zone
 * with Intl.DateTimeFormat (the platform's tz database), and only then compared. On the spring-
 * forward day a 09:00–17:00 window is still 09:00–17:00 local time; local times that do not exist
 * (02:30 in Berlin on the last Sunday of March) are never reached; local times that happen twice
 * (02:30 on the last Sunday of October) match on both occurrences.
 */
export type ScheduleWindow = readonly [days: number, start: number, end: number];

export interface LocalTime {
  /** 0 = Monday … 6 = Sunday (ISO 8601 order). */
  readonly weekday: number;
  /** Minutes after local midnight, 0..1439. */
  readonly minute: number;
}

const WEEKDAY: Readonly<Record<string, number>> = { Mon: 0, Tue: 1, Wed: 2, Thu: 3, Fri: 4, Sat: 5, Sun: 6 };
// Constructing a DateTimeFormat costs ~50 µs; readers evaluate thousands of taps per zone.
const formatters = new Map<string, Intl.DateTimeFormat>();
const MAX_CACHED_ZONES = 64;

function formatter(timeZone: string): Intl.DateTimeFormat | undefined {
  let f = formatters.get(timeZone);
  if (f !== undefined) return f;
  try {
    f = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  } catch {
    return undefined;
  }
  // Only IANA names as the platform spells them: "europe/berlin" and offsets such as "+01:00"
  // (which DateTimeFormat also takes) are not zone names, and a credential must name a zone.
  if (!/^[A-Za-z]/.test(timeZone) || (f.resolvedOptions().timeZone !== timeZone && !Intl.supportedValuesOf('timeZone').includes(timeZone))) return undefined;
  if (formatters.size >= MAX_CACHED_ZONES) formatters.delete(formatters.keys().next().value as string);
  formatters.set(timeZone, f);
  return f;
}

/** Whether the platform knows `timeZone` as an IANA zone name. */
export function isTimeZone(timeZone: unknown): timeZone is string {
  return typeof timeZone === 'string' && timeZone.length > 0 && timeZone.length <= 64 && formatter(timeZone) !== undefined;
}

/** Local weekday and minute of `epochMs` in `timeZone`, or undefined when the zone is unknown here. */
export function localTime(epochMs: number, timeZone: string): LocalTime | undefined {
  const f = formatter(timeZone);
  if (f === undefined) return undefined;
  let weekday = -1;
  let hour = -1;
  let minute = -1;
  for (const p of f.formatToParts(epochMs)) {
    if (p.type === 'weekday') weekday = WEEKDAY[p.value] ?? -1;
    else if (p.type === 'hour') hour = Number(p.value);
    else if (p.type === 'minute') minute = Number(p.value);
  }
  if (weekday < 0 || !(hour >= 0 && hour < 24) || !(minute >= 0 && minute < 60)) return undefined;
  return { weekday, minute: hour * 60 + minute };
}

export function isScheduleWindow(w: unknown): w is ScheduleWindow {
  if (!Array.isArray(w) || w.length !== 3) return false;
  const [days, start, end] = w as unknown[];
  return (
    Number.isInteger(days) && (days as number) >= 1 && (days as number) <= 0x7f &&
    Number.isInteger(start) && (start as number) >= 0 && (start as number) <= 1439 &&
    Number.isInteger(end) && (end as number) >= 1 && (end as number) <= 1440 && start !== end
  );
}

/** Whether a local time falls in a window (see the module comment for overnight windows). */
export function inWindow(t: LocalTime, [days, start, end]: ScheduleWindow): boolean {
  const today = (days >> t.weekday) & 1;
  if (start < end) return today === 1 && t.minute >= start && t.minute < end;
  const yesterday = (days >> ((t.weekday + 6) % 7)) & 1;
  return (today === 1 && t.minute >= start) || (yesterday === 1 && t.minute < end);
}

/** Whether `epochMs` falls in any window; undefined when the zone is unknown on this platform. */
export function inSchedule(epochMs: number, timeZone: string, windows: readonly ScheduleWindow[]): boolean | undefined {
  const t = localTime(epochMs, timeZone);
  if (t === undefined) return undefined;
  return windows.some((w) => inWindow(t, w));
}
