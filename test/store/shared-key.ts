/** The document key the PostgreSQL cross-process tests and their child process both write. */
import type { DocKey } from '../../src/store/types.ts';

export const SHARED_KEY: DocKey = { auid: 'resource-lists', xui: 'sip:alice@example.com', path: 'index' };
