/**
 * The process logger (pino, JSON lines on stdout). Secrets are redacted by path once,
 * here, so no module has to remember to strip them.
 */
import { fstatSync, writeSync } from 'node:fs';
import { pino, type Logger } from 'pino';

export type { Logger };

/** A batch is written once it holds this many characters (~300 request lines). */
const BATCH_CHARS = 64 * 1024;
/** Linux PIPE_BUF: a write(2) of at most this many bytes to a pipe is never split by another process's. */
const PIPE_BUF = 4096;
/** Sleeps the thread (the event loop too) while a non-blocking output is full. */
const WAIT = new Int32Array(new SharedArrayBuffer(4));

/**
 * Lines held in memory and written to `fd` by one write(2) per batch: at most one batch per
 * `flushMs` (a line logged after a quiet spell goes out at once, the next ones wait for the rest
 * of flushMs), and at once when the batch reaches BATCH_CHARS, for an error or fatal line (with
 * what is held before it), and when the process exits (including on an uncaught exception). A process
 * killed outright (SIGKILL, out-of-memory kill, native crash) loses what is held: at most the
 * last `flushMs` of lines. On a pipe or socket (journald, docker) a batch goes out in whole-line
 * pieces of at most PIPE_BUF bytes, so lines of the HTTP workers sharing it never interleave;
 * a regular file takes the batch in one write (O_APPEND or not, Linux writes it whole).
 */
class BatchedLines {
  #held = '';
  #timer: NodeJS.Timeout | undefined;
  /** When the last batch was written (performance.now()). */
  #written = -Infinity;
  readonly #fd: number;
  readonly #flushMs: number;
  readonly #piece: number;

  constructor(fd: number, flushMs: number) {
    this.#fd = fd;
    this.#flushMs = flushMs;
    this.#piece = fstatSync(fd).isFile() ? Infinity : PIPE_BUF;
    process.once('exit', () => this.flush());
  }

  /** pino's destination interface: `line` is one JSON line with its newline. */
  write(line: string): void {
    this.#held += line;
    // pino starts every line with its level: 50 and 60 are error and fatal.
    const now = this.#held.length >= BATCH_CHARS || line.startsWith('{"level":5') || line.startsWith('{"level":6');
    if (this.#timer !== undefined && !now) return;
    // A quiet process writes a line at once; a busy one at most once per flushMs (and per batch).
    const wait = this.#written + this.#flushMs - performance.now();
    if (now || wait <= 0) this.flush();
    else this.#timer = setTimeout(() => this.flush(), wait).unref();
  }

  /** Writes what is held now; `done` is for pino's `logger.flush(cb)`. */
  flush(done?: () => void): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#held === '') return done?.();
    const out = Buffer.from(this.#held);
    this.#held = '';
    this.#written = performance.now();
    for (let at = 0; at < out.length; ) {
      let end = out.length;
      if (end - at > this.#piece) {
        const nl = out.lastIndexOf(0x0a, at + this.#piece - 1);
        // A line longer than a piece goes out whole (it may interleave, nothing else can).
        end = nl >= at ? nl + 1 : out.indexOf(0x0a, at) + 1 || out.length;
      }
      at += writeAll(this.#fd, out.subarray(at, end));
    }
    done?.();
  }
}

/** Writes all of `b` (a signal or a full pipe may take part of it), waiting out EAGAIN. */
function writeAll(fd: number, b: Buffer): number {
  for (let done = 0; done < b.length; ) {
    try {
      done += writeSync(fd, b, done);
    } catch (err) {
      // Another process may have made the shared output non-blocking; wait for the reader.
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      Atomics.wait(WAIT, 0, 0, 10);
    }
  }
  return b.length;
}

/**
 * `flushMs` (serve, which logs a line per request; config `log.flushMs`): lines are written in
 * batches (BatchedLines), at most that many milliseconds after they were logged, instead of
 * one write(2) per line. Without it every line is written as it is logged.
 */
export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info', opts: { flushMs?: number } = {}): Logger {
  const options = {
    level,
    base: { pid: process.pid },
    redact: {
      paths: ['password', '*.password', '*.*.password', 'bindPassword', '*.bindPassword', '*.*.bindPassword', 'req.headers.authorization'],
      censor: '[redacted]',
    },
  };
  if (!opts.flushMs) return pino(options);
  return pino(options, new BatchedLines(1, opts.flushMs));
}

/** What the line of one HTTP request says. */
export interface RequestLine {
  readonly reqId: string | undefined;
  readonly method: string | undefined;
  /** As requested, with any secret in it already taken out by the caller. */
  readonly url: string;
  readonly status: number;
  /** Milliseconds from the request to its answer. */
  readonly ms: number;
}

/** Which requests get a line (config `log.requests`). */
export interface RequestLogOptions {
  readonly requests: 'all' | 'sampled' | 'off';
  /** With `sampled`: one successful read (GET or HEAD answered 2xx or 304) in this many is logged. */
  readonly sampleReads: number;
}

/** A read answered at least this slowly is logged in `sampled` mode too. */
const SLOW_READ_MS = 100;

/**
 * Writes request lines to `log`'s destination, each the JSON line `log.info(line, 'request')`
 * would write (its level, time, pid and bindings), without pino's per-call work: the
 * redaction paths alone cost more than the line (~10 µs a line against ~2 µs, measured),
 * and at a GET's cost the request log was then ~15-40% of the CPU (bench/request-log.ts).
 * Nothing in a request line is redacted: it holds no credential, and callers strip tokens
 * from the URL first. Nothing is written when `log`'s level hides info; undefined with
 * `requests: off`. In `sampled` mode the first successful read of the process is logged, then
 * every `sampleReads`-th, each line saying `"sampled":N` (it stands for N reads), and any other
 * that took SLOW_READ_MS or more (without `sampled`).
 */
export function requestLogger(log: Logger, opts: RequestLogOptions): ((line: RequestLine) => void) | undefined {
  if (opts.requests === 'off') return undefined;
  const dest = (log as unknown as Record<symbol, { write(s: string): unknown }>)[pino.symbols.streamSym];
  const bindings = JSON.stringify(log.bindings()).slice(1, -1);
  const head = `,"pid":${process.pid}${bindings === '' ? '' : `,${bindings}`},"reqId":`;
  const every = opts.requests === 'sampled' ? opts.sampleReads : 1;
  const sampledTail = `,"sampled":${every},"msg":"request"}\n`;
  let reads = 0;
  return (l) => {
    if (dest === undefined || !log.isLevelEnabled('info')) return;
    let tail = ',"msg":"request"}\n';
    if (every > 1 && (l.method === 'GET' || l.method === 'HEAD') && (l.status < 300 || l.status === 304)) {
      // Every such read is counted, slow or not, so which are sampled does not depend on timing.
      if (reads++ % every === 0) tail = sampledTail;
      else if (l.ms < SLOW_READ_MS) return;
    }
    const reqId = l.reqId === undefined ? 'null' : JSON.stringify(l.reqId);
    const method = l.method === undefined ? 'null' : JSON.stringify(l.method);
    dest.write(`{"level":30,"time":${Date.now()}${head}${reqId},"method":${method},"url":${JSON.stringify(l.url)},"status":${l.status},"ms":${l.ms}${tail}`);
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
