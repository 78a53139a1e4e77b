/** Shared pieces of the admin API tests: a users-scope binding and requests with Basic credentials. */
import { basicHeader, rawRequest, type ClientResponse } from '../helpers/digest-client.ts';
import { ADMIN, ALICE } from '../helpers/gateway.ts';

/** A users-scope binding `directory` of every user's `index` (list `directory`) to the memory collection `people`. */
export const DIRECTORY_BINDING = {
  name: 'directory',
  auid: 'resource-lists',
  target: { scope: 'users', document: 'index' },
  mapping: { kind: 'resource-lists', list: 'directory' },
  connector: 'mem',
  collection: 'people',
} as const;

export const AS_ADMIN = { Authorization: basicHeader({ username: 'admin', password: ADMIN.password }) };
export const AS_ALICE = { Authorization: basicHeader({ username: 'alice', password: ALICE.password }) };
export const JSON_TYPE = { 'Content-Type': 'application/json' };

/** POST `body` (an object is sent as JSON) to `origin + path`. */
export function post(origin: string, path: string, headers: Record<string, string>, body: unknown): Promise<ClientResponse> {
  return rawRequest('POST', origin + path, headers, typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body));
}
