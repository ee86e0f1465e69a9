export { CityTrustError, isCityTrustError, errorInfo, allErrorCodes, fail, type ErrorCode } from './errors.ts';
export { systemClock, FixedClock, nowSeconds, type Clock } from './clock.ts';
export { loadConfig, SETTINGS, CONFIG_FILE, type Config, type SettingKey, type LoadConfigOptions } from './config.ts';
export { createLogger, silentLogger, REDACT_PATHS, type Logger, type LogOptions } from './log.ts';
export * from './bytes.ts';
export { canonicalJson } from './canonical-json.ts';
export { Mutex } from './mutex.ts';
