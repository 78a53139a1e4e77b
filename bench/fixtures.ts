/** Documents shared by the benchmarks: a resource-lists document with N entries. */
export const RL_NS = 'urn:ietf:params:xml:ns:resource-lists';

export function resourceLists(n: number, listName = 'friends'): string {
  const entries: string[] = [];
  for (let i = 0; i < n; i++) {
    entries.push(`<entry uri="sip:user${i}@example.com"><display-name>User ${i}</display-name></entry>`);
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n<resource-lists xmlns="${RL_NS}"><list name="${listName}">${entries.join('')}</list></resource-lists>\n`;
}
