/**
 * Child process of hostile-input-regression.test.ts: runs each hostile input once under a
 * small heap and prints `name: ErrorClass` per case. A quadratic or expanding path
 * runs out of heap (or time) here instead of passing quietly.
 */
import { parseXcapUri } from '../../src/xcap/uri.ts';
import { parseSelector } from '../../src/xcap/selector/parse.ts';
import { selectElement } from '../../src/xcap/selector/evaluate.ts';
import { parseDocument, parseElementFragment } from '../../src/xcap/xml.ts';

const N = 100_000;
const laughs =
  '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">' +
  Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`).join('') +
  ']><lolz>&lol9;</lolz>';
const deepDoc = '<a>'.repeat(5000) + '</a>'.repeat(5000);

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
};

for (const [name, run] of Object.entries(cases)) {
  let outcome: string;
  try {
    const r = run();
    outcome = typeof r === 'string' ? r : 'ok';
  } catch (e) {
    outcome = (e as Error).constructor.name;
  }
  console.log(`${name}: ${outcome}`);
}
