/** Documents shared by the benchmarks: a resource-lists document with N entries, and the context a usage validates it in. */
import type { UsageContext } from '../src/appusage/types.ts';
import type { DocumentStore } from '../src/store/types.ts';
import { LocalRoots } from '../src/xcap/local-roots.ts';

export const RL_NS = 'urn:ietf:params:xml:ns:resource-lists';

export function resourceLists(n: number, listName = 'friends'): string {
  const entries: string[] = [];
  for (let i = 0; i < n; i++) {
    entries.push(`<entry uri="sip:user${i}@example.com"><display-name>User ${i}</display-name></entry>`);
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n<resource-lists xmlns="${RL_NS}"><list name="${listName}">${entries.join('')}</list></resource-lists>\n`;
}

/** A user's resource-lists `index`, as the usage sees it when it validates (it never reads the store). */
export const RL_CONTEXT: UsageContext = {
  key: { auid: 'resource-lists', xui: 'sip:bench@example.com', path: 'index' },
  store: undefined as unknown as DocumentStore,
  lenient: new Set(),
  rootUri: '/xcap-root',
  roots: new LocalRoots([]),
};
