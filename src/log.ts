/**
 * The process logger (pino, JSON lines on stdout). Secrets are redacted by path once,
 * here, so no module has to remember to strip them.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

/** How long a buffered logger holds lines at most, in milliseconds. */
const FLUSH_EVERY_MS = 1000;

/**
 * `buffered` (serve, which logs a line per request): lines are written in chunks of about
 * 4 KB, at least every second and when the process exits, instead of one write(2) per line;
 * a process killed outright loses the last second of lines.
 */
export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info', opts: { buffered?: boolean } = {}): Logger {
  const options = {
    level,
    base: { pid: process.pid },
    redact: {
      paths: ['password', '*.password', '*.*.password', 'bindPassword', '*.bindPassword', '*.*.bindPassword', 'req.headers.authorization'],
      censor: '[redacted]',
    },
  };
  if (!opts.buffered) return pino(options);
  const dest = pino.destination({ dest: 1, minLength: 4096, sync: false });
  setInterval(() => dest.flush(), FLUSH_EVERY_MS).unref();
  process.once('exit', () => {
    try {
      dest.flushSync();
    } catch {
      // A write still in progress at exit: what it holds is lost, nothing else can be done.
    }
  });
  return pino(options, dest);
}

/** What the line of one HTTP request says (config `log.requests`). */
export interface RequestLine {
  readonly reqId: string | undefined;
  readonly method: string | undefined;
  /** As requested, with any secret in it already taken out by the caller. */
  readonly url: string;
  readonly status: number;
  /** Milliseconds from the request to its answer. */
  readonly ms: number;
}

/**
 * Writes request lines to `log`'s destination, each the JSON line `log.info(line, 'request')`
 * would write (its level, time, pid and bindings), without pino's per-call work: the
 * redaction paths alone cost more than the line (~10 µs a line against ~2 µs, measured),
 * and at a GET's cost the request log was then ~15-40% of the CPU (bench/request-log.ts).
 * Nothing in a request line is redacted: it holds no credential, and callers strip tokens
 * from the URL first. Nothing is written when `log`'s level hides info.
 */
export function requestLogger(log: Logger): (line: RequestLine) => void {
  const dest = (log as unknown as Record<symbol, { write(s: string): unknown }>)[pino.symbols.streamSym];
  const bindings = JSON.stringify(log.bindings()).slice(1, -1);
  const head = `,"pid":${process.pid}${bindings === '' ? '' : `,${bindings}`},"reqId":`;
  return (l) => {
    if (dest === undefined || !log.isLevelEnabled('info')) return;
    const reqId = l.reqId === undefined ? 'null' : JSON.stringify(l.reqId);
    const method = l.method === undefined ? 'null' : JSON.stringify(l.method);
    dest.write(`{"level":30,"time":${Date.now()}${head}${reqId},"method":${method},"url":${JSON.stringify(l.url)},"status":${l.status},"ms":${l.ms},"msg":"request"}\n`);
  };
}

/** A database or Redis URL without its password, for log lines and error messages. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<unparseable url>';
  }
}
