/**
 * The ETags a process keeps for polls on PostgreSQL (src/xcap/read-cache.ts FollowedEtags):
 * trusted only while the change feed was read up to date within `maxStaleMs`, dropped by a
 * change to their document, and never taken from a read that a change overtook. Time is a
 * manual clock; the feed's word ("read up to date at t") is what FeedHub.syncedAt says.
 */
import { describe, expect, it } from 'vitest';
import { docCacheKey, FollowedEtags } from '../../src/xcap/read-cache.ts';
import type { DocChange } from '../../src/store/types.ts';
import { ManualClock } from '../helpers/manual-clock.ts';

const KEY = { auid: 'resource-lists', xui: 'sip:alice@example.com', path: 'index' };
const K = docCacheKey(KEY);

function setup() {
  const clock = new ManualClock();
  let synced: number | undefined = clock.now();
  const etags = new FollowedEtags({ size: 10, maxStaleMs: 1000, clock, syncedAt: () => synced });
  const change = (seq: number, newEtag: string | null): DocChange => ({ seq, key: KEY, oldEtag: null, newEtag, origin: 'xcap', at: 0 });
  const feed = (...changes: DocChange[]) => etags.onChanges({ changes, shared: (_k, make) => make() });
  return { clock, etags, feed, change, sync: () => (synced = clock.now()), unsync: () => (synced = undefined) };
}

describe('FollowedEtags', () => {
  it('answers with a kept ETag only while the feed was read up to date within maxStaleMs', () => {
    const { clock, etags, sync } = setup();
    etags.set(K, 'e1', etags.mark());
    expect(etags.get(K)).toBe('e1');
    clock.advance(1000);
    expect(etags.get(K)).toBe('e1');
    clock.advance(1);
    expect(etags.get(K)).toBeUndefined();
    sync();
    expect(etags.get(K)).toBe('e1');
  });

  it('nothing before the feed was first read', () => {
    const { etags, unsync } = setup();
    unsync();
    etags.set(K, 'e1', etags.mark());
    expect(etags.get(K)).toBeUndefined();
  });

  it('a change to the document drops its ETag; a change to the kept ETag itself keeps it', () => {
    const { etags, feed, change } = setup();
    etags.set(K, 'e1', etags.mark());
    feed(change(1, 'e1'));
    expect(etags.get(K)).toBe('e1');
    feed(change(2, 'e2'));
    expect(etags.get(K)).toBeUndefined();
    etags.set(K, 'e2', etags.mark());
    etags.changed(K, null);
    expect(etags.get(K)).toBeUndefined();
  });

  it('a read that a change overtook keeps nothing, unless it read the changed version', () => {
    const { etags, feed, change } = setup();
    const before = etags.mark();
    feed(change(1, 'e2'));
    etags.set(K, 'e1', before);
    expect(etags.get(K)).toBeUndefined();
    etags.set(K, 'e2', before);
    expect(etags.get(K)).toBe('e2');
  });

  it('after the feed was missed (pruned past), reads begun before are not kept', () => {
    const { etags } = setup();
    etags.set(K, 'e1', etags.mark());
    const before = etags.mark();
    etags.onMissed();
    expect(etags.get(K)).toBeUndefined();
    etags.set(K, 'e1', before);
    expect(etags.get(K)).toBeUndefined();
    etags.set(K, 'e1', etags.mark());
    expect(etags.get(K)).toBe('e1');
  });

  it('keeps at most size ETags, the least recently read first out', () => {
    const { etags } = setup();
    for (let i = 0; i < 11; i++) etags.set(`k${i}`, `e${i}`, etags.mark());
    expect(etags.get('k0')).toBeUndefined();
    expect(etags.get('k1')).toBe('e1');
    expect(etags.get('k10')).toBe('e10');
  });
});
