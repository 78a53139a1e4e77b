/**
 * Helpers for the CardDAV tests: a private address book per test on a real Radicale,
 * cards written behind the connector's back with plain fetch (as a phone's or a
 * desktop's CardDAV client would), and connectors pointed at it.
 */
import { afterAll, beforeAll } from 'vitest';
import type { ItemFields, ItemRef } from '../../connectors/types.ts';
import { CarddavConnector, carddavConnectorSchema, type CarddavConnectorDeps } from '../../connectors/carddav/index.ts';
import { mkAddressBookBody } from '../../connectors/carddav/multistatus.ts';
import { startRadicale, type RadicaleService } from '../services/radicale.ts';

export const PASSWORD_ENV = 'XCAPB_TEST_CARDDAV_PASSWORD';

let counter = 0;
export const unique = (): string => `${process.pid}-${++counter}-${Math.random().toString(36).slice(2, 8)}`;

/** A Radicale user with a password, for one test file. */
export function newUser(radicale: RadicaleService, name = `u${unique()}`): { user: string; password: string } {
  const password = `pw-${unique()}`;
  radicale.addUser(name, password);
  return { user: name, password };
}

/** What `radicaleForFile` hands out once its beforeAll ran. */
export interface RadicaleFixture {
  readonly radicale: RadicaleService;
  readonly alice: { user: string; password: string };
  /** Another client of the server, as alice. */
  readonly peer: DavPeer;
}

/** Starts a Radicale with one user for the calling test file (beforeAll) and stops it after (afterAll). */
export function radicaleForFile(): RadicaleFixture {
  const f = {} as { radicale: RadicaleService; alice: { user: string; password: string }; peer: DavPeer };
  beforeAll(async () => {
    f.radicale = await startRadicale();
    f.alice = newUser(f.radicale);
    f.peer = new DavPeer(f.radicale.url, f.alice.user, f.alice.password);
  });
  afterAll(() => f.radicale?.stop());
  return f;
}

/** Another CardDAV client of the same server: raw requests with Basic auth. */
export class DavPeer {
  readonly #auth: string;
  readonly base: string;
  constructor(base: string, user: string, password: string) {
    this.base = base;
    this.#auth = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  }

  async fetch(method: string, path: string, init: { headers?: Record<string, string>; body?: string } = {}): Promise<Response> {
    return fetch(new URL(path, this.base), { method, headers: { Authorization: this.#auth, ...init.headers }, ...(init.body === undefined ? {} : { body: init.body }) });
  }

  /** Makes an empty address book at `path` (ends with /). */
  async mkAddressBook(path: string): Promise<void> {
    const res = await this.fetch('MKCOL', path, { headers: { 'Content-Type': 'application/xml' }, body: mkAddressBookBody() });
    if (res.status !== 201) throw new Error(`MKCOL ${path}: ${res.status} ${await res.text()}`);
  }

  /** PUTs one card text at `<book><name>.vcf`; returns its ETag. */
  async putCard(book: string, name: string, text: string, headers: Record<string, string> = {}): Promise<string> {
    const res = await this.fetch('PUT', `${book}${encodeURIComponent(name)}.vcf`, { headers: { 'Content-Type': 'text/vcard; charset=utf-8', ...headers }, body: text });
    if (res.status !== 201 && res.status !== 204) throw new Error(`PUT ${name}: ${res.status} ${await res.text()}`);
    return res.headers.get('etag') ?? '';
  }

  async getCard(book: string, name: string): Promise<{ status: number; text: string; etag: string }> {
    const res = await this.fetch('GET', `${book}${encodeURIComponent(name)}.vcf`);
    return { status: res.status, text: await res.text(), etag: res.headers.get('etag') ?? '' };
  }

  async deleteCard(book: string, name: string): Promise<void> {
    const res = await this.fetch('DELETE', `${book}${encodeURIComponent(name)}.vcf`);
    if (res.status !== 200 && res.status !== 204) throw new Error(`DELETE ${name}: ${res.status}`);
  }

  async deleteBook(book: string): Promise<void> {
    await this.fetch('DELETE', book);
  }
}

/** A vCard 3.0 as a desktop client writes one: the item's fields plus a photo, a note, an address and a custom property. */
export function cardText(uid: string, f: ItemFields): string {
  const lines = ['BEGIN:VCARD', 'VERSION:3.0', 'PRODID:-//test//peer//EN', `UID:${uid}`];
  const name = f['display-name'];
  if (name !== undefined) {
    lines.push(`FN:${name}`);
    const words = name.split(' ');
    lines.push(`N:${words.slice(1).join(' ')};${words[0]};;;`);
  }
  if (f.uri?.startsWith('sip:')) lines.push(`IMPP;X-SERVICE-TYPE=SIP:${f.uri}`);
  if (f.mail !== undefined) lines.push(`EMAIL;TYPE=INTERNET,WORK:${f.mail}`);
  if (f.mobile !== undefined) lines.push(`TEL;TYPE=CELL:${f.mobile}`);
  if (f.title !== undefined) lines.push(`TITLE:${f.title}`);
  lines.push('NOTE:met at the conference', 'ADR;TYPE=WORK:;;Main Street 1;Berlin;;10115;Germany', 'X-CUSTOM;X-PARAM=1:kept', 'item1.URL:https://example.com/', 'item1.X-ABLabel:homepage', 'PHOTO;ENCODING=b;TYPE=PNG:iVBORw0KGgo=', 'END:VCARD', '');
  return lines.join('\r\n');
}

/** A connector of kind carddav on `radicale` as `user` (Basic up front, write-back on unless `write: false`). */
export function carddavConnectorFor(radicale: RadicaleService, user: { user: string; password: string }, extra: Record<string, unknown> = {}, deps: CarddavConnectorDeps = {}): CarddavConnector {
  const options = carddavConnectorSchema.parse({
    kind: 'carddav',
    url: radicale.url,
    credentials: { username: user.user, passwordEnv: PASSWORD_ENV },
    auth: 'basic',
    write: { enabled: true },
    ...extra,
  });
  return new CarddavConnector(options, { ...deps, env: { [PASSWORD_ENV]: user.password } });
}

/** Seeds cards named by their UID; returns their refs as the connector reads them (id = UID, version = ETag). */
export async function seedCards(peer: DavPeer, book: string, items: readonly ItemFields[]): Promise<ItemRef[]> {
  const refs: ItemRef[] = [];
  for (const f of items) {
    const uid = `seed-${unique()}`;
    refs.push({ id: uid, version: await peer.putCard(book, uid, cardText(uid, f)) });
  }
  return refs;
}
