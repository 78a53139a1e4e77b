/**
 * The one place where HTTP answers and fetch failures become connector errors.
 *
 * - 412 Precondition Failed: the card changed (or appeared) since it was read → VersionMismatch.
 * - 404 / 410: the card or the address book is gone → NotFound.
 * - 401 / 403: credentials or rights refused → Rejected (403 with `valid-sync-token` never
 *   gets here: the sync-collection caller reads it as an expired token first).
 * - 409 / 400 (duplicate UID: Radicale `no-uid-conflict`, Nextcloud 400), 413 (card too big),
 *   415, 422 and 507 (quota) → Rejected, with the server's reason (the DAV:error child or
 *   the start of its text) so `sync status` shows why.
 * - 408, 429, 5xx (but 507), a network failure or a timeout → Unavailable (retried with
 *   backoff); so is an answer that is not the XML it should be (an HTML error page from a
 *   proxy, a login portal).
 */
import { ConnectorError, NotFound, Rejected, Unavailable, VersionMismatch } from '../errors.ts';

/** The parts of an answer the mapping reads. */
export interface HttpAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

/** Translates a failed request: an answer with an unexpected status, or whatever fetch threw. `what` names the request (never a secret). */
export function davError(what: string, failure: HttpAnswer | unknown): ConnectorError {
  if (failure instanceof ConnectorError) return failure;
  if (!isAnswer(failure)) {
    const e = failure as { name?: string; message?: string; cause?: { code?: string; message?: string } };
    const timeout = e.name === 'TimeoutError' || e.name === 'AbortError';
    const detail = timeout ? 'timed out' : (e.cause?.code ?? e.cause?.message ?? e.message ?? String(failure));
    return new Unavailable(`CardDAV ${what}: ${detail}`, { cause: failure });
  }
  const { status } = failure;
  const message = `CardDAV ${what}: HTTP ${status}${reasonOf(failure)}`;
  if (status === 412) return new VersionMismatch(message);
  if (status === 404 || status === 410) return new NotFound(message);
  if (status === 408 || status === 429 || (status >= 500 && status !== 507)) return new Unavailable(message);
  if (status >= 200 && status < 300) return new Unavailable(message);
  return new Rejected(message);
}

/** An answer whose body is not the XML asked for (an HTML page, a login portal): the server is not answering as CardDAV now. */
export function notXml(what: string, answer: HttpAnswer): ConnectorError {
  return new Unavailable(`CardDAV ${what}: the server answered HTTP ${answer.status} with ${answer.contentType || 'no content type'} instead of XML${reasonOf(answer)}`);
}

function isAnswer(x: unknown): x is HttpAnswer {
  return typeof x === 'object' && x !== null && typeof (x as HttpAnswer).status === 'number' && typeof (x as HttpAnswer).body === 'string';
}

/** `: <reason>` from a DAV:error body (its child elements' names) or the first words of any other body; '' without one. */
function reasonOf(answer: HttpAnswer): string {
  const body = answer.body.trim();
  if (body === '') return '';
  const error = /<(?:[\w-]+:)?error[\s>][\s\S]*?<\/(?:[\w-]+:)?error>/.exec(body);
  if (error) {
    const names = [...error[0].matchAll(/<(?:[\w-]+:)?([\w-]+)[\s/>]/g)].map((m) => m[1]).filter((n) => n !== 'error');
    if (names.length > 0) return ` (${[...new Set(names)].join(', ')})`;
  }
  const text = body.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim();
  return text === '' ? '' : ` (${text.slice(0, 200)})`;
}
