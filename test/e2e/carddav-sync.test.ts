/**
 * Issue 11 end to end: a phone edits its `friends` list over XCAP (HTTP, Digest) on the
 * real gateway, the sync engine runs on real Redis, and the other side is a real Radicale
 * address book (`/alice/contacts/`, binding `buddies`, direction both, connector kind
 * carddav with a per-user passwords file). A desktop CardDAV client's edits are plain
 * HTTP requests to Radicale. Cases: each direction; a phone edit keeps what the phone
 * does not show; both sides changed under each policy; a card without FN; duplicate UIDs;
 * a token the server refuses; Radicale down while XCAP keeps serving.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BindingInput } from '../../src/sync/binding.ts';
import { SyncState } from '../../src/sync/state.ts';
import { ALICE, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { EL_TYPE, RL_TYPE } from '../http/helpers.ts';
import { startRadicale, type RadicaleService } from '../services/radicale.ts';
import { tempDir } from '../services/process.ts';
import { cardText, DavPeer } from '../connectors/carddav-fixtures.ts';
import { adminApi, ALICE_INDEX, BINDING, entryPath, entryXml, FRIENDS, getDoc, listOf, rlDoc, runFinished, scopeState, syncNow, until, type Item } from './sync-helpers.ts';
import { describeEachRedis, redisSection, type RedisVariant } from '../helpers/redis-variants.ts';

const BOOK = '/alice/contacts/';
const bob: Item = { uri: 'sip:bob@example.com', 'display-name': 'Bob', mail: 'bob@example.com' };
const carol: Item = { uri: 'sip:carol@example.com', 'display-name': 'Carol' };
const WORK: Item[] = [{ uri: 'sip:erin@example.com', 'display-name': 'Erin' }];

let radicale: RadicaleService;
let peer: DavPeer;
let secrets: string;

beforeAll(async () => {
  radicale = await startRadicale();
  const password = `pw-${randomUUID()}`;
  radicale.addUser('alice', password);
  peer = new DavPeer(radicale.url, 'alice', password);
  secrets = join(tempDir('carddav-secrets'), 'passwords');
  writeFileSync(secrets, `bob:not-used\nalice:${password}\n`);
});
afterAll(() => radicale?.stop());

/** A gateway with the buddies binding to alice's (new, empty) address book. */
async function carddavGateway(redis: RedisVariant, policy: BindingInput['policy']): Promise<TestGateway> {
  await peer.deleteBook(BOOK);
  await peer.mkAddressBook(BOOK);
  const binding: BindingInput = {
    name: BINDING,
    auid: 'resource-lists',
    target: { scope: 'users', document: 'index' },
    mapping: { kind: 'resource-lists', list: FRIENDS, fields: ['mail'] },
    connector: 'dav',
    collection: '{user}',
    direction: 'both',
    policy,
  };
  return startTestGateway({
    config: {
      redis: redisSection(await redis.target(), `e2e-carddav-${randomUUID()}`),
      connectors: {
        dav: { kind: 'carddav', url: radicale.url, addressBook: '/{user}/contacts/', credentials: { passwordsFile: secrets }, write: { enabled: true } },
      },
      bindings: [binding],
    },
  });
}

interface StoredCard {
  readonly href: string;
  readonly text: string;
  readonly etag: string;
}

/** Every card of alice's address book as a desktop client sees it (PROPFIND, then GET each). */
async function cards(): Promise<StoredCard[]> {
  const res = await peer.fetch('PROPFIND', BOOK, { headers: { Depth: '1' }, body: '<propfind xmlns="DAV:"><prop><getetag/></prop></propfind>' });
  const hrefs = [...(await res.text()).matchAll(/<href>([^<]+\.vcf)<\/href>/g)].map((m) => m[1] as string);
  const out: StoredCard[] = [];
  for (const href of hrefs) {
    const got = await peer.fetch('GET', href);
    out.push({ href, text: await got.text(), etag: got.headers.get('etag') ?? '' });
  }
  return out;
}

/** The card whose IMPP is `uri`. */
async function cardOf(uri: string): Promise<StoredCard | undefined> {
  return (await cards()).find((c) => new RegExp(`^IMPP[^:]*:${uri}\\r?$`, 'm').test(c.text));
}

function fnOf(card: StoredCard | undefined): string | undefined {
  return card ? /^FN:(.*?)\r?$/m.exec(card.text)?.[1] : undefined;
}

/** A desktop client's edit: the card's FN replaced (and REV set when given), everything else as it was. */
async function desktopRename(card: StoredCard, name: string, rev?: Date): Promise<void> {
  let body = card.text.replace(/^FN:.*$/m, `FN:${name}\r`);
  if (rev) body = body.replace(/^END:VCARD/m, `REV:${rev.toISOString().replace(/\.\d{3}/, '')}\r\nEND:VCARD`);
  const res = await peer.fetch('PUT', card.href, { headers: { 'Content-Type': 'text/vcard', 'If-Match': card.etag }, body });
  expect([201, 204]).toContain(res.status);
}

/**
 * Bob and carol synced to the address book once; then `desktop` edits bob's card and the
 * phone renames him to `Bob (phone)` (an element PUT); resolves when the run it triggers ends.
 */
async function bothEdited(t: TestGateway, desktop: (card: StoredCard) => Promise<void>): Promise<void> {
  const res = await t.client().put(ALICE_INDEX, rlDoc({ [FRIENDS]: [bob, carol], work: WORK }), RL_TYPE);
  expect(res.status).toBe(201);
  const card = await until(() => cardOf(bob.uri), (c) => c !== undefined);
  await runFinished(t, 0);
  await desktop(card!);
  const since = Date.now();
  const edit = await t.client().put(entryPath(ALICE_INDEX, FRIENDS, bob.uri), entryXml({ ...bob, 'display-name': 'Bob (phone)' }, true), EL_TYPE);
  expect(edit.status, edit.body).toBe(200);
  expect((await runFinished(t, since))?.lastError).toBeNull();
}

async function friends(t: TestGateway): Promise<Map<string, Item>> {
  const doc = await getDoc(t);
  expect([...(listOf(doc.body, 'work')?.values() ?? [])]).toEqual(WORK);
  return listOf(doc.body, FRIENDS) ?? new Map();
}

describeEachRedis((redis) => {
  describe('issue 11: XCAP ⇄ Radicale, item by item', () => {
    let t: TestGateway;
    beforeAll(async () => {
      t = await carddavGateway(redis, 'manual');
    });
    afterAll(() => t?.stop());

    it('the phone\'s new document reaches the address book as one card per entry', async () => {
      const res = await t.client().put(ALICE_INDEX, rlDoc({ [FRIENDS]: [bob, carol], work: WORK }), RL_TYPE);
      expect(res.status).toBe(201);
      const got = await until(cards, (c) => c.length === 2);
      expect(got.map(fnOf).sort()).toEqual(['Bob', 'Carol']);
      expect((await cardOf(bob.uri))?.text).toMatch(/^EMAIL[^:]*:bob@example\.com\r?$/m);
    });

    it('an element PUT of an entry from the phone creates a card; a card a desktop client edits reaches XCAP on the next run', async () => {
      const dave: Item = { uri: 'sip:dave@example.com', 'display-name': 'Dave', mail: 'dave@example.com' };
      const res = await t.client().put(entryPath(ALICE_INDEX, FRIENDS, dave.uri), entryXml(dave, true), EL_TYPE);
      expect(res.status, res.body).toBe(201);
      const card = await until(() => cardOf(dave.uri), (c) => c !== undefined);
      expect(fnOf(card)).toBe('Dave');
      await runFinished(t, 0);
      await desktopRename(card!, 'David');
      await syncNow(t);
      expect((await friends(t)).get(dave.uri)).toEqual({ ...dave, 'display-name': 'David' });
    });

    it('a phone edit of a contact keeps its PHOTO, NOTE, ADR, X- properties and groups in the card', async () => {
      // A desktop client adds them (the card as cardText writes one, under the same UID and href).
      const card = (await cardOf(carol.uri))!;
      const uid = /^UID:(.*?)\r?$/m.exec(card.text)![1]!;
      const rich = await peer.fetch('PUT', card.href, { headers: { 'Content-Type': 'text/vcard', 'If-Match': card.etag }, body: cardText(uid, carol) });
      expect([201, 204]).toContain(rich.status);
      await syncNow(t);
      const since = Date.now();
      const res = await t.client().put(entryPath(ALICE_INDEX, FRIENDS, carol.uri), entryXml({ ...carol, 'display-name': 'Carol C.' }, true), EL_TYPE);
      expect(res.status, res.body).toBe(200);
      await runFinished(t, since);
      const after = await until(() => cardOf(carol.uri), (c) => fnOf(c) === 'Carol C.');
      expect(fnOf(after)).toBe('Carol C.');
      for (const kept of [/^PHOTO;ENCODING=b;TYPE=PNG:iVBORw0KGgo=\r?$/m, /^NOTE:met at the conference\r?$/m, /^ADR;TYPE=WORK:;;Main Street 1;Berlin;;10115;Germany\r?$/m, /^X-CUSTOM;X-PARAM=1:kept\r?$/m, /^item1\.X-ABLabel:homepage\r?$/im, /^VERSION:3\.0\r?$/m]) {
        expect(after?.text).toMatch(kept);
      }
    });

    it('a card whose FN is empty shows its N as the display name', async () => {
      const put = await peer.fetch('PUT', `${BOOK}nofn.vcf`, { headers: { 'Content-Type': 'text/vcard' }, body: 'BEGIN:VCARD\r\nVERSION:3.0\r\nUID:nofn\r\nFN:\r\nN:Keller;Jonas;;;\r\nIMPP:sip:jonas@example.com\r\nEND:VCARD\r\n' });
      expect(put.status).toBe(201);
      await syncNow(t);
      expect((await friends(t)).get('sip:jonas@example.com')).toEqual({ uri: 'sip:jonas@example.com', 'display-name': 'Jonas Keller' });
    });

    it('a sync token the server refuses: the run reads everything again, nothing lost, nothing doubled', async () => {
      const before = await friends(t);
      const state = await SyncState.open(t.gateway.store.sql);
      const row = await state.getScope(BINDING, ALICE.xui);
      expect(row?.remoteToken).toBeTruthy();
      const forged = `cd1.${Buffer.from(JSON.stringify({ u: new URL(BOOK, radicale.url).href, s: 'http://radicale.org/ns/sync/0000' })).toString('base64url')}`;
      await t.gateway.store.sql.run('UPDATE sync_scopes SET remote_token = ? WHERE binding = ? AND scope = ?', [forged, BINDING, ALICE.xui]);
      const cardsBefore = (await cards()).length;
      const s = await syncNow(t);
      expect(s?.lastError).toBeNull();
      expect(s?.remoteToken).not.toBe(forged);
      expect(await friends(t)).toEqual(before);
      expect((await cards()).length).toBe(cardsBefore);
    });

    it('two cards with one UID stop the scope with an error naming both hrefs; nothing is deleted on either side', async () => {
      const before = await friends(t);
      const card = (await cardOf(bob.uri))!;
      radicale.writeStored(BOOK, 'bob-copy.vcf', card.text.replace(/^FN:.*$/m, 'FN:Bob Copy\r'));
      const s = await syncNow(t);
      expect(s?.lastError).toContain(card.href);
      expect(s?.lastError).toContain(`${BOOK}bob-copy.vcf`);
      expect((await adminApi(t).status())?.lastError).toContain('bob-copy.vcf');
      expect(await friends(t)).toEqual(before);
      const res = await peer.fetch('DELETE', `${BOOK}bob-copy.vcf`);
      expect(res.status).toBe(200);
      expect((await syncNow(t))?.lastError).toBeNull();
    });

    it('Radicale down: the run fails as unavailable and is retried, XCAP keeps serving; once it is back the next run succeeds', async () => {
      await radicale.halt();
      try {
        const since = Date.now();
        await t.gateway.sync?.enqueue(BINDING, ALICE.xui);
        const failed = await until(() => scopeState(t), (s) => (s?.lastRunAt ?? 0) >= since && s?.lastError != null);
        expect(failed?.lastError).toMatch(/unavailable|ECONNREFUSED/i);
        const doc = await getDoc(t);
        expect(listOf(doc.body, FRIENDS)?.get(bob.uri)).toEqual(bob);
      } finally {
        await radicale.start();
      }
      const ok = await until(() => scopeState(t), (s) => s?.lastError === null, 60_000);
      expect(ok?.lastError).toBeNull();
      expect((await friends(t)).size).toBe(4);
    });
  });

  describe.each([
    { policy: 'xcap-wins', winner: 'Bob (phone)', rev: undefined },
    { policy: 'remote-wins', winner: 'Bob (desktop)', rev: undefined },
    // The desktop stamps REV an hour back: the phone's edit is the newer one.
    { policy: 'newest-wins', winner: 'Bob (phone)', rev: new Date(Date.now() - 3_600_000) },
  ] as const)('issue 11 policy $policy: the phone and a desktop client changed one contact', ({ policy, winner, rev }) => {
    let t: TestGateway;
    beforeAll(async () => {
      t = await carddavGateway(redis, policy);
    });
    afterAll(() => t?.stop());

    it(`both sides end with ${winner}`, async () => {
      await bothEdited(t, (card) => desktopRename(card, 'Bob (desktop)', rev));
      expect((await friends(t)).get(bob.uri)?.['display-name']).toBe(winner);
      expect(fnOf(await cardOf(bob.uri))).toBe(winner);
      expect(await adminApi(t).conflicts()).toEqual([]);
    });
  });

  describe('issue 11 policy merge: the phone renamed a contact, a desktop client changed its mail', () => {
    let t: TestGateway;
    beforeAll(async () => {
      t = await carddavGateway(redis, 'merge');
    });
    afterAll(() => t?.stop());

    it('both changes end on both sides', async () => {
      await bothEdited(t, async (card) => {
        const mailed = await peer.fetch('PUT', card.href, { headers: { 'Content-Type': 'text/vcard', 'If-Match': card.etag }, body: card.text.replace(/^EMAIL([^:]*):.*$/m, 'EMAIL$1:bob@work.example.com\r') });
        expect([201, 204]).toContain(mailed.status);
      });
      const merged = { ...bob, 'display-name': 'Bob (phone)', mail: 'bob@work.example.com' };
      expect((await friends(t)).get(bob.uri)).toEqual(merged);
      const after = await cardOf(bob.uri);
      expect(fnOf(after)).toBe('Bob (phone)');
      expect(after?.text).toMatch(/^EMAIL[^:]*:bob@work\.example\.com\r?$/m);
      expect(await adminApi(t).conflicts()).toEqual([]);
    });
  });

  describe('issue 11 policy manual: the phone and a desktop client changed one contact', () => {
    let t: TestGateway;
    beforeAll(async () => {
      t = await carddavGateway(redis, 'manual');
    });
    afterAll(() => t?.stop());

    it('the conflict is recorded and neither side is written until it is resolved', async () => {
      await bothEdited(t, (card) => desktopRename(card, 'Bob (desktop)'));
      const open = await until(() => adminApi(t).conflicts(), (c) => c.length === 1);
      expect(open).toHaveLength(1);
      expect((await friends(t)).get(bob.uri)?.['display-name']).toBe('Bob (phone)');
      expect(fnOf(await cardOf(bob.uri))).toBe('Bob (desktop)');
      const resolvedAt = Date.now();
      const resolved = await adminApi(t).resolve(ALICE.xui, open[0]?.item ?? '', 'remote');
      expect(resolved.status, resolved.body).toBe(200);
      await runFinished(t, resolvedAt);
      expect((await friends(t)).get(bob.uri)?.['display-name']).toBe('Bob (desktop)');
      expect(fnOf(await cardOf(bob.uri))).toBe('Bob (desktop)');
      expect(await adminApi(t).conflicts()).toEqual([]);
    });
  });
});
