/**
 * A simulated smart meter: identity key in a (simulated) secure element, certificate from the
 * PKI, registers, a persisted invocation counter, signed and encrypted uplink frames, verified
 * commands with signed acknowledgements, and a tamper switch that reports and then wipes the
 * meter's keys. Device-side: no database, no server code (test/architecture/import-rule.test.ts).
 */
import { sign as cryptoSign, type KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import type { Clock } from '../core/clock.ts';
import { CityTrustError } from '../core/errors.ts';
import { bytesEqual, fromBase64, fromBase64Url, fromHex, toBase64, toHex } from '../core/bytes.ts';
import { exportRawPublicKey, exportSpkiPublicKey, generateEphemeralKeyPair, generateKeyPair, importRawPrivateKey, importSpkiPublicKey, publicKeyOf } from '../crypto/index.ts';
import { createMeterCsr } from './csr.ts';
import { MAX_INVOCATION_COUNTER, type UplinkType } from './frame.ts';
import { ackResultFor, verifyCommand } from './meter-command.ts';
import type { MeterStorage, PersistedMeterState } from './meter-storage.ts';
import { STATUS, decodeTariff, decodeTimeSync, encodeAck, encodeKeyEstablishment, encodeReading, encodeTamper, type AckResult, type Registers, type TamperReason } from './payload.ts';
import { buildUplink, deriveMeterSessionKey, kdfInfo, sessionKeyId, sessionKeyObject, systemTitleOf } from './suite.ts';
import { validateHeadEndKey, type TrustedHeadEndKey } from './head-end-trust.ts';
import { validateChain } from '../pki/validate.ts';

/**
 * The head-end's public keys as `GET /v1/metering/tenants/{tenant}/head-end` publishes them:
 * each with its certificate from the meters CA (DER, base64), and the CA chain above them.
 */
export interface HeadEndInfo {
  readonly tenant: string;
  readonly keyAgreement: { readonly keyId: string; readonly spki: string; readonly certificate?: string };
  readonly commandKeys: readonly { readonly keyId: string; readonly spki: string; readonly certificate?: string }[];
  /** CA certificates above the head-end certificates (DER, base64): the meters CA, then the root. */
  readonly chain?: readonly string[];
}

export interface SimulatedMeterOptions {
  readonly tenant: string;
  readonly meterId: string;
  readonly storage: MeterStorage;
  /** The meter's oscillator; time-sync commands add an offset to it. */
  readonly clock: Clock;
  /** Counter values reserved per durable write (default 1: write before every frame). */
  readonly counterBlock?: number;
  /** Clock tolerance when checking command validity (default 5 minutes). */
  readonly commandSkewMs?: number;
}

/** The command counter of a command frame (docs/meter-frames.md: bytes 19–26, 53 bits), read before it is verified. */
function readCounter(bytes: Uint8Array): number {
  return Number(new DataView(bytes.buffer, bytes.byteOffset + 19, 8).getBigUint64(0) & 0x1f_ffff_ffff_ffffn);
}

export type MeterPhase = 'new' | 'keyed' | 'certified' | 'ready' | 'wiped';

function freshState(tenant: string, meterId: string): PersistedMeterState {
  return { format: 1, tenant, meterId, counterReserved: 0, commandCounter: 0, importWh: 0, exportWh: 0, relayConnected: true, tariffId: 0, clockOffsetMs: 0, wiped: false };
}

/** The SubjectPublicKeyInfo DER of a certificate. */
function certificateSpki(der: Uint8Array): Uint8Array {
  try {
    const cert = AsnConvert.parse(der, Certificate);
    return new Uint8Array(AsnConvert.serialize(cert.tbsCertificate.subjectPublicKeyInfo));
  } catch (e) {
    throw new CityTrustError('METER_ENROLMENT_FAILED', 'the certificate is not DER X.509', { cause: e });
  }
}

export class SimulatedMeter {
  readonly tenant: string;
  readonly meterId: string;
  readonly systemTitle: Uint8Array;
  readonly #storage: MeterStorage;
  readonly #clock: Clock;
  readonly #block: number;
  readonly #skewMs: number;
  #st: PersistedMeterState;
  #counter: number;
  #identity: { privateKey: KeyObject; publicKey: KeyObject } | undefined;
  #headEnd: { keyAgreement: KeyObject; keyAgreementId: Uint8Array; commandKeys: Map<string, { key: KeyObject; notAfter: number }> } | undefined;
  #session: { key: KeyObject; keyId: Uint8Array } | undefined;
  #powerW = 0;
  #residualWh = 0;

  private constructor(o: SimulatedMeterOptions, st: PersistedMeterState) {
    this.tenant = o.tenant;
    this.meterId = o.meterId;
    this.systemTitle = systemTitleOf(o.tenant, o.meterId);
    this.#storage = o.storage;
    this.#clock = o.clock;
    this.#block = o.counterBlock ?? 1;
    this.#skewMs = o.commandSkewMs ?? 300_000;
    this.#st = st;
    // Values reserved before a restart may have been used: never hand them out again.
    this.#counter = st.counterReserved;
    if (st.identityKey) {
      const privateKey = importRawPrivateKey('P-256', fromBase64Url(st.identityKey));
      this.#identity = { privateKey, publicKey: publicKeyOf(privateKey) };
    }
    if (st.headEnd) this.#loadHeadEnd(st.headEnd);
  }

  /** Opens the meter with its persisted state (or a factory-new one). */
  static open(o: SimulatedMeterOptions): SimulatedMeter {
    if (!Number.isInteger(o.counterBlock ?? 1) || (o.counterBlock ?? 1) < 1) throw new CityTrustError('INPUT_INVALID', 'counterBlock is a positive integer');
    const st = o.storage.load();
    if (st && (st.tenant !== o.tenant || st.meterId !== o.meterId)) throw new CityTrustError('METER_NOT_PROVISIONED', 'the stored state belongs to another meter');
    const m = new SimulatedMeter(o, st ?? freshState(o.tenant, o.meterId));
    if (!st) m.#save();
    return m;
  }

  get phase(): MeterPhase {
    if (this.#st.wiped) return 'wiped';
    if (!this.#identity) return 'new';
    if (!this.#st.certificate) return 'keyed';
    if (!this.#session) return 'certified';
    return 'ready';
  }

  /** Meter time: oscillator plus the offset set by time sync. */
  now(): number {
    return this.#clock.now() + this.#st.clockOffsetMs;
  }

  get registers(): Registers {
    return { importWh: this.#st.importWh, exportWh: this.#st.exportWh, powerW: this.#st.relayConnected ? this.#powerW : 0 };
  }
  get relayConnected(): boolean {
    return this.#st.relayConnected;
  }
  get tariffId(): number {
    return this.#st.tariffId;
  }
  /** Last invocation counter used (or skipped after a restart). */
  get counter(): number {
    return this.#counter;
  }
  get commandCounter(): number {
    return this.#st.commandCounter;
  }
  get certificate(): Uint8Array | undefined {
    return this.#st.certificate ? fromBase64(this.#st.certificate) : undefined;
  }

  /**
   * The identity key and certificate for mutual TLS to the broker, as PEM. A real meter's TLS
   * stack would sign inside its secure element; the simulation hands the key to node's TLS.
   */
  tlsIdentity(): { key: string; cert: string } {
    const id = this.#need();
    const cert = this.#st.certificate;
    if (!cert) throw new CityTrustError('METER_NOT_PROVISIONED', 'the meter has no certificate yet');
    const b64 = cert.replace(/.{1,64}/g, '$&\n');
    return { key: String(id.privateKey.export({ type: 'pkcs8', format: 'pem' })), cert: `-----BEGIN CERTIFICATE-----\n${b64}-----END CERTIFICATE-----\n` };
  }

  // ---- provisioning ----

  /** Generates the identity key once, inside the (simulated) secure element. */
  generateIdentity(): void {
    this.#live();
    if (this.#identity) return;
    const { privateKey, publicKey } = generateKeyPair('P-256');
    this.#identity = { privateKey, publicKey };
    const d = privateKey.export({ format: 'jwk' }).d;
    if (typeof d !== 'string') throw new CityTrustError('INTERNAL', 'the key export has no scalar');
    this.#st.identityKey = d;
    this.#save();
  }

  /** SubjectPublicKeyInfo of the identity key. */
  publicKeySpki(): Uint8Array {
    return exportSpkiPublicKey(this.#need().publicKey);
  }

  /**
   * Signs with the identity key (the key its PKI certificate certifies), ES256 as r ‖ s: what
   * the update routine needs for its install reports (`MeterUpdates`, docs/updates.md).
   */
  signWithIdentity(data: Uint8Array): Uint8Array {
    this.#live();
    return new Uint8Array(cryptoSign('sha256', data, { key: this.#need().privateKey, dsaEncoding: 'ieee-p1363' }));
  }

  /** A PKCS#10 request for the identity key (CN = meter id). */
  csr(): Uint8Array {
    const id = this.#need();
    return createMeterCsr(id.privateKey, id.publicKey, this.meterId);
  }

  /** Installs the certificate the PKI issued; it must certify this meter's key. */
  installCertificate(der: Uint8Array): void {
    const id = this.#need();
    if (!bytesEqual(certificateSpki(der), exportSpkiPublicKey(id.publicKey))) {
      throw new CityTrustError('METER_ENROLMENT_FAILED', 'the certificate is for another key');
    }
    this.#st.certificate = toBase64(der);
    this.#session = undefined;
    this.#save();
  }

  /**
   * The city root(s) this meter trusts (pinned at manufacture; EST enrolment pins the one it
   * dialled with). The head-end's certificates must chain to one of them.
   */
  pinRoots(roots: readonly Uint8Array[]): void {
    this.#live();
    if (roots.length === 0) throw new CityTrustError('INPUT_INVALID', 'at least one root certificate');
    this.#st.roots = roots.map(toBase64);
    this.#save();
  }

  /**
   * Trusts the head-end's key-agreement and command keys once their certificates validate,
   * offline, at the meter's clock: chain through the meters CA to a pinned city root, profiles
   * `head-end` / `head-end-command`, the tenant's head-end URN, validity, and key ids that match
   * the certified keys (METER_HEAD_END_UNTRUSTED otherwise; nothing is kept then).
   *
   * A meter provisioned without a root (`pinRoots`) accepts the root at the end of the chain
   * only if its own certificate — obtained over the authenticated enrolment — chains to that
   * same root for the meter profile; it then pins it.
   */
  trustHeadEnd(info: HeadEndInfo, roots?: readonly Uint8Array[]): void {
    this.#live();
    if (info.tenant !== this.tenant) throw new CityTrustError('INPUT_INVALID', 'the head-end keys are for another tenant');
    const chain = (info.chain ?? []).map((c) => fromBase64(c));
    const now = this.now();
    let anchors = roots ? [...roots] : (this.#st.roots ?? []).map((r) => fromBase64(r));
    if (anchors.length === 0) anchors = this.#rootFromOwnCertificate(chain, now);
    const o = { roots: anchors, chain, now };
    const ka = validateHeadEndKey(this.tenant, 'head-end', info.keyAgreement.certificate, info.keyAgreement.keyId, o);
    const commandKeys = info.commandKeys.map((k) => validateHeadEndKey(this.tenant, 'head-end-command', k.certificate, k.keyId, o));
    const rec = { keyAgreement: ka, commandKeys, chain: info.chain ? [...info.chain] : [] };
    this.#loadHeadEnd(rec);
    this.#st.roots = anchors.map(toBase64);
    this.#st.headEnd = rec;
    this.#session = undefined;
    this.#save();
  }

  #rootFromOwnCertificate(chain: readonly Uint8Array[], now: number): Uint8Array[] {
    const own = this.#st.certificate;
    const root = chain[chain.length - 1];
    if (!own || !root) throw new CityTrustError('METER_NOT_PROVISIONED', 'the meter has no city root to validate the head-end with');
    try {
      validateChain(fromBase64(own), { anchors: [root], intermediates: chain, time: now, profile: 'meter' });
    } catch (e) {
      throw new CityTrustError('METER_HEAD_END_UNTRUSTED', "the head-end's root is not the one that certified this meter", { cause: e, details: { reason: 'foreign-root' } });
    }
    return [root];
  }

  #loadHeadEnd(rec: NonNullable<PersistedMeterState['headEnd']>): void {
    const ka = rec.keyAgreement as TrustedHeadEndKey;
    const commandKeys = new Map<string, { key: KeyObject; notAfter: number }>();
    for (const k of rec.commandKeys as TrustedHeadEndKey[]) commandKeys.set(k.keyId, { key: importSpkiPublicKey('P-256', fromBase64(k.spki)), notAfter: k.notAfter ?? 0 });
    this.#headEnd = { keyAgreement: importSpkiPublicKey('P-256', fromBase64(ka.spki)), keyAgreementId: fromHex(ka.keyId), commandKeys };
  }

  /** Re-validates the pinned key-agreement certificate at the meter's clock before a key is agreed with it. */
  #checkKeyAgreement(): void {
    const rec = this.#st.headEnd;
    if (!rec) throw new CityTrustError('METER_NOT_PROVISIONED', 'the meter needs its certificate and the head-end keys first');
    validateHeadEndKey(this.tenant, 'head-end', rec.keyAgreement.certificate, rec.keyAgreement.keyId, {
      roots: (this.#st.roots ?? []).map((r) => fromBase64(r)),
      chain: (rec.chain ?? []).map((c) => fromBase64(c)),
      now: this.now(),
    });
  }

  /**
   * One-pass Diffie-Hellman: a fresh ephemeral key agreed with the head-end's key; the session
   * key becomes current at once and the ephemeral private key is dropped.
   */
  establishKey(): Uint8Array {
    const id = this.#need();
    const cert = this.#st.certificate;
    if (!cert || !this.#headEnd) throw new CityTrustError('METER_NOT_PROVISIONED', 'the meter needs its certificate and the head-end keys first');
    this.#checkKeyAgreement();
    const eph = generateEphemeralKeyPair();
    const ephPub = exportRawPublicKey(eph.publicKey);
    const keyId = sessionKeyId(ephPub);
    const key = sessionKeyObject(deriveMeterSessionKey(eph.privateKey, this.#headEnd.keyAgreement, kdfInfo(this.systemTitle, ephPub, this.#headEnd.keyAgreementId)));
    const body = encodeKeyEstablishment({ ephemeralPublicKey: ephPub, headEndKeyId: this.#headEnd.keyAgreementId, time: this.now(), certificate: fromBase64(cert) });
    const frame = this.#frame('keyEstablishment', keyId, body, undefined, id.privateKey);
    this.#session = { key, keyId };
    return frame;
  }

  // ---- operation ----

  /** Sets the load the meter sees (W; negative = export), used by `advance`. */
  setLoad(powerW: number): void {
    if (!Number.isInteger(powerW)) throw new CityTrustError('INPUT_INVALID', 'power is whole watts');
    this.#powerW = powerW;
  }

  /** Lets `ms` pass at the current load: energy accumulates while the relay is connected. */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new CityTrustError('INPUT_INVALID', 'time passes forwards');
    if (!this.#st.relayConnected) return;
    this.#residualWh += (this.#powerW * ms) / 3_600_000;
    const whole = Math.trunc(this.#residualWh);
    this.#residualWh -= whole;
    if (whole > 0) this.#st.importWh += whole;
    else if (whole < 0) this.#st.exportWh += -whole;
  }

  /** Adds energy directly (Wh), e.g. to simulate a faulty or manipulated register. */
  addEnergy(importWh: number, exportWh = 0): void {
    this.#st.importWh += importWh;
    this.#st.exportWh += exportWh;
  }

  /** A signed, encrypted reading of the registers now. */
  reading(): Uint8Array {
    const s = this.#needSession();
    const status = this.#st.relayConnected ? STATUS.relayConnected : 0;
    const r = this.registers;
    return this.#frame('reading', s.keyId, encodeReading({ time: this.now(), importWh: r.importWh, exportWh: r.exportWh, powerW: r.powerW, status }), s.key);
  }

  /**
   * The tamper switch: a signed tamper event (when a session exists), then the identity and
   * session keys are wiped from memory and storage. The meter is dead until re-enrolled.
   */
  tamper(reason: TamperReason): Uint8Array | undefined {
    this.#live();
    let frame: Uint8Array | undefined;
    if (this.#identity && this.#session) {
      frame = this.#frame('tamper', this.#session.keyId, encodeTamper({ time: this.now(), reason, importWh: this.#st.importWh, exportWh: this.#st.exportWh }), this.#session.key);
    }
    this.#identity = undefined;
    this.#session = undefined;
    delete this.#st.identityKey;
    this.#st.wiped = true;
    this.#save();
    return frame;
  }

  /**
   * Checks a command, executes it when it passes, and answers with a signed ack either way.
   * The accepted counter and the new state are durable before the ack exists.
   */
  handleCommand(bytes: Uint8Array): { ack: Uint8Array; result: AckResult } {
    const s = this.#needSession();
    let result: AckResult = 'executed';
    let commandId = new Uint8Array(16);
    let counter = 0;
    try {
      // The head-end re-sends a command it has no ack for (after a restart): if it is the one
      // this meter accepted last, its signature and validity are checked as before, and it is
      // acked `already-executed` without being executed twice.
      const last = this.#st.lastCommand;
      const repeat = last !== undefined && bytes.length >= 59 && readCounter(bytes) === this.#st.commandCounter && toHex(bytes.subarray(43, 59)) === last.id;
      const c = verifyCommand(bytes, {
        systemTitle: this.systemTitle,
        keys: this.#commandKeys(),
        lastCounter: repeat ? this.#st.commandCounter - 1 : this.#st.commandCounter,
        now: this.now(),
        skewMs: this.#skewMs,
      });
      commandId = c.commandId.slice();
      counter = c.counter;
      if (repeat) {
        const ack = this.#frame('ack', s.keyId, encodeAck({ time: this.now(), commandId, commandCounter: counter, result: 'already-executed', relayConnected: this.#st.relayConnected }), s.key);
        return { ack, result: 'already-executed' };
      }
      switch (c.action) {
        case 'disconnect':
          this.#st.relayConnected = false;
          break;
        case 'reconnect':
          this.#st.relayConnected = true;
          break;
        case 'tariff':
          this.#st.tariffId = decodeTariff(c.argument).tariffId;
          break;
        case 'time-sync':
          this.#st.clockOffsetMs = decodeTimeSync(c.argument) - this.#clock.now();
          break;
      }
      this.#st.commandCounter = c.counter;
      this.#st.lastCommand = { id: toHex(c.commandId) };
      this.#save();
    } catch (e) {
      result = ackResultFor(e);
      // Echo what can be read of a refused command so the head-end can match the ack.
      if (bytes.length >= 59) {
        commandId = bytes.slice(43, 59);
        counter = readCounter(bytes);
      }
    }
    const ack = this.#frame('ack', s.keyId, encodeAck({ time: this.now(), commandId, commandCounter: counter, result, relayConnected: this.#st.relayConnected }), s.key);
    return { ack, result };
  }

  // ---- internals ----

  /** Command keys whose certificate is still valid at the meter clock. */
  #commandKeys(): Map<string, KeyObject> {
    const now = this.now();
    const out = new Map<string, KeyObject>();
    for (const [id, k] of this.#headEnd?.commandKeys ?? []) if (now < k.notAfter) out.set(id, k.key);
    return out;
  }

  #frame(type: UplinkType, keyId: Uint8Array, plaintext: Uint8Array, sessionKey: KeyObject | undefined, signingKey = this.#need().privateKey): Uint8Array {
    const counter = this.#nextCounter();
    return buildUplink({ type, systemTitle: this.systemTitle, counter, keyId, plaintext, signingKey, ...(sessionKey ? { sessionKey } : {}) });
  }

  #nextCounter(): number {
    if (this.#counter >= MAX_INVOCATION_COUNTER) throw new CityTrustError('METER_COUNTER_EXHAUSTED', 'the invocation counter is exhausted');
    const next = this.#counter + 1;
    if (next > this.#st.counterReserved) {
      this.#st.counterReserved = Math.min(MAX_INVOCATION_COUNTER, this.#counter + this.#block);
      this.#save();
    }
    this.#counter = next;
    return next;
  }

  #live(): void {
    if (this.#st.wiped) throw new CityTrustError('METER_WIPED', 'the meter wiped its keys after a tamper event');
  }

  #need(): { privateKey: KeyObject; publicKey: KeyObject } {
    this.#live();
    if (!this.#identity) throw new CityTrustError('METER_NOT_PROVISIONED', 'the meter has no identity key yet');
    return this.#identity;
  }

  #needSession(): { key: KeyObject; keyId: Uint8Array } {
    this.#need();
    if (!this.#session) throw new CityTrustError('METER_NOT_PROVISIONED', 'no session key is established; call establishKey()');
    return this.#session;
  }

  #save(): void {
    this.#storage.save(this.#st);
  }
}
