/** The DocumentStore contract on PostgreSQL: a fresh database on the throwaway server per test. */
import { inject } from 'vitest';
import { openPostgresStore } from '../../src/store/postgres.ts';
import { storeContract } from '../conformance/store.suite.ts';
import { freshPostgresDatabase } from '../services/databases.ts';

storeContract('postgres', async () => {
  const url = await freshPostgresDatabase(inject('services').postgres, 'store');
  return () => openPostgresStore(url);
});
