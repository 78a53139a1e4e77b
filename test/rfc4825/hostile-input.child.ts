/**
 * Child process of hostile-input-regression.test.ts: runs each hostile input once under a
 * small heap and prints `name: ErrorClass` per case. A quadratic or expanding path
 * runs out of heap (or time) here instead of passing quietly.
 */
import { parseXcapUri } from '../../src/xcap/uri.ts';
import { parseSelector } from '../../src/xcap/selector/parse.ts';
import { selectElement } from '../../src/xcap/selector/evaluate.ts';
import { parseDocument, parseElementFragment } from '../../src/xcap/xml.ts';
import { prescanXml } from '../../src/xcap/xml-prescan.ts';
import { NotWellFormed, NotXmlFrag } from '../../src/xcap/errors.ts';
import { compileValidators } from '../../src/appusage/schema.ts';
import { schemaFile } from '../../src/appusage/common/paths.ts';
import { configSchema } from '../../src/config/schema.ts';
import { resourceLists } from '../../src/appusage/resource-lists/index.ts';
import type { UsageContext } from '../../src/appusage/types.ts';
import { lazyCandidate } from '../../src/xcap/document-writer.ts';
import { LocalRoots } from '../../src/xcap/local-roots.ts';

const N = 100_000;
const laughs =
  '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">' +
  Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`).join('') +
  ']><lolz>&lol9;</lolz>';
const deepDoc = '<a>'.repeat(5000) + '</a>'.repeat(5000);

// The shapes below are sized so that a linear path takes well under a second and a
// quadratic one (50,000 attributes took 13-34 s before) runs far past the time limit.
const RL = 'urn:ietf:params:xml:ns:resource-lists';
const { fast, libxml2 } = compileValidators(schemaFile('resource-lists/resource-lists.xsd'), { imports: [schemaFile('common/xml.xsd')] });
const { maxXmlDepth, maxXmlAttributes } = configSchema.parse({}).server;
const limits = { maxDepth: maxXmlDepth, maxAttributes: maxXmlAttributes };
const M = 100_000;
const rl = (inner: string, rootAttrs = ''): string => `<resource-lists xmlns="${RL}"${rootAttrs}>${inner}</resource-lists>`;
// Built per case, so no case holds another's input in the small heap.
const manyAttrs = (): string => rl(`<list${Array.from({ length: M }, (_, i) => ` a${i}="v"`).join('')}/>`);
const manyDecls = (): string => rl('<list name="a"/>', Array.from({ length: M }, (_, i) => ` xmlns:p${i}="urn:x:${i}"`).join(''));
// xmldom's DOM of an element costs ~1 KB per attribute: the DOM cases stay within the heap.
const domAttrs = (): string => rl(`<list${Array.from({ length: M / 2 }, (_, i) => ` a${i}="v"`).join('')}/>`);
const domDecls = (): string => rl('<list name="a"/>', Array.from({ length: M / 2 }, (_, i) => ` xmlns:p${i}="urn:x:${i}"`).join(''));
const deepBody = (): string => '<list>'.repeat(N) + '</list>'.repeat(N);
const siblings = (entry: string, n = N): string => rl(`<list name="x">${entry.repeat(n)}</list>`);
/** Siblings for DOM cases: xmldom spends ~1 KB per element. */
const S = 10_000;
const fastVerdict = (text: string): string => (fast === null ? 'no fast path' : fast.check(text));
const domVerdict = (text: string): string => (fast === null ? 'no fast path' : fast.checkDom(parseDocument(text)));

// resource-lists reads nothing of the store.
const usageContext = { key: { auid: 'resource-lists', xui: 'sip:a@example.com', path: 'index' }, lenient: new Set(), rootUri: '', roots: new LocalRoots([]) } as unknown as UsageContext;

const cases: Record<string, () => unknown> = {
  'selector: 100k [': () => parseSelector('a' + '['.repeat(N), {}, 'urn:x'),
  'selector: 100k [@': () => parseSelector('a' + '[@'.repeat(N), {}, 'urn:x'),
  'selector: 100k [1': () => parseSelector('a' + '[1'.repeat(N), {}, 'urn:x'),
  'selector: 100k quotes': () => parseSelector('a[@b=' + '"'.repeat(N), {}, 'urn:x'),
  'selector: 100k & in a value': () => parseSelector(`a[@b="${'&'.repeat(N)}"]`, {}, 'urn:x'),
  'selector: 100k = in a test': () => parseSelector('a/b[@' + '='.repeat(N), {}, 'urn:x'),
  'uri: 100k %5B': () => parseXcapUri('/xcap-root/a/global/d/~~/a' + '%5B'.repeat(N), { root: '/xcap-root' }),
  'uri: 100k xmlns(': () => parseXcapUri('/xcap-root/a/global/d/~~/a?' + 'xmlns('.repeat(N), { root: '/xcap-root' }),
  'uri: 100k segments': () => parseXcapUri('/xcap-root/a/global/' + 'd/'.repeat(N), { root: '/xcap-root' }),
  'evaluate: 5000 steps on a 5000-deep document': () =>
    selectElement(parseDocument(deepDoc), parseSelector(Array(5000).fill('a').join('/') + '/b', {}, '')) ?? 'none',
  'evaluate: 50k wildcard steps': () =>
    selectElement(parseDocument(deepDoc), parseSelector(Array(50_000).fill('*').join('/'), {}, '')) ?? 'none',
  'document: billion laughs': () => parseDocument(laughs),
  'fragment: billion laughs': () => parseElementFragment(laughs, null),
  'document: 20k unclosed tags': () => parseDocument('<a>'.repeat(20_000)),
  // First while the heap is fresh: libxml2-wasm keeps a detail object per error (~300 bytes).
  'libxml2: 70k sibling errors': () => libxml2.validate(siblings('<entry uri="sip:a@example.com"/>', 70_000)),
  'prescan: 100k attributes on one element': () => prescanXml(manyAttrs(), limits, NotWellFormed),
  'prescan: 100k namespace declarations': () => prescanXml(manyDecls(), limits, NotWellFormed),
  'prescan: 100k-deep element body': () => prescanXml(deepBody(), limits, NotXmlFrag),
  'prescan: 100k character references': () => prescanXml(rl(`<list name="${'&#x41;'.repeat(N)}"/>`), limits, NotWellFormed),
  'prescan: lone surrogate reference after 100k good ones': () => prescanXml(rl(`<list>${'&#65;'.repeat(N)}&#xD800;</list>`), limits, NotWellFormed),
  'fast path: 100k attributes on one element': () => fastVerdict(manyAttrs()),
  'fast path: 100k namespace declarations': () => fastVerdict(manyDecls()),
  'fast path: 100k-deep document': () => fastVerdict(rl(deepBody())),
  'fast path: 100k duplicate siblings': () => fastVerdict(siblings('<entry uri="sip:a@example.com"/>')),
  // Named by a second scan: a DOM of 100k elements would not fit in this heap.
  'usage: 100k duplicate siblings, the repeat named': () => resourceLists.validate(lazyCandidate(siblings('<entry uri="sip:a@example.com"/>')), usageContext),
  'fast path: 1M-character name': () => fastVerdict(rl(`<${'n'.repeat(1_000_000)}/>`)),
  'fast path: 1M characters of text': () => fastVerdict(rl(`<list><display-name>${'x'.repeat(1_000_000)}</display-name></list>`)),
  'DOM walk: 50k attributes on one element': () => domVerdict(domAttrs()),
  'DOM walk: 50k namespace declarations': () => domVerdict(domDecls()),
  'libxml2: 100k-character name': () => libxml2.validate(rl(`<${'n'.repeat(N)}/>`)),
  'evaluate: 10k siblings, attribute test': () =>
    selectElement(parseDocument(siblings('<entry uri="sip:a@example.com"/>', S)), parseSelector('resource-lists/list/entry[@uri="sip:b@example.com"]', {}, RL)) ?? 'none',
  'evaluate: 10k siblings, last position': () =>
    selectElement(parseDocument(siblings('<entry/>', S)), parseSelector(`resource-lists/list/entry[${S}]`, {}, RL))?.localName ?? 'none',
};

for (const [name, run] of Object.entries(cases)) {
  let outcome: string;
  const t0 = process.env.HOSTILE_TIMES ? performance.now() : 0;
  try {
    const r = run();
    outcome = typeof r === 'string' ? r : 'ok';
  } catch (e) {
    outcome = (e as Error).constructor.name;
  }
  if (process.env.HOSTILE_TIMES) console.error(`${name}: ${Math.round(performance.now() - t0)} ms, heap ${Math.round(process.memoryUsage().heapUsed / 1e6)} MB`);
  console.log(`${name}: ${outcome}`);
}
