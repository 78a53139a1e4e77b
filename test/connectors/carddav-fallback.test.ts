/**
 * Servers without sync-collection: Debian's apache2 in front of a real Radicale answers
 * the sync-collection REPORT with 501, or with 403 and a DAV:supported-report error (what
 * servers without RFC 6578 answer), and passes everything else on. The connector, left at
 * `changeDetection: sync-collection`, must notice and use getctag and a getetag listing
 * for that address book: the connector contract suite, and what it asks the server. A
 * third front also strips getctag and sync-token from PROPFIND answers (mod_substitute):
 * then each run is one getetag listing.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectorContract, type ConnectorHarness } from '../conformance/connector.suite.ts';
import { CarddavConnector, carddavConnectorSchema } from '../../connectors/carddav/index.ts';
import type { ItemFields } from '../../connectors/types.ts';
import { startApacheDigest, type ApacheDigestService } from '../services/apache-digest.ts';
import { freePort, tempDir } from '../services/process.ts';
import { startRadicale, type RadicaleService } from '../services/radicale.ts';
import { cardText, DavPeer, seedCards, unique } from './carddav-fixtures.ts';

const run = promisify(execFile);
const PASSWORD = `pw-${unique()}`;
let radicale: RadicaleService;
const fronts = new Map<501 | 403, ApacheDigestService>();
/** Refuses sync-collection and strips getctag and sync-token from PROPFIND answers. */
let bare: ApacheDigestService;
let passwords: string;

/** Another client of the Radicale behind the front (which trusts X-Remote-User): acts as alice. */
class AlicePeer extends DavPeer {
  override fetch(method: string, path: string, init: { headers?: Record<string, string>; body?: string } = {}): Promise<Response> {
    return super.fetch(method, path, { ...init, headers: { 'X-Remote-User': 'alice', ...init.headers } });
  }
}
const peer = () => new AlicePeer(radicale.url, 'alice', 'unused');

beforeAll(async () => {
  radicale = await startRadicale({ auth: 'http_x_remote_user' });
  for (const status of [501, 403] as const) fronts.set(status, await startApacheDigest({ port: await freePort(), radicalePort: radicale.port, users: { alice: PASSWORD }, refuseSyncCollection: status }));
  bare = await startApacheDigest({ port: await freePort(), radicalePort: radicale.port, users: { alice: PASSWORD }, refuseSyncCollection: 501, hideCtag: true });
  passwords = join(tempDir('carddav-fallback'), 'passwords');
  writeFileSync(passwords, `alice:${PASSWORD}\n`);
});
afterAll(async () => {
  for (const f of fronts.values()) await f.stop();
  await bare?.stop();
  await radicale?.stop();
});

function connector(front: ApacheDigestService, requests: string[] = []): CarddavConnector {
  const options = carddavConnectorSchema.parse({ kind: 'carddav', url: front.url, credentials: { username: 'alice', passwordsFile: passwords }, write: { enabled: true } });
  return new CarddavConnector(options, { onRequest: (m, u) => requests.push(`${m} ${u.pathname}`) });
}

function sample(i: number): ItemFields {
  return { uri: `sip:user${i}@example.com`, 'display-name': `User ${i}`, mail: `user${i}@example.com` };
}

/** The contract suite's harness on a fresh address book reached through `front`. */
async function harness(front: ApacheDigestService): Promise<ConnectorHarness> {
  const book = `/alice/ab-${unique()}/`;
  await peer().mkAddressBook(book);
  const c = connector(front);
  return {
    connector: c,
    collection: new URL(book, front.url).href,
    missingCollection: new URL(`/alice/missing-${unique()}/`, front.url).href,
    sample,
    seed: (items) => seedCards(peer(), book, items),
    external: {
      update: async (id, fields) => void (await peer().putCard(book, id, cardText(id, fields))),
      remove: (id) => peer().deleteCard(book, id),
    },
    cleanup: async () => {
      await c.close();
      await peer().deleteBook(book);
    },
  };
}

const CAPABILITIES = { write: true, conditionalWrite: true, changeFeed: true, watch: false };

for (const status of [501, 403] as const) {
  connectorContract(`carddav (sync-collection answered ${status}, getctag)`, CAPABILITIES, () => harness(fronts.get(status) as ApacheDigestService));

  describe(`carddav: a front answering sync-collection with ${status}`, () => {
    it('the front really refuses sync-collection and passes multiget and PROPFIND on', async () => {
      const front = fronts.get(status) as ApacheDigestService;
      const requests: string[] = [];
      const c = connector(front, requests);
      const book = `/alice/ab-${unique()}/`;
      await peer().mkAddressBook(book);
      await seedCards(peer(), book, [sample(1)]);
      const url = new URL(book, front.url).href;
      await c.changes(url);
      expect(front.requests().some((r) => r === `REPORT ${book} ${status}`)).toBe(true);
      expect(front.requests().filter((r) => r.startsWith(`REPORT ${book} `)).some((r) => r.endsWith(' 207'))).toBe(true); // the multiget
      await c.close();
    });

    it('falls back once: the first run lists every card, later runs ask getctag only (one request when nothing changed) and see edits and deletes', async () => {
      const front = fronts.get(status) as ApacheDigestService;
      const book = await runsSeeEditsAndDeletes(front);
      // No second sync-collection was tried after the first refusal.
      expect(front.requests().filter((r) => r === `REPORT ${book} ${status}`)).toHaveLength(1);
    });

    it('a sync token stored before the server lost sync-collection reads as expired once, then getctag takes over', async () => {
      const front = fronts.get(status) as ApacheDigestService;
      const c = connector(front);
      const book = `/alice/ab-${unique()}/`;
      await peer().mkAddressBook(book);
      await seedCards(peer(), book, [sample(3)]);
      const url = new URL(book, front.url).href;
      // A sync-collection token as the connector stores one (the front refuses the report whatever the token).
      const syncToken = `cd1.${Buffer.from(JSON.stringify({ u: url, s: `http://radicale.org/ns/sync/${'0'.repeat(64)}` })).toString('base64url')}`;
      expect(await c.changes(url, syncToken)).toBe('token-expired');
      const fresh = await c.changes(url);
      if (fresh === 'token-expired') throw new Error('a first read cannot expire');
      expect(fresh.upserted).toHaveLength(1);
      expect(await c.changes(url, fresh.token)).toEqual({ token: fresh.token, upserted: [], deleted: [] });
      await c.close();
    });
  });
}

connectorContract('carddav (no sync-collection, no getctag: getetag listing)', CAPABILITIES, () => harness(bare));

describe('carddav: a server with neither sync-collection nor getctag', () => {
  it('after the first run, each run is one getetag listing (PROPFIND Depth 1) that finds edits and deletes; an unchanged book reports nothing', async () => {
    const book = await runsSeeEditsAndDeletes(bare);
    // The front really strips them (curl --digest through it), where Radicale itself has both.
    const body = '<propfind xmlns="DAV:" xmlns:CS="http://calendarserver.org/ns/"><prop><CS:getctag/><sync-token/></prop></propfind>';
    const { stdout } = await run('curl', ['-s', '--digest', '-u', `alice:${PASSWORD}`, '-X', 'PROPFIND', '-H', 'Depth: 0', '--data', body, `${bare.url}${book}`]);
    expect(stdout).toContain('<multistatus');
    expect(stdout, stdout).not.toMatch(/getctag>|sync-token>/);
    expect(await (await peer().fetch('PROPFIND', book, { headers: { Depth: '0' }, body })).text()).toMatch(/<CS:getctag>"/);
  });
});

/**
 * Two cards; a first run reads both; an unchanged run is one PROPFIND and reports nothing;
 * after a peer edits one and deletes the other, the next run reports exactly that.
 * Returns the address book's path.
 */
async function runsSeeEditsAndDeletes(front: ApacheDigestService): Promise<string> {
  const requests: string[] = [];
  const c = connector(front, requests);
  const book = `/alice/ab-${unique()}/`;
  await peer().mkAddressBook(book);
  const [one, two] = await seedCards(peer(), book, [sample(1), sample(2)]);
  const url = new URL(book, front.url).href;
  const first = await c.changes(url);
  if (first === 'token-expired') throw new Error('a first read cannot expire');
  expect(first.upserted.map((i) => i.id).sort()).toEqual([one!.id, two!.id].sort());

  requests.length = 0;
  expect(await c.changes(url, first.token)).toEqual({ token: first.token, upserted: [], deleted: [] });
  expect(requests).toEqual([`PROPFIND ${book}`]);

  await peer().putCard(book, one!.id, cardText(one!.id, { ...sample(1), 'display-name': 'Renamed' }));
  await peer().deleteCard(book, two!.id);
  const moved = await c.changes(url, first.token);
  if (moved === 'token-expired') throw new Error('the token must hold');
  expect(moved.upserted.map((i) => [i.id, i.fields['display-name']])).toEqual([[one!.id, 'Renamed']]);
  expect(moved.deleted).toEqual([two!.id]);
  await c.close();
  return book;
}
