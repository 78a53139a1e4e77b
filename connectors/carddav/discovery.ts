/**
 * Finding a user's address book from the server URL (RFC 6764 §6, RFC 5397, RFC 6352 §7):
 * `/.well-known/carddav` (or the server URL itself when that is not served) →
 * `current-user-principal` → `addressbook-home-set` → the first address book under it.
 * Each step is one PROPFIND; redirects (the well-known URL usually redirects) are
 * followed by the HTTP client with its host allow-list.
 */
import { NotFound } from '../errors.ts';
import type { DavAnswer } from './http.ts';
import { CARDDAV, DAV, multistatusOf, propfindBody, propHas, propHrefs } from './multistatus.ts';

/** Sends one request with the user's credentials. */
export type Send = (method: string, url: URL, headers: Record<string, string>, body: string, what: string) => Promise<DavAnswer>;

export async function discoverAddressBook(send: Send, server: URL): Promise<URL> {
  const propfind = (url: URL, depth: '0' | '1', props: [string, string][], what: string) =>
    send('PROPFIND', url, { Depth: depth, 'Content-Type': 'application/xml; charset=utf-8' }, propfindBody(props), what);
  const principalProps: [string, string][] = [[DAV, 'current-user-principal']];
  let first = await propfind(new URL('/.well-known/carddav', server), '0', principalProps, 'discovery (well-known)');
  if (first.status !== 207) first = await propfind(server, '0', principalProps, 'discovery (principal)');
  const base = first.url;
  const principal = multistatusOf(first, 'discovery (principal)').responses.flatMap((r) => propHrefs(r, DAV, 'current-user-principal', base))[0];
  if (principal === undefined) throw new NotFound(`CardDAV discovery: ${server.href} names no current-user-principal`);

  const principalUrl = new URL(principal, base);
  const home = await propfind(principalUrl, '0', [[CARDDAV, 'addressbook-home-set']], 'discovery (addressbook-home-set)');
  const homeHref = multistatusOf(home, 'discovery (addressbook-home-set)').responses.flatMap((r) => propHrefs(r, CARDDAV, 'addressbook-home-set', principalUrl))[0];
  if (homeHref === undefined) throw new NotFound(`CardDAV discovery: principal ${principal} names no addressbook-home-set`);

  const homeUrl = new URL(homeHref, principalUrl);
  const books = await propfind(homeUrl, '1', [[DAV, 'resourcetype']], 'discovery (address books)');
  const book = multistatusOf(books, 'discovery (address books)').responses.find((r) => propHas(r, DAV, 'resourcetype', CARDDAV, 'addressbook'));
  if (!book) throw new NotFound(`CardDAV discovery: no address book under ${homeUrl.pathname}`);
  return new URL(book.href, homeUrl);
}
