/**
 * Configuration: defaults, then `citytrust.config.json` in the data directory (or the file
 * named by --config / CITYTRUST_CONFIG), then CITYTRUST_* environment variables.
 *
 * Every key is declared once in SETTINGS with its type, default, environment variable and
 * range. Validation runs at start and names the bad key, so an operator never chases a
 * misconfiguration at run time. Unknown keys in the file are refused, not ignored: a typo
 * such as `sever.port` would otherwise silently run with the default.
 */
import { readFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CityTrustError } from './errors.ts';

type Kind = 'string' | 'int' | 'bool' | 'enum';

interface Setting {
  kind: Kind;
  env: string;
  default?: string | number | boolean;
  min?: number;
  max?: number;
  values?: readonly string[];
  doc: string;
}

export const SETTINGS = {
  dataDir: { kind: 'string', env: 'CITYTRUST_DATA_DIR', default: '.citytrust', doc: 'Directory holding the SQLite database, the sealed keystore and the config file.' },
  databaseUrl: { kind: 'string', env: 'DATABASE_URL', doc: 'PostgreSQL URL (postgres://…). Unset: embedded SQLite in the data directory.' },
  'server.host': { kind: 'string', env: 'CITYTRUST_HOST', default: '127.0.0.1', doc: 'Address the HTTP server binds to.' },
  'server.port': { kind: 'int', env: 'CITYTRUST_PORT', default: 8080, min: 0, max: 65535, doc: 'TCP port of the HTTP server (0 = any free port).' },
  'server.bodyLimit': { kind: 'int', env: 'CITYTRUST_BODY_LIMIT', default: 1_048_576, min: 1024, max: 64 * 1_048_576, doc: 'Largest request body in bytes.' },
  'server.rateLimit': { kind: 'int', env: 'CITYTRUST_RATE_LIMIT', default: 6000, min: 1, max: 10_000_000, doc: 'Requests per minute per client address before RATE_LIMITED.' },
  'server.trustProxy': { kind: 'bool', env: 'CITYTRUST_TRUST_PROXY', default: false, doc: 'Trust X-Forwarded-For from a load balancer.' },
  'log.level': { kind: 'enum', env: 'CITYTRUST_LOG_LEVEL', default: 'info', values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], doc: 'Log level.' },
  'audit.logName': { kind: 'string', env: 'CITYTRUST_AUDIT_LOG_NAME', default: 'citytrust.local/audit', doc: 'Origin line of audit checkpoints (C2SP signed-note); a schema-less URL-like name unique to this deployment.' },
  'audit.checkpointIntervalMs': { kind: 'int', env: 'CITYTRUST_AUDIT_CHECKPOINT_MS', default: 1000, min: 100, max: 3_600_000, doc: 'How often a new signed checkpoint is made when the log grew.' },
  'vault.backend': { kind: 'enum', env: 'CITYTRUST_VAULT_BACKEND', default: 'software', values: ['software', 'pkcs11'], doc: 'Where keys live: the sealed software keystore in the data directory, or a PKCS#11 HSM.' },
  'vault.devUnseal': { kind: 'bool', env: 'CITYTRUST_VAULT_DEV_UNSEAL', default: false, doc: 'DEVELOPMENT ONLY: keep the master key in a file in the data directory and unseal at start (what `citytrust demo` uses).' },
  'vault.maxUnsealFailures': { kind: 'int', env: 'CITYTRUST_VAULT_MAX_UNSEAL_FAILURES', default: 5, min: 1, max: 100, doc: 'Consecutive failed unseal attempts that count as an attack and zeroize the vault.' },
  'vault.sensors': { kind: 'bool', env: 'CITYTRUST_VAULT_SENSORS', default: false, doc: 'Accept tamper-sensor readings (enclosure, temperature, voltage) at POST /v1/vault/sensors; a reading outside the safe ranges zeroizes the vault.' },
  'vault.sensorHeartbeatMs': { kind: 'int', env: 'CITYTRUST_VAULT_SENSOR_HEARTBEAT_MS', default: 0, min: 0, max: 3_600_000, doc: 'With sensors on: once readings have started, silence longer than this zeroizes the vault (a cut sensor line must not silence the alarm). 0 = off.' },
  'vault.pkcs11.library': { kind: 'string', env: 'CITYTRUST_PKCS11_LIBRARY', doc: 'PKCS#11 module path (e.g. /usr/lib/softhsm/libsofthsm2.so). The user PIN comes only from CITYTRUST_PKCS11_PIN.' },
  'vault.pkcs11.tokenLabel': { kind: 'string', env: 'CITYTRUST_PKCS11_TOKEN', default: 'citytrust', doc: 'Label of the PKCS#11 token holding the keys.' },
  'vault.pkcs11.sessions': { kind: 'int', env: 'CITYTRUST_PKCS11_SESSIONS', default: 4, min: 1, max: 64, doc: 'PKCS#11 sessions in the pool (concurrent operations).' },
  'audit.maxBatch': { kind: 'int', env: 'CITYTRUST_AUDIT_MAX_BATCH', default: 4096, min: 1, max: 100_000, doc: 'Most events committed in one group commit.' },
  'updates.rootExpirySeconds': { kind: 'int', env: 'CITYTRUST_UPDATES_ROOT_EXPIRY_S', default: 31_536_000, min: 86_400, max: 315_360_000, doc: 'Lifetime of TUF root metadata (default one year); re-signed with the root keys before it ends.' },
  'updates.targetsExpirySeconds': { kind: 'int', env: 'CITYTRUST_UPDATES_TARGETS_EXPIRY_S', default: 7_776_000, min: 3600, max: 31_536_000, doc: 'Lifetime of TUF targets and delegated targets metadata (default 90 days).' },
  'updates.snapshotExpirySeconds': { kind: 'int', env: 'CITYTRUST_UPDATES_SNAPSHOT_EXPIRY_S', default: 604_800, min: 600, max: 31_536_000, doc: 'Lifetime of TUF snapshot metadata (default 7 days).' },
  'updates.timestampExpirySeconds': { kind: 'int', env: 'CITYTRUST_UPDATES_TIMESTAMP_EXPIRY_S', default: 86_400, min: 60, max: 2_592_000, doc: 'Lifetime of TUF timestamp metadata (default one day): the longest a freeze attack can go unnoticed.' },
  'updates.refreshIntervalMs': { kind: 'int', env: 'CITYTRUST_UPDATES_REFRESH_MS', default: 60_000, min: 0, max: 86_400_000, doc: 'How often the server re-signs online metadata (timestamp, snapshot, targets) that passed half its lifetime. 0 = off.' },
  'updates.maxTargetBytes': { kind: 'int', env: 'CITYTRUST_UPDATES_MAX_TARGET_BYTES', default: 67_108_864, min: 1024, max: 1_073_741_824, doc: 'Largest image or data bundle accepted for publishing, in bytes (default 64 MiB).' },
  'updates.metadataCacheMs': { kind: 'int', env: 'CITYTRUST_UPDATES_METADATA_CACHE_MS', default: 1000, min: 0, max: 60_000, doc: 'How long a server instance serves its cached current timestamp before looking in the store again.' },
  'server.tls': { kind: 'bool', env: 'CITYTRUST_TLS', default: false, doc: 'Serve HTTPS with a certificate from the services CA, issued at start and renewed automatically; client certificates from our CAs identify devices (`citytrust serve --tls`).' },
  'server.tlsNames': { kind: 'string', env: 'CITYTRUST_TLS_NAMES', default: 'localhost,127.0.0.1', doc: 'Comma-separated DNS names and IPv4 addresses of the server TLS certificate (DNS names must fall within pki.serviceDomains).' },
  'pki.baseUrl': { kind: 'string', env: 'CITYTRUST_PKI_BASE_URL', default: 'http://127.0.0.1:8080', doc: 'Public URL of this server: CRL distribution points, OCSP and CA issuer URLs in certificates start with it.' },
  'pki.organization': { kind: 'string', env: 'CITYTRUST_PKI_ORGANIZATION', default: 'citytrust city', doc: 'O= of the CAs and of the city\'s own certificates.' },
  'pki.rootKeyType': { kind: 'enum', env: 'CITYTRUST_PKI_ROOT_KEY_TYPE', default: 'ec-p384', values: ['ec-p256', 'ec-p384', 'ed25519'], doc: 'Key type of the root CA (chosen at `ca init`).' },
  'pki.issuingKeyType': { kind: 'enum', env: 'CITYTRUST_PKI_ISSUING_KEY_TYPE', default: 'ec-p256', values: ['ec-p256', 'ec-p384', 'ed25519'], doc: 'Key type of issuing CAs and OCSP responders (chosen at `ca init` and rollover).' },
  'pki.deviceCertDays': { kind: 'int', env: 'CITYTRUST_PKI_DEVICE_CERT_DAYS', default: 365, min: 1, max: 3650, doc: 'Validity of reader, gate, vehicle and meter certificates.' },
  'pki.serviceCertDays': { kind: 'int', env: 'CITYTRUST_PKI_SERVICE_CERT_DAYS', default: 90, min: 1, max: 825, doc: 'Validity of TLS server and client certificates (the server renews its own at two thirds).' },
  'pki.crlHours': { kind: 'int', env: 'CITYTRUST_PKI_CRL_HOURS', default: 24, min: 1, max: 720, doc: 'CRL validity (nextUpdate); CRLs are re-signed at half of it and at every revocation.' },
  'pki.ocspMinutes': { kind: 'int', env: 'CITYTRUST_PKI_OCSP_MINUTES', default: 60, min: 1, max: 10_080, doc: 'OCSP response validity (nextUpdate); cached responses are re-signed at half of it.' },
  'pki.ocspRecheckSeconds': { kind: 'int', env: 'CITYTRUST_PKI_OCSP_RECHECK_S', default: 5, min: 0, max: 3600, doc: 'How long a cached OCSP response is served before its status is read again from the store (bounds how late another instance\'s revocation is seen).' },
  'pki.serviceDomains': { kind: 'string', env: 'CITYTRUST_PKI_SERVICE_DOMAINS', default: 'localhost,citytrust.local', doc: 'Comma-separated DNS domains the services CA may certify (its name constraints, fixed at `ca init`/rollover).' },
  'pki.bootstrapTtlSeconds': { kind: 'int', env: 'CITYTRUST_PKI_BOOTSTRAP_TTL_S', default: 604_800, min: 60, max: 7_776_000, doc: 'Default lifetime of device bootstrap tokens.' },
  'pki.estAllowPlainHttp': { kind: 'bool', env: 'CITYTRUST_PKI_EST_PLAIN_HTTP', default: false, doc: 'TESTS ONLY: answer EST over plain HTTP (RFC 7030 requires TLS).' },
  'credentials.statusListSize': { kind: 'int', env: 'CITYTRUST_CREDENTIALS_STATUS_LIST_SIZE', default: 131_072, min: 131_072, max: 4_194_304, doc: 'Entries of a new status list (a multiple of 4; at least 131,072 so a revoked index hides in the crowd).' },
  'credentials.statusListFillPercent': { kind: 'int', env: 'CITYTRUST_CREDENTIALS_STATUS_LIST_FILL', default: 50, min: 10, max: 90, doc: 'A status list takes new credentials until this share of its entries is used, then a new list opens (random indices stay cheap to draw).' },
  'credentials.statusTtlSeconds': { kind: 'int', env: 'CITYTRUST_CREDENTIALS_STATUS_TTL_S', default: 300, min: 10, max: 86_400, doc: 'ttl claim of Status List Tokens: how long a reader may use a list before fetching it again.' },
  'credentials.statusTokenSeconds': { kind: 'int', env: 'CITYTRUST_CREDENTIALS_STATUS_TOKEN_S', default: 86_400, min: 60, max: 2_592_000, doc: 'exp of Status List Tokens after their iat (longer than the ttl).' },
  'credentials.trustListSeconds': { kind: 'int', env: 'CITYTRUST_CREDENTIALS_TRUST_LIST_S', default: 86_400, min: 300, max: 2_592_000, doc: 'exp of the signed trust list (issuer certificates in force) after its iat.' },
  'credentials.issuerCertSeconds': { kind: 'int', env: 'CITYTRUST_CREDENTIALS_ISSUER_CERT_S', default: 63_244_800, min: 86_400, max: 315_360_000, doc: 'Validity of an issuer certificate while its key is current (default two years); rotate before it ends.' },
  'credentials.maxValiditySeconds': { kind: 'int', env: 'CITYTRUST_CREDENTIALS_MAX_VALIDITY_S', default: 34_560_000, min: 60, max: 315_360_000, doc: 'Longest validity an issuer may give a credential or template (default 400 days).' },
  'credentials.challengeSeconds': { kind: 'int', env: 'CITYTRUST_CREDENTIALS_CHALLENGE_S', default: 300, min: 10, max: 3600, doc: 'Lifetime of a wallet registration challenge.' },
  'credentials.nonceSeconds': { kind: 'int', env: 'CITYTRUST_CREDENTIALS_NONCE_S', default: 120, min: 10, max: 3600, doc: 'Lifetime of a wallet sync nonce (single use).' },
  'credentials.sealWorkers': { kind: 'int', env: 'CITYTRUST_CREDENTIALS_SEAL_WORKERS', default: 1, min: 0, max: 16, doc: 'Worker threads sealing provisioning envelopes beside the main thread (0 = on the main thread).' },
  'mqtt.embedded': { kind: 'bool', env: 'CITYTRUST_MQTT_EMBEDDED', default: true, doc: 'Start the embedded MQTT broker (aedes) for meter traffic in `citytrust serve` (ignored when mqtt.url is set).' },
  'mqtt.host': { kind: 'string', env: 'CITYTRUST_MQTT_HOST', default: '127.0.0.1', doc: 'Address the embedded MQTT broker binds to.' },
  'mqtt.port': { kind: 'int', env: 'CITYTRUST_MQTT_PORT', default: 1883, min: 0, max: 65535, doc: 'TCP port of the embedded MQTT broker (0 = any free port). If it is taken, the server runs without it and says so.' },
  'mqtt.tls': { kind: 'bool', env: 'CITYTRUST_MQTT_TLS', default: false, doc: 'Embedded broker over TLS with a certificate from the services CA; meters must present their meter certificate (mutual TLS).' },
  'mqtt.url': { kind: 'string', env: 'CITYTRUST_MQTT_URL', doc: 'External broker (mqtt:// or mqtts://, e.g. Mosquitto) the head-end joins instead of embedding one; with mqtts:// it presents a tls-client certificate from the city PKI.' },
  'mqtt.clientId': { kind: 'string', env: 'CITYTRUST_MQTT_CLIENT_ID', default: 'citytrust-headend', doc: 'Client id of the head-end\'s persistent session on an external broker (unique per server instance).' },
  'metering.batchSize': { kind: 'int', env: 'CITYTRUST_METERING_BATCH_SIZE', default: 2000, min: 1, max: 50_000, doc: 'Most meter frames stored in one commit.' },
  'metering.maxClockSkewMs': { kind: 'int', env: 'CITYTRUST_METERING_MAX_SKEW_MS', default: 300_000, min: 1000, max: 86_400_000, doc: 'A reading whose meter time differs from its arrival by more is flagged METER_CLOCK_SKEW.' },
  'metering.readingIntervalMs': { kind: 'int', env: 'CITYTRUST_METERING_INTERVAL_MS', default: 900_000, min: 1000, max: 86_400_000, doc: 'Expected time between readings; a silence over twice this is flagged METER_READING_GAP.' },
  'metering.redeliveryWindowMs': { kind: 'int', env: 'CITYTRUST_METERING_REDELIVERY_MS', default: 86_400_000, min: 0, max: 2_592_000_000, doc: 'An exact copy of a stored frame arriving within this time is an MQTT redelivery (acknowledged, not stored again); later it is METER_COUNTER_REPLAY.' },
  'metering.identityCacheMs': { kind: 'int', env: 'CITYTRUST_METERING_IDENTITY_CACHE_MS', default: 1000, min: 0, max: 600_000, doc: 'How long ingest trusts a meter\'s certificate and device status before reading them again (a revocation takes effect within this time).' },
  'metering.commandTtlMs': { kind: 'int', env: 'CITYTRUST_METERING_COMMAND_TTL_MS', default: 600_000, min: 10_000, max: 86_400_000, doc: 'Lifetime of a signed command at the meter (its expiry).' },
  'metering.approvalTtlMs': { kind: 'int', env: 'CITYTRUST_METERING_APPROVAL_TTL_MS', default: 3_600_000, min: 60_000, max: 604_800_000, doc: 'How long a command request waits for its approvals.' },
  'metering.bulkThreshold': { kind: 'int', env: 'CITYTRUST_METERING_BULK_THRESHOLD', default: 10, min: 1, max: 10_000, doc: 'N: a command touching more meters needs metering.bulkApprovals distinct approvers.' },
  'metering.bulkApprovals': { kind: 'int', env: 'CITYTRUST_METERING_BULK_APPROVALS', default: 2, min: 1, max: 10, doc: 'M: distinct operators (besides the requester) who must approve a command beyond N meters.' },
  'metering.guard.windowMs': { kind: 'int', env: 'CITYTRUST_METERING_GUARD_WINDOW_MS', default: 900_000, min: 60_000, max: 86_400_000, doc: 'Sliding window of the blackout guard.' },
  'metering.guard.districtBasisPoints': { kind: 'int', env: 'CITYTRUST_METERING_GUARD_DISTRICT_BP', default: 50, min: 1, max: 10_000, doc: 'Disconnects allowed per district and window, in basis points of its meters (50 = 0.5 %).' },
  'metering.guard.cityBasisPoints': { kind: 'int', env: 'CITYTRUST_METERING_GUARD_CITY_BP', default: 50, min: 1, max: 10_000, doc: 'Disconnects allowed city-wide (all tenants) per window, in basis points of all meters.' },
  'metering.guard.minBudget': { kind: 'int', env: 'CITYTRUST_METERING_GUARD_MIN', default: 1, min: 0, max: 100_000, doc: 'A guard budget is never below this many disconnects per window (small districts); 0 = strictly proportional.' },
} as const satisfies Record<string, Setting>;

export type SettingKey = keyof typeof SETTINGS;

export interface Config {
  dataDir: string;
  databaseUrl: string | undefined;
  server: { host: string; port: number; bodyLimit: number; rateLimit: number; trustProxy: boolean; tls: boolean; tlsNames: string[] };
  pki: {
    baseUrl: string;
    organization: string;
    rootKeyType: 'ec-p256' | 'ec-p384' | 'ed25519';
    issuingKeyType: 'ec-p256' | 'ec-p384' | 'ed25519';
    deviceCertDays: number;
    serviceCertDays: number;
    crlHours: number;
    ocspMinutes: number;
    ocspRecheckSeconds: number;
    serviceDomains: string[];
    bootstrapTtlSeconds: number;
    estAllowPlainHttp: boolean;
  };
  log: { level: string };
  audit: { logName: string; checkpointIntervalMs: number; maxBatch: number };
  mqtt: { embedded: boolean; host: string; port: number; tls: boolean; url: string | undefined; clientId: string };
  metering: {
    batchSize: number;
    maxClockSkewMs: number;
    readingIntervalMs: number;
    redeliveryWindowMs: number;
    identityCacheMs: number;
    commandTtlMs: number;
    approvalTtlMs: number;
    bulkThreshold: number;
    bulkApprovals: number;
    guard: { windowMs: number; districtBasisPoints: number; cityBasisPoints: number; minBudget: number };
  };
  credentials: {
    statusListSize: number;
    statusListFillPercent: number;
    statusTtlSeconds: number;
    statusTokenSeconds: number;
    trustListSeconds: number;
    issuerCertSeconds: number;
    maxValiditySeconds: number;
    challengeSeconds: number;
    nonceSeconds: number;
    sealWorkers: number;
  };
  updates: { rootExpirySeconds: number; targetsExpirySeconds: number; snapshotExpirySeconds: number; timestampExpirySeconds: number; refreshIntervalMs: number; maxTargetBytes: number; metadataCacheMs: number };
  vault: {
    backend: 'software' | 'pkcs11';
    devUnseal: boolean;
    maxUnsealFailures: number;
    sensors: boolean;
    sensorHeartbeatMs: number;
    pkcs11: { library: string | undefined; tokenLabel: string; sessions: number };
  };
}

export const CONFIG_FILE = 'citytrust.config.json';

/** A comma-separated setting as a list (empty items dropped). */
function list(v: string): string[] {
  return v.split(',').map((x) => x.trim()).filter((x) => x.length > 0);
}

function bad(key: string, why: string): never {
  throw new CityTrustError('CONFIG_INVALID', `configuration key "${key}" ${why}`, { details: { key } });
}

function coerce(key: string, s: Setting, raw: unknown, fromEnv: boolean): string | number | boolean {
  switch (s.kind) {
    case 'string':
      if (typeof raw !== 'string' || raw.length === 0) bad(key, 'must be a non-empty string');
      return raw;
    case 'enum':
      if (typeof raw !== 'string' || !s.values?.includes(raw)) bad(key, `must be one of ${s.values?.join(', ')}`);
      return raw;
    case 'bool':
      if (typeof raw === 'boolean') return raw;
      if (fromEnv && (raw === 'true' || raw === '1')) return true;
      if (fromEnv && (raw === 'false' || raw === '0')) return false;
      return bad(key, 'must be true or false');
    case 'int': {
      const n = typeof raw === 'number' ? raw : fromEnv && typeof raw === 'string' && /^-?\d+$/.test(raw) ? Number(raw) : NaN;
      if (!Number.isSafeInteger(n)) bad(key, 'must be a whole number');
      if (s.min !== undefined && n < s.min) bad(key, `must be at least ${s.min}`);
      if (s.max !== undefined && n > s.max) bad(key, `must be at most ${s.max}`);
      return n;
    }
  }
}

function flatten(obj: unknown, prefix: string, out: Map<string, unknown>): void {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    out.set(prefix, obj);
    return;
  }
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && !(key in SETTINGS)) flatten(v, key, out);
    else out.set(key, v);
  }
}

export interface LoadConfigOptions {
  /** Explicit config file; otherwise <dataDir>/citytrust.config.json when present. */
  file?: string;
  /** Overrides from command-line flags (highest precedence), as flat keys. */
  overrides?: Partial<Record<SettingKey, string | number | boolean | undefined>>;
  env?: NodeJS.ProcessEnv;
}

export function loadConfig(opts: LoadConfigOptions = {}): Config {
  const env = opts.env ?? process.env;
  const values = new Map<string, string | number | boolean | undefined>();
  for (const [key, s] of Object.entries(SETTINGS) as [SettingKey, Setting][]) values.set(key, s.default);

  // The data directory decides where the file is, so resolve it first.
  const dataDirOverride = opts.overrides?.dataDir ?? env.CITYTRUST_DATA_DIR;
  const dataDir = resolve(String(dataDirOverride ?? SETTINGS.dataDir.default));
  const file = opts.file ?? env.CITYTRUST_CONFIG ?? join(dataDir, CONFIG_FILE);

  if (existsSync(file)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new CityTrustError('CONFIG_INVALID', `configuration file ${file} is not valid JSON`, { cause: e, details: { file } });
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) bad('(file)', 'must hold a JSON object');
    const flat = new Map<string, unknown>();
    flatten(parsed, '', flat);
    for (const [key, raw] of flat) {
      const s = (SETTINGS as Record<string, Setting>)[key];
      if (!s) bad(key, 'is not a known setting');
      values.set(key, coerce(key, s, raw, false));
    }
  } else if (opts.file !== undefined || env.CITYTRUST_CONFIG !== undefined) {
    throw new CityTrustError('CONFIG_INVALID', `configuration file ${file} does not exist`, { details: { file } });
  }

  for (const [key, s] of Object.entries(SETTINGS) as [SettingKey, Setting][]) {
    const raw = env[s.env];
    if (raw !== undefined && raw !== '') values.set(key, coerce(`${key} (${s.env})`, s, raw, true));
  }
  for (const [key, raw] of Object.entries(opts.overrides ?? {})) {
    const s = (SETTINGS as Record<string, Setting>)[key];
    if (!s) bad(key, 'is not a known setting');
    if (raw !== undefined) values.set(key, coerce(key, s, raw, true));
  }

  const g = <T>(k: SettingKey): T => values.get(k) as T;
  const databaseUrl = g<string | undefined>('databaseUrl');
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) bad('databaseUrl', 'must be a postgres:// URL');
  return {
    dataDir: resolve(g<string>('dataDir')),
    databaseUrl,
    server: {
      host: g('server.host'),
      port: g('server.port'),
      bodyLimit: g('server.bodyLimit'),
      rateLimit: g('server.rateLimit'),
      trustProxy: g('server.trustProxy'),
      tls: g('server.tls'),
      tlsNames: list(g('server.tlsNames')),
    },
    pki: {
      baseUrl: g<string>('pki.baseUrl').replace(/\/+$/, ''),
      organization: g('pki.organization'),
      rootKeyType: g('pki.rootKeyType'),
      issuingKeyType: g('pki.issuingKeyType'),
      deviceCertDays: g('pki.deviceCertDays'),
      serviceCertDays: g('pki.serviceCertDays'),
      crlHours: g('pki.crlHours'),
      ocspMinutes: g('pki.ocspMinutes'),
      ocspRecheckSeconds: g('pki.ocspRecheckSeconds'),
      serviceDomains: list(g('pki.serviceDomains')),
      bootstrapTtlSeconds: g('pki.bootstrapTtlSeconds'),
      estAllowPlainHttp: g('pki.estAllowPlainHttp'),
    },
    log: { level: g('log.level') },
    audit: {
      logName: g('audit.logName'),
      checkpointIntervalMs: g('audit.checkpointIntervalMs'),
      maxBatch: g('audit.maxBatch'),
    },
    credentials: {
      statusListSize: g('credentials.statusListSize'),
      statusListFillPercent: g('credentials.statusListFillPercent'),
      statusTtlSeconds: g('credentials.statusTtlSeconds'),
      statusTokenSeconds: g('credentials.statusTokenSeconds'),
      trustListSeconds: g('credentials.trustListSeconds'),
      issuerCertSeconds: g('credentials.issuerCertSeconds'),
      maxValiditySeconds: g('credentials.maxValiditySeconds'),
      challengeSeconds: g('credentials.challengeSeconds'),
      nonceSeconds: g('credentials.nonceSeconds'),
      sealWorkers: g('credentials.sealWorkers'),
    },
    updates: {
      rootExpirySeconds: g('updates.rootExpirySeconds'),
      targetsExpirySeconds: g('updates.targetsExpirySeconds'),
      snapshotExpirySeconds: g('updates.snapshotExpirySeconds'),
      timestampExpirySeconds: g('updates.timestampExpirySeconds'),
      refreshIntervalMs: g('updates.refreshIntervalMs'),
      maxTargetBytes: g('updates.maxTargetBytes'),
      metadataCacheMs: g('updates.metadataCacheMs'),
    },
    mqtt: { embedded: g('mqtt.embedded'), host: g('mqtt.host'), port: g('mqtt.port'), tls: g('mqtt.tls'), url: g('mqtt.url'), clientId: g('mqtt.clientId') },
    metering: {
      batchSize: g('metering.batchSize'),
      maxClockSkewMs: g('metering.maxClockSkewMs'),
      readingIntervalMs: g('metering.readingIntervalMs'),
      redeliveryWindowMs: g('metering.redeliveryWindowMs'),
      identityCacheMs: g('metering.identityCacheMs'),
      commandTtlMs: g('metering.commandTtlMs'),
      approvalTtlMs: g('metering.approvalTtlMs'),
      bulkThreshold: g('metering.bulkThreshold'),
      bulkApprovals: g('metering.bulkApprovals'),
      guard: {
        windowMs: g('metering.guard.windowMs'),
        districtBasisPoints: g('metering.guard.districtBasisPoints'),
        cityBasisPoints: g('metering.guard.cityBasisPoints'),
        minBudget: g('metering.guard.minBudget'),
      },
    },
    vault: {
      backend: g('vault.backend'),
      devUnseal: g('vault.devUnseal'),
      maxUnsealFailures: g('vault.maxUnsealFailures'),
      sensors: g('vault.sensors'),
      sensorHeartbeatMs: g('vault.sensorHeartbeatMs'),
      pkcs11: { library: g('vault.pkcs11.library'), tokenLabel: g('vault.pkcs11.tokenLabel'), sessions: g('vault.pkcs11.sessions') },
    },
  };
}
