/**
 * A user source reading an Apache htdigest file (`user:realm:md5-ha1` per line, as written
 * by `htdigest`), re-read when its modification time or size changes.
 *
 * The user column may be `alice` or `alice@example.com`; the XUI is `sip:alice@<domain>`,
 * the domain being the one in the user column, else `domain` from the options, else the
 * line's realm. A login finds only the line written for exactly that form and realm,
 * because HA1 covers both. htdigest holds MD5 only, so this source offers MD5 only, and it
 * has no notion of admins: list them in `admins`.
 */
import { readFile, stat } from 'node:fs/promises';
import { loginKey } from './sources.ts';
import type { DigestAlgorithm, UserInfo, UserRecord, UserSource } from './types.ts';

export interface HtdigestOptions {
  /** XUIs that are admins. @defaultValue none */
  readonly admins?: readonly string[];
  /** Domain of XUIs for lines whose user has no `@`, when the realm is not a domain. @defaultValue the line's realm */
  readonly domain?: string;
  /** At most one stat of the file per this many ms; 0 checks on every lookup. @defaultValue 1000 */
  readonly checkIntervalMs?: number;
}

interface Entry {
  readonly xui: string;
  readonly md5: string;
}

interface Snapshot {
  readonly mtimeMs: number;
  readonly size: number;
  /** `user \0 realm` → entry. */
  readonly logins: ReadonlyMap<string, Entry>;
  readonly xuis: ReadonlySet<string>;
  /** Distinct realms of the lines, sorted. */
  readonly realms: readonly string[];
}

export class HtdigestUsers implements UserSource {
  readonly algorithms: readonly DigestAlgorithm[] = ['MD5'];
  private readonly path: string;
  private readonly admins: ReadonlySet<string>;
  private readonly domain: string | undefined;
  private readonly checkIntervalMs: number;
  private snapshot: Snapshot;
  private checkedAt: number;
  private pending: Promise<void> | undefined;

  private constructor(path: string, opts: HtdigestOptions, snapshot: Snapshot) {
    this.path = path;
    this.admins = new Set(opts.admins ?? []);
    this.domain = opts.domain;
    this.checkIntervalMs = opts.checkIntervalMs ?? 1000;
    this.snapshot = snapshot;
    this.checkedAt = Date.now();
  }

  /** Reads the file once; rejects when it cannot be read (a missing file is a config error). */
  static async open(path: string, opts: HtdigestOptions = {}): Promise<HtdigestUsers> {
    const snapshot = await load(path, opts.domain);
    return new HtdigestUsers(path, opts, snapshot);
  }

  async find(xui: string): Promise<UserInfo | undefined> {
    await this.fresh();
    return this.snapshot.xuis.has(xui) ? { xui, admin: this.admins.has(xui) } : undefined;
  }

  /** Every user of the file, ordered by XUI. */
  async list(): Promise<UserInfo[]> {
    await this.fresh();
    return [...this.snapshot.xuis].sort().map((xui) => ({ xui, admin: this.admins.has(xui) }));
  }

  async realms(): Promise<readonly string[]> {
    await this.fresh();
    return this.snapshot.realms;
  }

  async findByLogin(username: string, realm: string): Promise<UserRecord | undefined> {
    await this.fresh();
    const e = this.snapshot.logins.get(loginKey(username, realm));
    return e === undefined ? undefined : { xui: e.xui, admin: this.admins.has(e.xui), ha1: { md5: e.md5 } };
  }

  /** Re-reads the file if it changed. A file that vanished or became unreadable keeps the last content. */
  private fresh(): Promise<void> | void {
    if (this.pending !== undefined) return this.pending;
    const now = Date.now();
    if (now - this.checkedAt < this.checkIntervalMs) return;
    this.checkedAt = now;
    this.pending = (async () => {
      try {
        const st = await stat(this.path);
        if (st.mtimeMs !== this.snapshot.mtimeMs || st.size !== this.snapshot.size) {
          this.snapshot = await load(this.path, this.domain);
        }
      } catch {
        // Editors replace files by rename; a transient absence must not lock everyone out.
      } finally {
        this.pending = undefined;
      }
    })();
    return this.pending;
  }
}

async function load(path: string, domain: string | undefined): Promise<Snapshot> {
  const st = await stat(path);
  const text = await readFile(path, 'utf8');
  const logins = new Map<string, Entry>();
  const xuis = new Set<string>();
  const realms = new Set<string>();
  for (const line of text.split(/\r?\n/)) {
    const fields = line.split(':');
    if (fields.length !== 3) continue;
    const [user, realm, ha1] = fields as [string, string, string];
    if (user === '' || realm === '' || !/^[0-9a-fA-F]{32}$/.test(ha1)) continue;
    const xui = user.includes('@') ? `sip:${user}` : `sip:${user}@${domain ?? realm}`;
    logins.set(loginKey(user, realm), { xui, md5: ha1.toLowerCase() });
    xuis.add(xui);
    realms.add(realm);
  }
  return { mtimeMs: st.mtimeMs, size: st.size, logins, xuis, realms: [...realms].sort() };
}
