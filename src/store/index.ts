import { join } from 'node:path';
import { PostgresStore } from './postgres.ts';
import { SqliteStore } from './sqlite.ts';
import type { LedgerStorage } from '../ledger/storage.ts';
import { StoreError, type EvidenceStore, type NewEvidence } from './types.ts';

export { LATEST_SCHEMA_VERSION, MIGRATIONS } from './migrations.ts';
export { PostgresStore } from './postgres.ts';
export { SqliteStore } from './sqlite.ts';
export * from './types.ts';

export interface OpenStoreOptions {
  /** `postgres://...` for PostgreSQL, `sqlite:PATH` or a path for SQLite; default SQLite in `home`. */
  url?: string | undefined;
  /** `$WARRANT_HOME`, where the embedded store lives. */
  home: string;
}

/** One database holds the evidence and the log, so an envelope is stored and logged in one transaction. */
export type Store = EvidenceStore & LedgerStorage<NewEvidence>;

export async function openStore(options: OpenStoreOptions): Promise<Store> {
  const url = options.url?.trim();
  if (url === undefined || url === '') return SqliteStore.open(join(options.home, 'warrant.db'));
  if (/^postgres(ql)?:\/\//.test(url)) return PostgresStore.open({ url });
  if (url.startsWith('sqlite:')) return SqliteStore.open(url.slice('sqlite:'.length));
  throw new StoreError('STORE_URL_INVALID', 'WARRANT_DB must be a postgres:// URL or sqlite:PATH');
}
