/**
 * Plausibility of a reading against the meter's previous one (docs/metering.md, plausibility).
 * Pure: what was stored before and what arrived in, the list of anomalies out. An implausible
 * reading is still authentic, so it is stored (flagged) and alerted, never silently dropped.
 */
import { CityTrustError } from '../core/errors.ts';
import type { Reading } from './payload.ts';

/**
 * Meter classes and their bounds: the largest power the meter's connection can carry
 * (IEC 62053-21 current class × nominal voltage, rounded up), which caps energy per interval.
 */
export const METER_CLASSES = {
  residential: { maxPowerW: 25_000 },
  commercial: { maxPowerW: 150_000 },
  industrial: { maxPowerW: 2_000_000 },
} as const;
export type MeterClass = keyof typeof METER_CLASSES;

export function checkMeterClass(c: unknown): MeterClass {
  if (typeof c !== 'string' || !Object.hasOwn(METER_CLASSES, c)) throw new CityTrustError('METER_CLASS_UNKNOWN', `meter class must be one of ${Object.keys(METER_CLASSES).join(', ')}`);
  return c as MeterClass;
}

export const PLAUSIBILITY_KINDS = ['METER_REGISTER_BACKWARDS', 'METER_CONSUMPTION_IMPLAUSIBLE', 'METER_POWER_IMPLAUSIBLE', 'METER_CLOCK_SKEW', 'METER_TIME_BACKWARDS', 'METER_COUNTER_GAP', 'METER_READING_GAP'] as const;
export type PlausibilityKind = (typeof PLAUSIBILITY_KINDS)[number];

export interface Anomaly {
  readonly kind: PlausibilityKind;
  readonly details: Record<string, number | string>;
}

export interface PreviousReading {
  readonly counter: number;
  readonly time: number | null;
  readonly importWh: number | null;
  readonly exportWh: number | null;
}

export interface PlausibilityRules {
  readonly maxClockSkewMs: number;
  /** Expected time between readings; a silence longer than twice this is a gap. */
  readonly readingIntervalMs: number;
  /** Allowance over the class bound for register rounding and meter accuracy (e.g. 1.1). */
  readonly tolerance: number;
}

export function checkReading(r: Reading, counter: number, prev: PreviousReading, cls: MeterClass, receivedAt: number, rules: PlausibilityRules): Anomaly[] {
  const out: Anomaly[] = [];
  const { maxPowerW } = METER_CLASSES[cls];
  if (Math.abs(r.time - receivedAt) > rules.maxClockSkewMs) out.push({ kind: 'METER_CLOCK_SKEW', details: { meterTime: r.time, receivedAt, skewMs: r.time - receivedAt } });
  if (Math.abs(r.powerW) > maxPowerW * rules.tolerance) out.push({ kind: 'METER_POWER_IMPLAUSIBLE', details: { powerW: r.powerW, maxPowerW } });
  // Frames of other types (key establishment, acks) also use counters; only a jump past them is a gap.
  if (prev.counter > 0 && counter > prev.counter + 1) out.push({ kind: 'METER_COUNTER_GAP', details: { from: prev.counter, to: counter, missing: counter - prev.counter - 1 } });
  if (prev.importWh === null || prev.exportWh === null || prev.time === null) return out;

  const dImport = r.importWh - prev.importWh;
  const dExport = r.exportWh - prev.exportWh;
  if (dImport < 0 || dExport < 0) out.push({ kind: 'METER_REGISTER_BACKWARDS', details: { importWh: r.importWh, previousImportWh: prev.importWh, exportWh: r.exportWh, previousExportWh: prev.exportWh } });
  const dt = r.time - prev.time;
  if (dt < 0) {
    out.push({ kind: 'METER_TIME_BACKWARDS', details: { meterTime: r.time, previousTime: prev.time } });
  } else {
    // Energy the connection can carry in dt, plus 1 Wh for register rounding.
    const maxWh = (maxPowerW * dt * rules.tolerance) / 3_600_000 + 1;
    if (dImport > maxWh || dExport > maxWh) out.push({ kind: 'METER_CONSUMPTION_IMPLAUSIBLE', details: { importWh: dImport, exportWh: dExport, intervalMs: dt, maxWh: Math.floor(maxWh) } });
    if (dt > 2 * rules.readingIntervalMs) out.push({ kind: 'METER_READING_GAP', details: { intervalMs: dt, expectedMs: rules.readingIntervalMs } });
  }
  return out;
}
