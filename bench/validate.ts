/**
 * Cost of validating one whole resource-lists document of 100 entries through the
 * resource-lists usage (XSD via libxml2-wasm + RFC 4826 constraints), as a PUT pays it.
 * Run: npx node bench/validate.ts
 */
import { performance } from 'node:perf_hooks';
import { resourceLists } from '../src/appusage/resource-lists/index.ts';
import type { UsageContext } from '../src/appusage/types.ts';
import type { DocumentStore } from '../src/store/types.ts';
import { parseDocument } from '../src/xcap/xml.ts';

const entries = Array.from(
  { length: 100 },
  (_, i) => `    <entry uri="sip:user${i}@example.com"><display-name>User ${i}</display-name></entry>\n`,
).join('');
const text = `<?xml version="1.0" encoding="UTF-8"?>\n<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists">\n  <list name="buddies">\n${entries}  </list>\n</resource-lists>\n`;
const doc = parseDocument(text);
// resource-lists never reads the store; a context without one is enough here.
const ctx: UsageContext = {
  key: { auid: 'resource-lists', xui: 'sip:bench@example.com', path: 'index' },
  store: undefined as unknown as DocumentStore,
  lenient: new Set(),
  rootUri: '/xcap-root',
};

function run(n: number): number {
  const start = performance.now();
  for (let i = 0; i < n; i++) resourceLists.validate({ text, dom: () => doc }, ctx);
  return (performance.now() - start) / n;
}

run(500); // warm-up
const ms = run(5000);
console.log(`resource-lists, 100 entries (${text.length} bytes): ${ms.toFixed(3)} ms per validation (${Math.round(1000 / ms)}/s)`);
