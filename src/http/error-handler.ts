/**
 * The one place where errors become HTTP responses. Typed errors carry their status and
 * headers; XCAP conflicts get an `application/xcap-error+xml` body (RFC 4825 §11);
 * anything unexpected is logged and leaves as a bare 500. The admin API asks for JSON
 * (`{"error": "..."}`) instead, for every status.
 *
 * RFC 4825 gives other statuses no body format; XCAP clients parse every error body as
 * XML anyway (python3-xcaplib's xcapclient3 fails on plain text), so they get a small one:
 * `<error xmlns="urn:x-xcap-bridge:error" status="415" phrase="..."/>` as `application/xml`.
 */
import type { ServerResponse } from 'node:http';
import type { Logger } from '../log.ts';
import { StoreUnavailable } from '../store/types.ts';
import { escapeAttr, HttpError, XCAP_ERROR_NS, XcapConflict } from '../xcap/errors.ts';

/** Namespace of the XML body of XCAP errors other than 409. */
export const ERROR_NS = 'urn:x-xcap-bridge:error';

/**
 * `xcap`: RFC 4825 bodies (409 as xcap-error XML, others a small XML body); `json`: the admin
 * API's; `text`: one plain line (the phonebooks: phones show or log the text as it is).
 */
export type ErrorFormat = 'xcap' | 'json' | 'text';

export function renderError(err: unknown, res: ServerResponse, log: Logger, reqId: string, format: ErrorFormat = 'xcap'): void {
  const e = toHttpError(err);
  if (e.status >= 500) log.error({ reqId, err }, 'request failed');
  if (res.headersSent) {
    res.destroy();
    return;
  }
  for (const [name, value] of Object.entries(e.headers)) res.setHeader(name, value);
  if (format === 'json') {
    const json = `${JSON.stringify({ error: publicMessage(e) })}\n`;
    res.writeHead(e.status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(json) });
    res.end(json);
    return;
  }
  if (format === 'text') {
    const text = `${publicMessage(e)}\n`;
    res.writeHead(e.status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
    return;
  }
  if (e instanceof XcapConflict) {
    const body =
      `<?xml version="1.0" encoding="UTF-8"?>\n<xcap-error xmlns="${XCAP_ERROR_NS}">${e.detailXml()}</xcap-error>\n`;
    res.writeHead(409, { 'Content-Type': 'application/xcap-error+xml', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
    return;
  }
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<error xmlns="${ERROR_NS}" status="${e.status}" phrase="${escapeAttr(publicMessage(e))}"/>\n`;
  res.writeHead(e.status, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** What the client may read: the message of a 4xx, a fixed phrase for a 5xx. */
function publicMessage(e: HttpError): string {
  if (e.expose) return e.message;
  return e.status === 503 ? 'service unavailable' : 'internal error';
}

function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof StoreUnavailable) return new HttpError(503, 'service unavailable', { 'Retry-After': '1' });
  return new HttpError(500, 'internal error');
}
