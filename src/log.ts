/**
 * The process logger (pino, JSON lines on stdout). Secrets are redacted by path once,
 * here, so no module has to remember to strip them.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({
    level,
    base: { pid: process.pid },
    redact: {
      paths: ['password', '*.password', '*.*.password', 'bindPassword', '*.bindPassword', '*.*.bindPassword', 'req.headers.authorization'],
      censor: '[redacted]',
    },
  });
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
