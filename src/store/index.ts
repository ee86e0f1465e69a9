export { openStore, SQLITE_FILE, type Store, type Dialect, type OpenStoreOptions } from './db.ts';
export type * from './schema.ts';
