/**
 * The request id: the client's `X-Request-Id` when it sends one, else `<pid>-<n>` (base 36)
 * named by the process that answers. Given to the request before any handler runs, so every
 * answer carries it (a 401 challenge and a 304 as much as a 200) and the request log line,
 * the error log and the handlers all read the same one from `req.headers`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Names each request of one listener; `fresh` is the next id of its own (a request that could not be parsed). */
export function requestNamer(): { name: (req: IncomingMessage, res: ServerResponse) => void; fresh: () => string } {
  const prefix = `${process.pid.toString(36)}-`;
  let seq = 0;
  const fresh = () => `${prefix}${(++seq).toString(36)}`;
  return {
    fresh,
    name(req, res) {
      const given = req.headers['x-request-id'];
      const id = (Array.isArray(given) ? given.join(', ') : given) || fresh();
      req.headers['x-request-id'] = id;
      res.setHeader('X-Request-Id', id);
    },
  };
}

/** The id `requestNamer` gave the request. */
export function requestId(req: IncomingMessage): string {
  return req.headers['x-request-id'] as string;
}
