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
