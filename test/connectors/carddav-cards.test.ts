/**
 * What the CardDAV connector does with the cards it finds on a real Radicale, beyond the
 * contract: a phone's edit keeps everything the phone does not show, cards it cannot
 * read are skipped and reported, two cards with one UID stop the address book, a token
 * the server refuses is `token-expired`, an unchanged address book costs one request,
 * and a server that is gone is Unavailable, never empty.
 */
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { Writable } from 'node:stream';
import { NotFound, Rejected, Unavailable } from '../../connectors/errors.ts';
import type { RemoteItem } from '../../connectors/types.ts';
import { startRadicale } from '../services/radicale.ts';
import { cardText, carddavConnectorFor, DavPeer, newUser, radicaleForFile, unique } from './carddav-fixtures.ts';

const f = radicaleForFile();

async function freshBook(): Promise<{ path: string; url: string }> {
  const path = `/${f.alice.user}/ab-${unique()}/`;
  await f.peer.mkAddressBook(path);
  return { path, url: new URL(path, f.radicale.url).href };
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

function logSink(): { logger: pino.Logger; lines: () => string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { logger: pino(stream), lines: () => lines };
}

const anna = { uri: 'sip:anna@example.com', 'display-name': 'Anna Berg', mail: 'anna@example.com', mobile: '+4915112345678', title: 'Buyer' };

describe('carddav: cards', () => {
  it('an edit from the phone changes only the mapped properties: PHOTO, NOTE, ADR, X- properties, groups and VERSION stay', async () => {
    const book = await freshBook();
    await f.peer.putCard(book.path, 'anna', cardText('anna', anna));
    const c = carddavConnectorFor(f.radicale, f.alice);
    const [item] = await collect(c.read(book.url));
    expect(item?.fields).toEqual(anna);
    await c.write(book.url, { id: 'anna', fields: { ...anna, 'display-name': 'Anna Berg-Lund', mobile: '+4915199999999' }, owned: ['uri', 'display-name', 'mail', 'mobile'] }, { version: item!.version });
    const { text } = await f.peer.getCard(book.path, 'anna');
    expect(text).toMatch(/^FN:Anna Berg-Lund\r?$/m);
    expect(text).toMatch(/^TEL;TYPE=CELL:\+4915199999999\r?$/m);
    expect(text).toMatch(/^VERSION:3\.0\r?$/m);
    expect(text).toMatch(/^PHOTO;ENCODING=b;TYPE=PNG:iVBORw0KGgo=\r?$/m);
    expect(text).toMatch(/^NOTE:met at the conference\r?$/m);
    expect(text).toMatch(/^ADR;TYPE=WORK:;;Main Street 1;Berlin;;10115;Germany\r?$/m);
    expect(text).toMatch(/^X-CUSTOM;X-PARAM=1:kept\r?$/m);
    expect(text).toMatch(/^item1\.URL:https:\/\/example\.com\/\r?$/im);
    expect(text).toMatch(/^item1\.X-ABLabel:homepage\r?$/im);
    expect(text).toMatch(/^TITLE:Buyer\r?$/m);
    await c.close();
  });

  it('a card without FN takes its display name from N; a card with a national number reads it in E.164 with defaultCountry', async () => {
    const book = await freshBook();
    // An empty FN (Radicale refuses a card without one; others serve such cards too).
    await f.peer.putCard(book.path, 'nofn', 'BEGIN:VCARD\r\nVERSION:3.0\r\nUID:nofn\r\nFN:\r\nN:Keller;Jonas;;Dr.;\r\nTEL;TYPE=WORK:030 1234567\r\nEND:VCARD\r\n');
    const c = carddavConnectorFor(f.radicale, f.alice, { mapping: { defaultCountry: 'DE', uri: ['impp', 'tel'] } });
    const [item] = await collect(c.read(book.url));
    expect(item?.fields).toEqual({ uri: 'tel:+49301234567', 'display-name': 'Dr. Jonas Keller', phone: '+49301234567' });
    await c.close();
  });

  it('a vCard 4.0 card is read and keeps VERSION:4.0 through an edit; new cards are made in the configured version', async () => {
    const book = await freshBook();
    await f.peer.putCard(book.path, 'v4', 'BEGIN:VCARD\r\nVERSION:4.0\r\nUID:v4\r\nFN:Vera Vier\r\nIMPP:sip:vera@example.com\r\nTEL;VALUE=uri;TYPE=cell:tel:+4917011112222\r\nEND:VCARD\r\n');
    const c = carddavConnectorFor(f.radicale, f.alice, { write: { enabled: true, version: '4.0' } });
    const [item] = await collect(c.read(book.url));
    expect(item?.fields).toEqual({ uri: 'sip:vera@example.com', 'display-name': 'Vera Vier', mobile: '+4917011112222' });
    await c.write(book.url, { id: 'v4', fields: { ...item!.fields, mobile: '+4917033334444' } }, { version: item!.version });
    const { text } = await f.peer.getCard(book.path, 'v4');
    expect(text).toMatch(/^VERSION:4\.0\r?$/m);
    expect(text).toMatch(/^TEL;[^:]*TYPE=cell[^:]*:tel:\+4917033334444\r?$/m);
    const made = await c.write(book.url, { fields: { uri: 'sip:neu@example.com', 'display-name': 'Nina Neu' } }, 'absent');
    const created = await f.peer.getCard(book.path, made.id);
    expect(created.text).toMatch(/^VERSION:4\.0\r?$/m);
    expect(created.text).toMatch(/^IMPP:sip:neu@example\.com\r?$/m);
    await c.close();
  });

  it('a card without any uri source is skipped and reported once; the others are read; it never counts as deleted', async () => {
    const book = await freshBook();
    await f.peer.putCard(book.path, 'good', cardText('good', anna));
    await f.peer.putCard(book.path, 'nouri', 'BEGIN:VCARD\r\nVERSION:3.0\r\nUID:nouri\r\nFN:No Address\r\nN:Address;No;;;\r\nNOTE:only a name\r\nEND:VCARD\r\n');
    const log = logSink();
    const c = carddavConnectorFor(f.radicale, f.alice, {}, { logger: log.logger });
    const first = await c.changes(book.url);
    if (first === 'token-expired') throw new Error('initial changes() must not expire');
    expect(first.upserted.map((u) => u.id)).toEqual(['good']);
    expect(await collect(c.list(book.url))).toEqual([{ id: 'good', version: first.upserted[0]!.version }]);
    const again = await c.changes(book.url, first.token);
    expect(again).toEqual({ token: first.token, upserted: [], deleted: [] });
    expect(log.lines()).toHaveLength(1);
    expect(log.lines()[0]).toContain('nouri.vcf');
    expect(c.skippedCards).toBe(1);
    await c.close();
  });

  it('two cards with one UID stop the address book with an error naming both hrefs; a create with a known UID is Rejected with the server\'s reason', async () => {
    const book = await freshBook();
    await f.peer.putCard(book.path, 'one', cardText('same-uid', anna));
    const c = carddavConnectorFor(f.radicale, f.alice);
    const dup = await c.write(book.url, { id: 'same-uid', fields: { uri: 'sip:y@example.com', 'display-name': 'Y' } }, 'absent').catch((e: unknown) => e);
    expect(dup).toBeInstanceOf(Rejected);
    expect(String(dup)).toContain('no-uid-conflict');
    // Radicale's PUT refuses the second copy (409); a restore or another tool puts it in place anyway.
    f.radicale.writeStored(book.path, 'two.vcf', cardText('same-uid', { ...anna, 'display-name': 'Anna Zwei' }));
    for (const run of [() => collect(c.list(book.url)), () => c.changes(book.url)]) {
      const err = await run().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Rejected);
      expect(String(err)).toContain(`${book.path}one.vcf`);
      expect(String(err)).toContain(`${book.path}two.vcf`);
    }
    await c.close();
  });

  it('a sync token the server refuses is token-expired; an unchanged address book costs one request', async () => {
    const book = await freshBook();
    await f.peer.putCard(book.path, 'anna', cardText('anna', anna));
    const requests: string[] = [];
    const c = carddavConnectorFor(f.radicale, f.alice, {}, { onRequest: (m, u) => requests.push(`${m} ${u.pathname}`) });
    const first = await c.changes(book.url);
    if (first === 'token-expired') throw new Error('initial changes() must not expire');
    requests.length = 0;
    const idle = await c.changes(book.url, first.token);
    expect(idle).toEqual({ token: first.token, upserted: [], deleted: [] });
    expect(requests).toEqual([`REPORT ${book.path}`]);
    // A token of the right shape that the server never issued (Radicale answers 403 valid-sync-token).
    const forged = first.token.slice(0, 4) + Buffer.from(JSON.stringify({ u: book.url, s: 'http://radicale.org/ns/sync/0000' })).toString('base64url');
    expect(await c.changes(book.url, forged)).toBe('token-expired');
    await c.close();
  });

  it('a missing address book is NotFound; a stopped or hanging server is Unavailable, never an empty address book', async () => {
    const own = await startRadicale();
    const bob = newUser(own);
    const bobPeer = new DavPeer(own.url, bob.user, bob.password);
    const path = `/${bob.user}/contacts/`;
    await bobPeer.mkAddressBook(path);
    await bobPeer.putCard(path, 'anna', cardText('anna', anna));
    const c = carddavConnectorFor(own, bob, { addressBook: '/{user}/contacts/' });
    try {
      const items: RemoteItem[] = await collect(c.read(bob.user));
      expect(items.map((i) => i.id)).toEqual(['anna']);
      await expect(collect(c.list(`${own.url}/${bob.user}/nothing-here/`))).rejects.toBeInstanceOf(NotFound);
      await own.halt();
      await expect(collect(c.list(bob.user))).rejects.toBeInstanceOf(Unavailable);
      await expect(c.changes(bob.user)).rejects.toBeInstanceOf(Unavailable);
      await own.start();
      expect((await collect(c.list(bob.user))).map((r) => r.id)).toEqual(['anna']);
      // A server that accepts connections and never answers: the request times out as Unavailable.
      const impatient = carddavConnectorFor(own, bob, { addressBook: '/{user}/contacts/', timeoutMs: 1000 });
      own.freeze();
      try {
        const err = await impatient.changes(bob.user).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(Unavailable);
        expect(String(err)).toContain('timed out');
      } finally {
        own.thaw();
        await impatient.close();
      }
      expect((await collect(c.list(bob.user))).map((r) => r.id)).toEqual(['anna']);
    } finally {
      await c.close();
      await own.stop();
    }
  });
});
