/**
 * Smart meters: simulated meters (the meter-side code in src/metering/meter.ts) enrolled
 * through the city meters CA with a one-time bootstrap token, pinning the utility's head-end
 * keys, sending signed and encrypted readings to the ingest; then an operator (or an attacker
 * holding an operator token) asks to disconnect every meter at once and the blackout guard
 * refuses it. Every frame travels as a real meter's does: published QoS 1 on the meter's up
 * topic of the embedded MQTT broker (MeterMqttClient), which hands it to the ingest and
 * acknowledges it (PUBACK) once it is stored.
 */
import { CityTrustError } from '../../core/errors.ts';
import { MemoryMeterStorage, MeterMqttClient, SimulatedMeter } from '../../metering/meter.ts';
import { TAMPER_REASONS } from '../../metering/payload.ts';
import type { Scenario, World } from '../types.ts';
import { demoFleet, SIM_ACTOR } from './city-pki.ts';

const TENANT = 'utility';
const TAMPER_REASON = TAMPER_REASONS[0];

export function metersScenario(intervalMs = 2000): Scenario {
  const meters: MeterMqttClient[] = [];
  const links: MeterMqttClient[] = [];
  let timer: NodeJS.Timeout | undefined;
  let guardTimer: NodeJS.Timeout | undefined;
  let guard = '';
  let inflight: Promise<unknown> = Promise.resolve();
  /** Publishes a frame; the embedded broker acknowledges it once the ingest has handled it. */
  const submit = async (w: World, m: MeterMqttClient, frame: Uint8Array | undefined, counter: string) => {
    if (!frame) return;
    await m.send(frame);
    w.stats.inc(counter);
  };
  return {
    name: 'meters',
    async setup(w: World) {
      const m8 = w.ctx.metering;
      // The command path needs a broker; the demo runs the embedded one on a free local port.
      const mqtt = await m8.startTransport({ ...w.ctx.config.mqtt, url: undefined, embedded: true, host: '127.0.0.1', port: 0, tls: false });
      w.say(`  MQTT:           ${mqtt.kind}${mqtt.url ? ` ${mqtt.url}` : ''}`);
      if (!mqtt.url) throw new Error('the embedded MQTT broker did not start');
      for (const d of demoFleet(w.options).filter((x) => x.type === 'meter')) {
        try {
          await m8.meters.register({ tenant: TENANT, id: d.id, district: d.site, class: 'residential', customer: { name: `Customer ${d.id}`, address: `${d.id} Main Street`, protected: false } }, SIM_ACTOR);
        } catch (e) {
          // A meter from an earlier run kept its keys in that run's memory: it stays on the books, silent.
          if (e instanceof CityTrustError && e.code === 'METER_EXISTS') continue;
          throw e;
        }
        const m = SimulatedMeter.open({ tenant: TENANT, meterId: d.id, storage: new MemoryMeterStorage(), clock: w.ctx.clock });
        m.generateIdentity();
        const token = await w.ctx.bootstrap.create(TENANT, TENANT, d.id, SIM_ACTOR);
        m.installCertificate((await w.ctx.pki.enroll(m.csr(), token.token, d.id)).der);
        m.trustHeadEnd(await m8.keys.headEndInfo(TENANT));
        const link = await MeterMqttClient.connect(m, { url: mqtt.url, keepaliveSeconds: 60 });
        links.push(link);
        await link.establishKey();
        w.stats.inc('meters.keys_established');
        meters.push(link);
      }
      w.say(`  meters:         ${meters.length} meters enrolled through the meters CA this run, connected to the broker, session keys established over MQTT`);
    },
    async start(w: World) {
      const tick = () => {
        inflight = Promise.all(meters.map((m) => submit(w, m, m.meter.reading(), 'meters.readings'))).catch(() => w.stats.inc('meters.errors'));
      };
      timer = setInterval(tick, intervalMs);
      timer.unref();
      guardTimer = setTimeout(() => {
        // Someone pries the last meter's cover open: it reports, signed, then wipes its keys.
        const victim = meters.pop();
        if (victim) {
          const frame = victim.meter.tamper(TAMPER_REASON);
          if (victim.meter.phase === 'wiped') w.stats.inc('meters.zeroized');
          const done = submit(w, victim, frame, 'meters.tamper_sent').then(async () => {
            const alerts = await w.ctx.metering.alerts(null, TENANT, { meterId: victim.meter.meterId, kind: 'METER_TAMPER' });
            if (alerts.length > 0) w.stats.inc('meters.alerts.tamper');
          });
          void done.then(() => w.say(`  tamper:         ${victim.meter.meterId} cover opened; signed tamper event over MQTT ${w.stats.get('meters.alerts.tamper') ? 'stored as an alert' : 'NOT stored'}; meter keys ${victim.meter.phase}`), () => w.stats.inc('meters.errors'));
        }
        const ids = meters.map((m) => m.meter.meterId);
        if (ids.length === 0) return;
        m8request(w, ids).then(
          (code) => {
            guard = code;
            w.stats.inc(code === 'METER_COMMAND_GUARD' ? 'guard.refused' : `meters.commands.${code}`);
            w.say(`  blackout guard: a disconnect of all ${ids.length} meters was asked for; answer: ${code}`);
          },
          () => w.stats.inc('meters.errors'),
        );
      }, intervalMs);
      guardTimer.unref();
    },
    summary: (w) => [`meters: ${w.stats.get('meters.readings')} readings stored from ${meters.length} meters over MQTT; ${w.stats.get('meters.zeroized')} tampered meter zeroized${guard ? `; mass disconnect: ${guard}` : ''}`],
    async stop() {
      if (timer) clearInterval(timer);
      if (guardTimer) clearTimeout(guardTimer);
      await inflight;
      await Promise.allSettled(links.map((l) => l.close()));
    },
  };
}

async function m8request(w: World, meters: string[]): Promise<string> {
  try {
    const c = await w.ctx.metering.commands.request({ tenant: TENANT, action: 'disconnect', meters, reason: 'demo: mass disconnect attempt' }, SIM_ACTOR);
    return `accepted (${c.state})`;
  } catch (e) {
    if (e instanceof CityTrustError) return e.code;
    throw e;
  }
}
