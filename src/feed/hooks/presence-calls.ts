/**
 * The RPC calls that make a presence server re-read a user's documents, by application
 * usage (one call list per user and coalescing window):
 *
 * | usage | Kamailio (jsonrpcs) | OpenSIPS (mi_http) |
 * |---|---|---|
 * | pres-rules (IETF, OMA) | `presence.updateWatchers [uri, "presence"]` then `presence.refreshWatchers [uri, "presence", 0]` | `refresh_watchers {pres_uri, event: "presence", refresh_type: 0}` |
 * | resource-lists, rls-services | `rls.update_subs [uri, "presence"]` | `rls_update_subscriptions {presentity_uri}` |
 * | pidf-manipulation | `presence.refreshWatchers [uri, "presence", 2, <document URI>, <document name>]` | `refresh_watchers {…, refresh_type: 1}` |
 *
 * updateWatchers re-reads pres-rules and moves watchers between active, pending and
 * terminated; refreshWatchers type 0 then notifies them. Kamailio's type 2 wants the
 * document's URI and name (it re-reads the published state from it); OpenSIPS' MI takes
 * any non-zero type for "published state changed". With `publishXcapDiff`, OpenSIPS also
 * gets `pua_publish` of the xcap-diff body (event `xcap-diff`) for presence_xcapdiff.
 */
import type { PresenceServerConfig } from '../config.ts';
import { docSelector } from '../filter.ts';
import { xcapDiffBody, type DiffEntry } from '../xcap-diff.ts';

export interface RpcCall {
  readonly method: string;
  /** Positional (Kamailio) or named (OpenSIPS) parameters. */
  readonly params: readonly unknown[] | Readonly<Record<string, unknown>>;
}

const PRES_RULES = new Set(['pres-rules', 'org.openmobilealliance.pres-rules']);
const LISTS = new Set(['resource-lists', 'rls-services']);
const PIDF = 'pidf-manipulation';

/** Whether a change of this usage means anything to a presence server. */
export function presenceRelevant(auid: string): boolean {
  return PRES_RULES.has(auid) || LISTS.has(auid) || auid === PIDF;
}

/** The calls for `user`'s changed documents `entries`, in the order they must be made. */
export function presenceCalls(server: PresenceServerConfig, user: string, entries: readonly DiffEntry[], xcapRoot: string): RpcCall[] {
  const auids = new Set(entries.map((e) => e.key.auid));
  const rules = [...auids].some((a) => PRES_RULES.has(a));
  const lists = [...auids].some((a) => LISTS.has(a));
  const pidf = entries.filter((e) => e.key.auid === PIDF);
  const root = xcapRoot.endsWith('/') ? xcapRoot : `${xcapRoot}/`;
  const calls: RpcCall[] = [];
  if (server.kind === 'kamailio') {
    if (rules) calls.push({ method: 'presence.updateWatchers', params: [user, 'presence'] }, { method: 'presence.refreshWatchers', params: [user, 'presence', 0] });
    if (lists) calls.push({ method: 'rls.update_subs', params: [user, 'presence'] });
    for (const e of pidf) calls.push({ method: 'presence.refreshWatchers', params: [user, 'presence', 2, root + docSelector(e.key), e.key.path] });
    return calls;
  }
  if (rules) calls.push({ method: 'refresh_watchers', params: { pres_uri: user, event: 'presence', refresh_type: 0 } });
  if (lists) calls.push({ method: 'rls_update_subscriptions', params: { presentity_uri: user } });
  if (pidf.length) calls.push({ method: 'refresh_watchers', params: { pres_uri: user, event: 'presence', refresh_type: 1 } });
  if (server.publishXcapDiff) {
    calls.push({
      method: 'pua_publish',
      params: { presentity_uri: user, expires: 3600, event_package: 'xcap-diff', content_type: 'application/xcap-diff+xml', body: xcapDiffBody(xcapRoot, entries) },
    });
  }
  return calls;
}

/** Thrown when the server answered with a JSON-RPC error or not at all; the job retries. */
export class RpcFailed extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RpcFailed';
  }
}

/** One JSON-RPC 2.0 call over HTTP POST; resolves with `result`. */
export async function jsonRpc(url: string, call: RpcCall, id: number, timeoutMs: number): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', method: call.method, params: call.params, id }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new RpcFailed(`${call.method}: ${url} unreachable (${(err as Error).message})`, { cause: err });
  }
  const text = await res.text();
  let reply: { result?: unknown; error?: { code?: number; message?: string } };
  try {
    reply = JSON.parse(text) as typeof reply;
  } catch {
    throw new RpcFailed(`${call.method}: HTTP ${res.status}, not a JSON-RPC answer`);
  }
  if (reply.error) throw new RpcFailed(`${call.method}: error ${reply.error.code ?? ''} ${reply.error.message ?? ''}`.trim());
  if (!res.ok) throw new RpcFailed(`${call.method}: HTTP ${res.status}`);
  return reply.result;
}
