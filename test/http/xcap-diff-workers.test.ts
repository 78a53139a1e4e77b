/**
 * GET /xcap-diff under `serve --workers 2` on SQLite: the primary makes every write and tells
 * each HTTP worker when it committed, so a stream on either worker gets the change without
 * waiting for a poll. The poll is set to an hour here: a stream that relied on it would not
 * see the change before the hang guard.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XcapClient } from '../helpers/digest-client.ts';
import { SseClient } from '../helpers/sse-client.ts';
import { ALICE_RL, ALICE_XUI, children, contacts, RL_TYPE, xml } from './helpers.ts';
import { addUser, startServe, tempData, type ServeProcess } from './serve-process.ts';

const CREDS = { username: 'alice', password: 'alice-secret' };

describe('serve --workers 2: every worker\'s streams hear of the primary\'s commits at once', () => {
  const store = tempData();
  let serve: ServeProcess;
  const streams: SseClient[] = [];
  beforeAll(async () => {
    await addUser(store, ALICE_XUI, 'alice-secret');
    const cfg = join(store.data, 'feed.yaml');
    writeFileSync(cfg, 'changeFeed: { sse: { pollMs: 3600000 } }\n');
    serve = await startServe(store, ['--workers', '2', '--config', cfg]);
    await serve.logged('serving XCAP at', 2);
  });
  afterAll(async () => {
    for (const s of streams) s.close();
    await serve?.stop();
    store.remove();
  });

  it('a PUT reaches streams on both workers, with its ETag', async () => {
    const origin = new URL(serve.url).origin;
    // New connections go to the workers in turn: eight streams cover both.
    for (let i = 0; i < 8; i++) streams.push(await SseClient.open(`${origin}/xcap-diff`, CREDS, { Connection: 'close' }));
    const hasEvents = (n: number) => streams.every((s) => s.events.length >= n);
    await expect.poll(() => hasEvents(1), { timeout: 60_000 }).toBe(true);
    const put = await new XcapClient(serve.url, CREDS).put(ALICE_RL, contacts(), RL_TYPE);
    expect(put.status).toBe(201);
    await expect.poll(() => hasEvents(2), { timeout: 60_000 }).toBe(true);
    const etag = (put.headers.get('etag') ?? '').replaceAll('"', '');
    for (const s of streams) {
      const docs = children(xml(s.events[1]!.data), 'document');
      expect(docs.map((d) => [d.getAttribute('sel'), d.getAttribute('new-etag')])).toEqual([[ALICE_RL.slice(1), etag]]);
    }
  });
});
