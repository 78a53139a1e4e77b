/**
 * Progress of long work (an import, an initial sync, `sync run` over many documents):
 * on a terminal a bar redrawn in place (done/total, rate, ETA); anywhere else (a pipe, a
 * log file, the server's JSON log) one line every few seconds, so a log is not flooded by
 * a line per item and short work says nothing at all.
 *
 * No timers: the display changes only when the count does, and every decision reads the
 * injected clock, so tests move time by hand.
 */

/** Where a bar is drawn: a TTY stream (`process.stderr`) or anything with the same shape. */
export interface ProgressStream {
  /** A bar is drawn only when true; otherwise lines go to `line` (or this stream). */
  readonly isTTY?: boolean;
  /** Terminal width; 80 when unknown. */
  readonly columns?: number;
  write(chunk: string): unknown;
}

/** The state of the work at one moment, as the log line states it (fields for a JSON log). */
export interface ProgressSnapshot {
  readonly label: string;
  readonly done: number;
  /** `null` while the total is unknown. */
  readonly total: number | null;
  /** What is counted (`documents`, `remote writes`). */
  readonly unit: string;
  /** Items per second since the start. */
  readonly rate: number;
  /** Seconds left at that rate; `null` without a total or before the first item. */
  readonly etaSeconds: number | null;
  readonly elapsedMs: number;
  /** What the work is doing inside the current item, when the caller said (`note`). */
  readonly detail: string | undefined;
}

export interface ProgressOptions {
  /** Who is working, e.g. the binding's name. */
  readonly label: string;
  /** What is counted, in the plural. @defaultValue `items` */
  readonly unit?: string;
  /** Items to do; may be set later with `set`. @defaultValue unknown */
  readonly total?: number;
  /** Where a bar is drawn when it is a TTY. @defaultValue `process.stderr` */
  readonly stream?: ProgressStream;
  /**
   * Receives each progress line when no bar is drawn (a pipe, the server's log).
   * @defaultValue writes the line and a newline to `stream`
   */
  readonly line?: (text: string, snapshot: ProgressSnapshot) => void;
  /** Clock in milliseconds. @defaultValue `Date.now` */
  readonly now?: () => number;
  /** Least time between two progress lines, in milliseconds. @defaultValue `5000` */
  readonly intervalMs?: number;
  /** Least time between two redraws of the bar, in milliseconds. @defaultValue `100` */
  readonly redrawMs?: number;
}

const BAR_WIDTH = 24;

export class Progress {
  readonly #o: ProgressOptions;
  readonly #stream: ProgressStream;
  readonly #now: () => number;
  readonly #started: number;
  readonly #tty: boolean;
  #done = 0;
  #total: number | null;
  #detail: string | undefined;
  /** Last line or redraw; the first line waits a whole interval, so short work prints nothing. */
  #lastShown: number;
  #lines = 0;
  /** The bar is on the screen (cleared before other output, ended by `finish`). */
  #drawn = false;
  #finished = false;

  constructor(opts: ProgressOptions) {
    this.#o = opts;
    this.#stream = opts.stream ?? process.stderr;
    this.#now = opts.now ?? Date.now;
    this.#started = this.#now();
    this.#lastShown = this.#started;
    this.#total = opts.total ?? null;
    this.#tty = this.#stream.isTTY === true && opts.line === undefined;
  }

  /** `n` more items are done. */
  add(n = 1): void {
    this.#done += n;
    this.#changed();
  }

  /** The count as the worker knows it (and the total, when it changed or became known). */
  set(done: number, total?: number): void {
    this.#done = done;
    if (total !== undefined) this.#total = total;
    this.#changed();
  }

  /** What the current item is doing (`sip:alice: remote writes 30/500`), shown after the count. */
  note(detail: string | undefined): void {
    this.#detail = detail;
    this.#changed();
  }

  /**
   * Takes the bar off the screen so the caller can print a line of its own; the next
   * change draws it again below. Nothing to do without a bar.
   */
  clear(): void {
    if (!this.#drawn) return;
    this.#stream.write('\r\x1b[K');
    this.#drawn = false;
  }

  /**
   * The work is over: the bar is drawn a last time and the line ended; without a bar a
   * closing line is written only when progress lines were (short work stays silent).
   * Later calls do nothing.
   */
  finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#detail = undefined;
    if (this.#tty) {
      if (this.#drawn || this.#lines > 0) {
        this.#draw();
        this.#stream.write('\n');
        this.#drawn = false;
      }
    } else if (this.#lines > 0) {
      this.#emitLine(true);
    }
  }

  snapshot(): ProgressSnapshot {
    const elapsedMs = Math.max(0, this.#now() - this.#started);
    const rate = elapsedMs > 0 ? (this.#done * 1000) / elapsedMs : 0;
    const left = this.#total === null ? null : Math.max(0, this.#total - this.#done);
    const etaSeconds = left === null || rate === 0 ? null : left / rate;
    return { label: this.#o.label, done: this.#done, total: this.#total, unit: this.#o.unit ?? 'items', rate, etaSeconds, elapsedMs, detail: this.#detail };
  }

  #changed(): void {
    if (this.#finished) return;
    const t = this.#now();
    if (this.#tty) {
      // The first draw waits a moment too: work that ends at once leaves no bar behind.
      if (t - this.#lastShown < (this.#o.redrawMs ?? 100)) return;
      this.#lastShown = t;
      this.#draw();
    } else if (t - this.#lastShown >= (this.#o.intervalMs ?? 5000)) {
      this.#lastShown = t;
      this.#emitLine(false);
    }
  }

  #draw(): void {
    const s = this.snapshot();
    const text = `${s.label} ${countText(s)} ${rateText(s)}${s.etaSeconds === null ? '' : ` ETA ${formatDuration(s.etaSeconds)}`}${s.detail ? ` · ${s.detail}` : ''}`;
    const bar = s.total === null || s.total === 0 ? '' : `[${'#'.repeat(Math.round((Math.min(s.done, s.total) / s.total) * BAR_WIDTH)).padEnd(BAR_WIDTH, '-')}] `;
    const width = this.#stream.columns ?? 80;
    // One terminal line, never wrapped: a wrapped bar cannot be redrawn in place.
    this.#stream.write(`\r${(bar + text).slice(0, Math.max(1, width - 1))}\x1b[K`);
    this.#drawn = true;
  }

  #emitLine(last: boolean): void {
    this.#lines++;
    const s = this.snapshot();
    const text = last
      ? `${s.label}: ${countText(s)} done in ${formatDuration(s.elapsedMs / 1000)} (${rateText(s)})`
      : `${s.label}: ${countText(s)}${s.total ? ` (${Math.floor((s.done / s.total) * 100)}%)` : ''}, ${rateText(s)}${s.etaSeconds === null ? '' : `, ETA ${formatDuration(s.etaSeconds)}`}${s.detail ? `; ${s.detail}` : ''}`;
    if (this.#o.line) this.#o.line(text, s);
    else this.#stream.write(`${text}\n`);
  }
}

function countText(s: ProgressSnapshot): string {
  return `${s.done}${s.total === null ? '' : `/${s.total}`} ${s.unit}`;
}

function rateText(s: ProgressSnapshot): string {
  return `${s.rate >= 10 ? Math.round(s.rate) : s.rate.toFixed(1)}/s`;
}

/** `42s`, `3m07s`, `2h05m`: short enough for a bar, exact enough for an ETA. */
export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
