/**
 * Cost of validating one whole resource-lists document of 100 entries (bench/fixtures.ts):
 * the schema fast path alone, libxml2-wasm alone, and the resource-lists usage as a PUT
 * pays it (fast path first + RFC 4826 constraints).
 * Run: npx node bench/validate.ts
 */
import { performance } from 'node:perf_hooks';
import { schemaFile } from '../src/appusage/common/paths.ts';
import { resourceLists } from '../src/appusage/resource-lists/index.ts';
import { compileValidators } from '../src/appusage/schema.ts';
import { parseDocument } from '../src/xcap/xml.ts';
import { RL_CONTEXT, resourceLists as resourceListsText } from './fixtures.ts';

const text = resourceListsText(100);
const doc = parseDocument(text);
const ctx = RL_CONTEXT;
const { fast, libxml2 } = compileValidators(schemaFile('resource-lists/resource-lists.xsd'), {
  imports: [schemaFile('common/xml.xsd')],
});
if (fast === null) throw new Error('the resource-lists schema has no fast path');
if (fast.check(text) !== 'accept') throw new Error('the fast path does not accept the benchmark document');

/** Mean µs per call of `fn` over `n` calls, after a warm-up. */
function measure(fn: () => void, n = 5000): number {
  for (let i = 0; i < 500; i++) fn();
  const start = performance.now();
  for (let i = 0; i < n; i++) fn();
  return ((performance.now() - start) * 1000) / n;
}

const fastUs = measure(() => fast.check(text));
const libUs = measure(() => libxml2.validate(text));
const usageUs = measure(() => resourceLists.validate({ text, dom: () => doc }, ctx));
console.log(`resource-lists, 100 entries (${text.length} bytes):`);
console.log(`  fast path     ${fastUs.toFixed(1)} µs`);
console.log(`  libxml2-wasm  ${libUs.toFixed(1)} µs  (${(libUs / fastUs).toFixed(1)}× the fast path)`);
console.log(`  usage.validate ${usageUs.toFixed(1)} µs per PUT (${Math.round(1e6 / usageUs)}/s)`);
