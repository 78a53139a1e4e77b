/**
 * One `GET /xcap-diff` client: server-sent events whose data is an xcap-diff document.
 *
 * - The first event is the full state of what the filter covers (every document with its
 *   new-etag, no previous-etag), unless `Last-Event-ID` names a position the feed still
 *   holds: then the stream resumes after it. Event ids are change-feed positions.
 * - The full state is listed after the stream attached to the hub, so it may already show
 *   changes the hub delivers afterwards (another process's write the hub had not read yet).
 *   Up to the feed's end as of the listing, a change is sent only if it starts from the
 *   ETag the client was last told for that document (none: absent); the others are
 *   already in what it was told. ETags are unique per write, so this is exact.
 * - Live changes come from the process's FeedHub, one coalescing window at a time; a
 *   window's changes are folded into one event (per document: first previous-etag, last
 *   new-etag). Streams with the same filter and root render that event once between them
 *   and write the same bytes.
 * - Backpressure: a client whose socket does not take the next event stops receiving from
 *   the hub; once it drains it reads on from its own position in the store, page by page,
 *   and rejoins the hub when caught up. Nothing piles up in memory for a slow client, and
 *   the hub never waits for one. If its position is pruned meanwhile it gets full state.
 */
import type { ServerResponse } from 'node:http';
import type { Logger } from '../log.ts';
import type { FeedClock } from './clock.ts';
import type { CompiledFilter } from './filter.ts';
import type { FeedBatch, FeedHub, FeedListener } from './hub.ts';
import { docKeyString, type DocChange, type DocumentStore } from '../store/types.ts';
import { foldChange, xcapDiffBody, type DiffEntry, type PendingDiff } from './xcap-diff.ts';

export interface StreamOptions {
  readonly res: ServerResponse;
  readonly hub: FeedHub;
  readonly store: DocumentStore;
  readonly filter: CompiledFilter;
  /** Absolute XCAP root written in each body. */
  readonly xcapRoot: string;
  readonly clock: FeedClock;
  readonly heartbeatMs: number;
  readonly log: Logger;
  /** Called once the stream has ended. */
  readonly onEnd: () => void;
}

type Mode = 'starting' | 'live' | 'lagging' | 'closed';

export class XcapDiffStream implements FeedListener {
  readonly #o: StreamOptions;
  #mode: Mode = 'starting';
  /** Every change at or below this seq has been sent (or did not match). */
  #seen = 0;
  /** Where a resuming client asked to start; undefined for full state. */
  #resumeFrom: number | undefined;
  #pending: PendingDiff = new Map();
  /** Position the full state was taken at: its event id. */
  #fullStateAt = 0;
  /** Changes the hub delivered while the full state was being listed, sorted out once it is. */
  #early: DocChange[] = [];
  /** After full state, up to seq `#toldThrough`: the ETag the client was last told per document (absent: none). */
  #told: Map<string, string> | undefined;
  #toldThrough = 0;
  /** Streams with equal keys render a batch to the same bytes. */
  readonly #shareKey: string;
  #cancelHeartbeat: (() => void) | undefined;

  constructor(o: StreamOptions) {
    this.#o = o;
    this.#shareKey = `${o.filter.key}\n${o.xcapRoot}`;
  }

  /** Sends the headers, then full state or the changes after `lastEventId`. */
  async start(lastEventId: number | undefined): Promise<void> {
    const { res } = this.#o;
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache', 'X-Accel-Buffering': 'no' });
    res.write(': xcap-diff stream\n\n');
    res.once('close', () => this.close());
    if (lastEventId !== undefined && lastEventId >= (await this.#o.store.prunedThrough())) this.#resumeFrom = lastEventId;
    if (this.#isClosed()) return;
    await this.#o.hub.add(this);
    // The client may have gone while the hub started: then it must not stay attached.
    if (this.#isClosed()) {
      this.#o.hub.remove(this);
      return;
    }
    this.#heartbeat();
    if (this.#mode === 'lagging') await this.#catchUp();
    else await this.#sendFullState();
  }

  #isClosed(): boolean {
    return this.#mode === 'closed';
  }

  onAttached(position: number): void {
    if (this.#mode === 'closed') return;
    if (this.#resumeFrom !== undefined && this.#resumeFrom <= position) {
      this.#seen = this.#resumeFrom;
      this.#mode = 'lagging';
    } else {
      this.#seen = this.#fullStateAt = position;
      this.#mode = 'starting';
    }
  }

  onChanges(batch: FeedBatch): void {
    const { changes } = batch;
    if (this.#mode === 'live' && this.#pending.size === 0 && this.#told === undefined && (changes[0] as DocChange).seq > this.#seen) {
      // Every change of the batch is new to this stream, as to any other live one: the shared rendering fits.
      const event = batch.shared(this.#shareKey, () => this.#render(changes));
      this.#seen = (changes.at(-1) as DocChange).seq;
      if (event !== null) this.#writeEvent(event, this.#seen);
      return;
    }
    if (this.#mode === 'starting') this.#early.push(...changes);
    if (this.#mode !== 'live') return;
    this.#fold(changes, this.#pending);
    this.#sendPending();
  }

  onMissed(): void {
    if (this.#mode === 'closed') return;
    this.#restartWithFullState();
  }

  close(): void {
    if (this.#mode === 'closed') return;
    this.#mode = 'closed';
    this.#o.hub.remove(this);
    this.#cancelHeartbeat?.();
    if (!this.#o.res.writableEnded) this.#o.res.end();
    this.#o.onEnd();
  }

  /** Folds the changes after `#seen` that match the filter, and that the full state did not already show, into `into`. */
  #fold(changes: readonly DocChange[], into: PendingDiff): void {
    const told = this.#told;
    for (const c of changes) {
      if (c.seq <= this.#seen) continue;
      this.#seen = c.seq;
      if (!this.#o.filter.matches(c.key)) continue;
      if (told !== undefined && c.seq <= this.#toldThrough) {
        const id = docKeyString(c.key);
        if (c.oldEtag !== (told.get(id) ?? null)) continue;
        if (c.newEtag === null) told.delete(id);
        else told.set(id, c.newEtag);
      }
      foldChange(into, c);
    }
    if (this.#seen >= this.#toldThrough) this.#told = undefined;
  }

  /** The event for `changes` as this stream's filter sees them; null when none concerns it. */
  #render(changes: readonly DocChange[]): Buffer | null {
    const folded: PendingDiff = new Map();
    for (const c of changes) if (this.#o.filter.matches(c.key)) foldChange(folded, c);
    const entries = [...folded.values()];
    if (!entries.some((e) => e.previousEtag !== null || e.newEtag !== null)) return null;
    return sseEvent(xcapDiffBody(this.#o.xcapRoot, entries), (changes.at(-1) as DocChange).seq);
  }

  #sendPending(): void {
    if (this.#pending.size === 0) return;
    const entries = [...this.#pending.values()];
    this.#pending = new Map();
    this.#send(entries);
  }

  async #sendFullState(): Promise<void> {
    const entries: DiffEntry[] = [];
    const told = new Map<string, string>();
    const { filter, store } = this.#o;
    for (const auid of filter.auids ?? [undefined]) {
      for (const xui of filter.users ?? [undefined]) {
        for await (const d of store.list({ ...(auid === undefined ? {} : { auid }), ...(xui === undefined ? {} : { xui }) })) {
          if (!filter.matches(d.key)) continue;
          entries.push({ key: d.key, previousEtag: null, newEtag: d.etag });
          told.set(docKeyString(d.key), d.etag);
        }
      }
    }
    // Every change the listing can show has a seq at or below this.
    const through = await store.lastSeq();
    if (this.#mode !== 'starting') return;
    this.#mode = 'live';
    this.#told = told;
    this.#toldThrough = through;
    const early = this.#early;
    this.#early = [];
    this.#fold(early, this.#pending);
    // The full state is an event even when empty: it says "nothing here yet" at this position.
    if (this.#writeEvent(sseEvent(xcapDiffBody(this.#o.xcapRoot, entries), this.#fullStateAt), this.#fullStateAt)) this.#sendPending();
  }

  #restartWithFullState(): void {
    this.#pending = new Map();
    this.#early = [];
    this.#told = undefined;
    this.#seen = this.#fullStateAt = this.#o.hub.position;
    this.#mode = 'starting';
    void this.#sendFullState().catch((err: unknown) => this.#fail(err));
  }

  /** Reads on from `#seen` in the store until caught up with the hub, then follows the hub again. */
  async #catchUp(): Promise<void> {
    try {
      while (this.#mode === 'lagging') {
        const batch = await this.#o.store.changes(this.#seen, 500);
        if ((await this.#o.store.prunedThrough()) > this.#seen) {
          this.#restartWithFullState();
          return;
        }
        if (this.#mode !== 'lagging') return;
        if (batch.length === 0) {
          this.#mode = 'live';
          return;
        }
        const folded: PendingDiff = new Map();
        this.#fold(batch, folded);
        if (folded.size > 0 && !this.#send([...folded.values()])) return;
      }
    } catch (err) {
      this.#fail(err);
    }
  }

  /** Writes one change event; false when the socket is full (the stream then lags until it drains). */
  #send(entries: DiffEntry[]): boolean {
    if (!entries.some((e) => e.previousEtag !== null || e.newEtag !== null)) return true;
    return this.#writeEvent(sseEvent(xcapDiffBody(this.#o.xcapRoot, entries), this.#seen), this.#seen);
  }

  /** Writes one event (whose id is `id`); false when the socket is full (the stream then lags until it drains). */
  #writeEvent(event: Buffer, id: number): boolean {
    const { res } = this.#o;
    if (this.#mode === 'closed') return false;
    if (res.write(event)) return true;
    // Queued, but the socket is full. What was folded after this event is dropped and read again from the store
    // (the ETags told may have moved past it, so changes the full state showed may then come again: at least once).
    this.#seen = id;
    this.#told = undefined;
    this.#mode = 'lagging';
    this.#pending = new Map();
    res.once('drain', () => void this.#catchUp());
    return false;
  }

  #heartbeat(): void {
    this.#cancelHeartbeat = this.#o.clock.setTimeout(() => {
      if (this.#mode === 'closed') return;
      if (!this.#o.res.writableNeedDrain) this.#o.res.write(': heartbeat\n\n');
      this.#heartbeat();
    }, this.#o.heartbeatMs);
  }

  #fail(err: unknown): void {
    this.#o.log.warn({ err: (err as Error).message }, 'xcap-diff stream failed; closing it (the client resumes with Last-Event-ID)');
    this.close();
  }
}

/** One server-sent event: `id`, then the body's lines as `data:` lines. */
function sseEvent(body: string, id: number): Buffer {
  const data = body.replace(/\n$/, '').split('\n').join('\ndata: ');
  return Buffer.from(`id: ${id}\ndata: ${data}\n\n`);
}
