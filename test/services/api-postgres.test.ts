/**
 * Every domain's HTTP API suite again, on PostgreSQL: each test app gets a fresh database
 * (test/helpers/app.ts), so the same routes, queries and migrations are proven on both stores.
 */
process.env.CITYTRUST_TEST_PG = '1';

await import('../server/api.test.ts');
await import('../server/vault-api.test.ts');
await import('../pki/api.test.ts');
await import('../credentials/api.test.ts');
await import('../updates/api.test.ts');
// Devices updating from the server: install reports reach the registry and the audit log on PostgreSQL too.
await import('../reader/firmware.test.ts');
await import('../metering/firmware.test.ts');
