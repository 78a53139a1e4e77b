/**
 * One service account for every user's address book, against a real Radicale whose
 * `from_file` rights grant the account read/write on other users' collections (what an
 * operator sets up on Nextcloud or SOGo with delegated/shared address books); and the
 * `{user}@domain` forms of the user name and the address-book URL, for servers whose
 * logins are mail addresses.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CarddavConnector, carddavConnectorSchema } from '../../connectors/carddav/index.ts';
import { Rejected } from '../../connectors/errors.ts';
import { tempDir } from '../services/process.ts';
import { startRadicale, type RadicaleService } from '../services/radicale.ts';
import { cardText, DavPeer } from './carddav-fixtures.ts';

/** Owners reach their own tree; `svc` reaches every user's; `intruder` only its own. */
const RIGHTS = [
  '[service]',
  'user: svc',
  'collection: [^/]+(/[^/]+)?',
  'permissions: RrWw',
  '[owner]',
  'user: .+',
  'collection: {user}(/[^/]+)?',
  'permissions: RrWw',
  '[root]',
  'user: .+',
  'collection:',
  'permissions: R',
  '',
].join('\n');

let radicale: RadicaleService;
const peers: Record<string, DavPeer> = {};
let dir: string;

beforeAll(async () => {
  radicale = await startRadicale({ rights: RIGHTS });
  for (const [user, password] of [['alice', 'pw-alice'], ['bob', 'pw-bob'], ['svc', 'pw-svc'], ['intruder', 'pw-intruder'], ['carol@example.com', 'pw-carol']] as const) {
    radicale.addUser(user, password);
    peers[user] = new DavPeer(radicale.url, user, password);
  }
  // Each user makes their own address book and a card in it, as their CardDAV client would.
  for (const user of ['alice', 'bob', 'carol@example.com']) {
    const peer = peers[user] as DavPeer;
    const book = `/${user}/contacts/`;
    await peer.mkAddressBook(book);
    const name = user.replace(/@.*/, '');
    await peer.putCard(book, `${name}-friend`, cardText(`${name}-friend`, { uri: `sip:${name}-friend@example.com`, 'display-name': `Friend of ${name}` }));
  }
  dir = tempDir('carddav-delegated');
  writeFileSync(join(dir, 'svc-password'), 'pw-svc\n');
  writeFileSync(join(dir, 'intruder-password'), 'pw-intruder\n');
  writeFileSync(join(dir, 'passwords'), 'carol:pw-carol\n');
});
afterAll(() => radicale?.stop());

function connector(extra: Record<string, unknown>, requests: string[] = []): CarddavConnector {
  const options = carddavConnectorSchema.parse({ kind: 'carddav', url: radicale.url, auth: 'basic', write: { enabled: true }, ...extra });
  return new CarddavConnector(options, { onRequest: (m, u) => requests.push(`${m} ${decodeURIComponent(u.pathname)}`) });
}

async function ids(c: CarddavConnector, collection: string): Promise<string[]> {
  const out: string[] = [];
  for await (const r of c.list(collection)) out.push(r.id);
  return out.sort();
}

describe('carddav: one service account with delegated access', () => {
  it('logs in as svc and syncs alice\'s and bob\'s address books, each its own cards; a card it writes is in bob\'s book as bob sees it', async () => {
    const requests: string[] = [];
    const c = connector({ addressBook: '/{user}/contacts/', credentials: { username: 'svc', passwordFile: join(dir, 'svc-password') } }, requests);
    const alice = await c.changes('alice');
    const bob = await c.changes('bob');
    if (alice === 'token-expired' || bob === 'token-expired') throw new Error('a first sync cannot expire');
    expect(alice.upserted.map((i) => [i.id, i.fields['display-name']])).toEqual([['alice-friend', 'Friend of alice']]);
    expect(bob.upserted.map((i) => [i.id, i.fields['display-name']])).toEqual([['bob-friend', 'Friend of bob']]);
    // Every request went to the users' own collections; none to svc's (it has no address book).
    expect(requests.every((r) => /\/(alice|bob)\/contacts\//.test(r))).toBe(true);

    const made = await c.write('bob', { fields: { uri: 'sip:dora@example.com', 'display-name': 'Dora' } }, 'absent');
    const seen = await peers.bob!.getCard('/bob/contacts/', made.id);
    expect(seen.status).toBe(200);
    expect(seen.text).toContain('FN:Dora');
    expect(await ids(c, 'alice')).toEqual(['alice-friend']);
    const next = await c.changes('bob', bob.token);
    if (next === 'token-expired') throw new Error('token expired');
    expect(next.upserted.map((i) => i.id)).toEqual([made.id]);
    await c.remove('bob', made.id, { version: made.version });
    expect((await peers.bob!.getCard('/bob/contacts/', made.id)).status).toBe(404);
    await c.close();
  });

  it('an account the server grants no access to another user\'s book is Rejected with the server\'s 403, nothing read', async () => {
    const c = connector({ addressBook: '/{user}/contacts/', credentials: { username: 'intruder', passwordFile: join(dir, 'intruder-password') } });
    const err = await c.changes('alice').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Rejected);
    expect(String(err)).toMatch(/HTTP 403/);
    await c.close();
  });

  it('a service account without an addressBook template is refused before any request: discovery would find the account\'s own book for every user', async () => {
    const requests: string[] = [];
    const c = connector({ credentials: { username: 'svc', passwordFile: join(dir, 'svc-password') } }, requests);
    const err = await c.changes('alice').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Rejected);
    expect(String(err)).toContain('addressBook');
    expect(requests).toEqual([]);
    await c.close();
  });
});

describe('carddav: {user}@domain forms', () => {
  it('collection "carol" with user name {user}@example.com and address book /{user}@example.com/contacts/ reaches carol@example.com\'s book', async () => {
    const requests: string[] = [];
    const c = connector({ addressBook: '/{user}@example.com/contacts/', credentials: { username: '{user}@example.com', passwordsFile: join(dir, 'passwords') } }, requests);
    expect(await ids(c, 'carol')).toEqual(['carol-friend']);
    expect(requests).toContain('PROPFIND /carol@example.com/contacts/');
    const made = await c.write('carol', { fields: { uri: 'sip:erin@example.com', 'display-name': 'Erin' } }, 'absent');
    expect((await peers['carol@example.com']!.getCard('/carol@example.com/contacts/', made.id)).text).toContain('FN:Erin');
    await c.close();
  });

  it('collection "carol@example.com" (a binding collection of {user}@{domain}) with the default templates, and by discovery', async () => {
    writeFileSync(join(dir, 'passwords-full'), 'carol@example.com:pw-carol\n');
    const byTemplate = connector({ addressBook: '/{user}/contacts/', credentials: { passwordsFile: join(dir, 'passwords-full') } });
    expect(await ids(byTemplate, 'carol@example.com')).toContain('carol-friend');
    await byTemplate.close();
    const requests: string[] = [];
    const discovered = connector({ credentials: { passwordsFile: join(dir, 'passwords-full') } }, requests);
    expect(await ids(discovered, 'carol@example.com')).toContain('carol-friend');
    expect(requests).toContain('PROPFIND /carol@example.com/contacts/');
    await discovered.close();
  });
});
