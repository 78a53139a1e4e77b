/**
 * The status page at `/admin/`: server-rendered HTML (src/http/html.ts escapes every value),
 * no script at all, plain forms with a CSRF token, a strict Content-Security-Policy (one
 * nonce for the one style element). Admins only, with the admin API's credentials.
 *
 *   GET  /admin/            bindings (health, last/next run, lag, errors), a chart of sync
 *                           activity (inline SVG), open conflicts with both sides and a button
 *                           per side, users and their documents
 *   POST /admin/ui/resolve  form {binding, scope, item, take, csrf}: settles a conflict, queues a run
 *   POST /admin/ui/run      form {binding, full?, csrf}: queues a run of every document
 *
 * A form answers 303 back to the page, so reloading it does not post again.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { LocalUsers } from '../../auth/local-users.ts';
import type { DocumentStore, StoredDoc } from '../../store/types.ts';
import type { SyncActivity, ActivityBucket } from '../../sync/activity.ts';
import { BUCKET_MS } from '../../sync/activity.ts';
import type { BindingStatus } from '../../sync/binding-status.ts';
import type { SyncHandle } from '../../sync/queue.ts';
import type { ConflictRecord, SyncState } from '../../sync/state.ts';
import { BadRequest, Forbidden, NotFound } from '../../xcap/errors.ts';
import type { AdminKit } from '../admin.ts';
import { html, type Html } from '../html.ts';

export interface StatusPageOptions {
  readonly state: SyncState;
  readonly sync: Pick<SyncHandle, 'running' | 'enqueue'> | undefined;
  readonly bindingStatus: () => Promise<BindingStatus[]>;
  readonly activity: SyncActivity;
  readonly localUsers: LocalUsers;
  readonly store: Pick<DocumentStore, 'list'>;
  /**
   * Key of the CSRF tokens; every process serving the page must share it (`auth.nonceSecret`,
   * which `serve --workers N` shares among its workers). @defaultValue random per process
   */
  readonly secret?: string;
}

/** How long a page's forms stay valid, in milliseconds. */
const TOKEN_TTL_MS = 60 * 60 * 1000;
/** Users listed on the page (the admin API lists them all). */
const MAX_USERS = 200;
/** The chart's span: the last two hours, one bar per bucket. */
const CHART_BUCKETS = 24;

export function mountStatusPage(kit: AdminKit, opts: StatusPageOptions): void {
  const key = createHmac('sha256', opts.secret ?? randomBytes(32)).update('xcap-bridge status page forms').digest();
  const token = (xui: string, at: number) => `${at}.${createHmac('sha256', key).update(`${xui}\n${at}`).digest('base64url')}`;
  const checkToken = (xui: string, given: string | undefined) => {
    const at = Number(given?.split('.')[0]);
    const want = Buffer.from(token(xui, at));
    const got = Buffer.from(given ?? '');
    if (!Number.isFinite(at) || Date.now() - at > TOKEN_TTL_MS || got.length !== want.length || !timingSafeEqual(got, want)) {
      throw new Forbidden('the form has expired or did not come from this page: reload the page and try again');
    }
  };

  kit.route('get', '/admin/', async (_req, res) => {
    const who = res.locals.admin as { xui: string };
    const nonce = randomBytes(16).toString('base64');
    const [bindings, conflicts, activity, users] = await Promise.all([opts.bindingStatus(), opts.state.listConflicts(), opts.activity.recent(CHART_BUCKETS * BUCKET_MS), opts.localUsers.list()]);
    const docs = new Map<string, Omit<StoredDoc, 'body'>[]>();
    for (const u of users.slice(0, MAX_USERS)) {
      const list: Omit<StoredDoc, 'body'>[] = [];
      for await (const d of opts.store.list({ xui: u.xui })) list.push(d);
      docs.set(u.xui, list);
    }
    const csrf = token(who.xui, Date.now());
    const page = layout(nonce, html`
      <h1>xcap-bridge</h1>
      <p>Signed in as ${who.xui}. Sync is ${opts.sync?.running() ? 'on' : html`<strong class="bad">off</strong> (no bindings, or Redis unreachable)`}.</p>
      <h2 id="activity">Sync activity, last two hours</h2>
      ${chart(activity, Date.now())}
      <h2 id="bindings">Bindings</h2>
      ${bindingsTable(bindings, csrf)}
      <h2 id="conflicts">Open conflicts (${conflicts.filter((c) => c.resolution === null).length})</h2>
      ${conflictList(conflicts, csrf)}
      <h2 id="users">Users (${users.length})</h2>
      ${userList(users.slice(0, MAX_USERS), docs)}
      ${users.length > MAX_USERS ? html`<p>${users.length - MAX_USERS} more: GET /admin/users.</p>` : ''}`);
    res
      .status(200)
      .set('Content-Type', 'text/html; charset=utf-8')
      .set('Content-Security-Policy', `default-src 'none'; style-src 'nonce-${nonce}'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`)
      .set('X-Content-Type-Options', 'nosniff')
      .set('Referrer-Policy', 'no-referrer')
      .set('Cache-Control', 'no-store')
      .send(page.text);
  });

  kit.route('post', '/admin/ui/resolve', async (req, res) => {
    const f = await kit.readForm(req, res);
    checkToken((res.locals.admin as { xui: string }).xui, f.csrf);
    const { binding, scope, item, take } = f;
    if (binding === undefined || scope === undefined || item === undefined || (take !== 'xcap' && take !== 'remote')) throw new BadRequest('expected binding, scope, item and take=xcap|remote');
    await kit.checkScope(kit.bindingNamed(binding), scope);
    if (!(await opts.state.resolveConflict(binding, scope, item, take))) throw new NotFound(`no open conflict ${binding} ${scope} ${item}`);
    // Recorded either way: with sync off the next run applies it.
    if (opts.sync?.running()) await opts.sync.enqueue(binding, scope);
    res.redirect(303, '/admin/#conflicts');
  });

  kit.route('post', '/admin/ui/run', async (req, res) => {
    const f = await kit.readForm(req, res);
    checkToken((res.locals.admin as { xui: string }).xui, f.csrf);
    await kit.run(kit.bindingNamed(f.binding ?? ''), undefined, f.full === 'true');
    res.redirect(303, '/admin/#bindings');
  });
}

function layout(nonce: string, body: Html): Html {
  return html`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>xcap-bridge status</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style nonce="${nonce}">
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}
th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#f3f3f3}
.bad{color:#b00020}.ok{color:#1b7f3b}
.conflict{border:1px solid #e0b000;padding:.5em 1em;margin:.5em 0 1em;background:#fffbea}
form{display:inline;margin:0 .3em 0 0}
button{font:inherit;padding:.2em .8em;cursor:pointer}
code{font-size:90%}
</style></head><body>
${body}
</body></html>
`;
}

function when(t: number | null): Html | string {
  return t === null ? '–' : html`<time datetime="${new Date(t).toISOString()}">${new Date(t).toISOString().replace('T', ' ').slice(0, 19)} UTC</time>`;
}

function bindingsTable(bindings: readonly BindingStatus[], csrf: string): Html {
  if (bindings.length === 0) return html`<p>No sync bindings configured.</p>`;
  return html`<table>
    <tr><th>binding</th><th>health</th><th>last run</th><th>next run</th><th>lag</th><th>documents</th><th>errors</th><th></th></tr>
    ${bindings.map(
      (b) => html`<tr id="binding-${b.binding}">
      <td><strong>${b.binding}</strong><br>${b.direction}, ${b.schedule ?? 'on XCAP changes and by hand'}</td>
      <td>${b.stale ? html`<span class="bad">stale</span>: ${b.reason}` : b.failing ? html`<span class="bad">failing</span>` : html`<span class="ok">ok</span>`}</td>
      <td>${when(b.lastRunAt)}</td>
      <td>${when(b.nextRunAt)}</td>
      <td>${b.lagSeconds === null ? '–' : `${Math.round(b.lagSeconds)} s`}</td>
      <td>${b.documents}</td>
      <td>${b.lastError ? html`<span class="bad">${b.failing} failing</span>; last: <code>${b.lastError.scope}</code>: ${b.lastError.message}` : 'none'}</td>
      <td>${runForm(b.binding, false, csrf)}${runForm(b.binding, true, csrf)}</td>
    </tr>`,
    )}
  </table>`;
}

function runForm(binding: string, full: boolean, csrf: string): Html {
  return html`<form method="post" action="/admin/ui/run"><input type="hidden" name="csrf" value="${csrf}"><input type="hidden" name="binding" value="${binding}">${full ? html`<input type="hidden" name="full" value="true">` : ''}<button type="submit">${full ? 'Full run' : 'Run now'}</button></form>`;
}

function conflictList(conflicts: readonly ConflictRecord[], csrf: string): Html {
  const open = conflicts.filter((c) => c.resolution === null);
  if (open.length === 0) return html`<p>None.</p>`;
  return html`${open.map((c) => {
    const fields = [...new Set([...Object.keys(c.xcap), ...Object.keys(c.remote)])].sort();
    const take = (side: 'xcap' | 'remote', label: string) =>
      html`<form method="post" action="/admin/ui/resolve"><input type="hidden" name="csrf" value="${csrf}"><input type="hidden" name="binding" value="${c.binding}"><input type="hidden" name="scope" value="${c.scope}"><input type="hidden" name="item" value="${c.item}"><input type="hidden" name="take" value="${side}"><button type="submit">${label}</button></form>`;
    return html`<div class="conflict">
      <p><strong>${c.binding}</strong> · <code>${c.scope}</code> · <code>${c.item}</code> · found ${when(c.detectedAt)}</p>
      <table><tr><th>field</th><th>XCAP (phone)</th><th>remote</th></tr>
      ${fields.map((f) => html`<tr><td>${f}</td><td>${c.xcap[f] ?? '–'}</td><td>${c.remote[f] ?? '–'}</td></tr>`)}
      </table>
      ${take('xcap', 'Take the XCAP side')}${take('remote', 'Take the remote side')}
    </div>`;
  })}`;
}

function userList(users: readonly { xui: string; admin: boolean }[], docs: ReadonlyMap<string, readonly Omit<StoredDoc, 'body'>[]>): Html {
  if (users.length === 0) return html`<p>No local users: <code>xcap-bridge user add</code> or POST /admin/users.</p>`;
  return html`<table><tr><th>user</th><th>documents</th></tr>
    ${users.map((u) => {
      const mine = docs.get(u.xui) ?? [];
      return html`<tr><td>${u.xui}${u.admin ? ' (admin)' : ''}</td><td>${mine.length === 0 ? 'none' : mine.map((d, i) => html`${i ? ', ' : ''}<code>${d.key.auid}/${d.key.path}</code>`)}</td></tr>`;
    })}
  </table>`;
}

/** Runs per 5-minute bucket as bars (failed runs in red at the foot of each), every binding together. */
function chart(buckets: readonly ActivityBucket[], now: number): Html {
  const end = now - (now % BUCKET_MS);
  const slots = Array.from({ length: CHART_BUCKETS }, (_, i) => end - (CHART_BUCKETS - 1 - i) * BUCKET_MS);
  const at = new Map<number, { runs: number; errors: number; items: number }>();
  for (const b of buckets) {
    const cur = at.get(b.bucket) ?? { runs: 0, errors: 0, items: 0 };
    at.set(b.bucket, { runs: cur.runs + b.runs, errors: cur.errors + b.errors, items: cur.items + b.items });
  }
  const max = Math.max(1, ...[...at.values()].map((v) => v.runs));
  const W = 20;
  const H = 100;
  const total = [...at.values()].reduce((n, v) => n + v.runs, 0);
  return html`<svg xmlns="http://www.w3.org/2000/svg" width="${CHART_BUCKETS * W + 40}" height="${H + 30}" role="img" aria-label="sync runs per 5 minutes: ${total} in the last two hours">
    <line x1="0" y1="${H}" x2="${CHART_BUCKETS * W}" y2="${H}" stroke="#999"/>
    ${slots.map((t, i) => {
      const v = at.get(t) ?? { runs: 0, errors: 0, items: 0 };
      const h = (v.runs / max) * H;
      const e = (v.errors / max) * H;
      return html`<g><title>${new Date(t).toISOString().slice(11, 16)} UTC: ${v.runs} runs, ${v.errors} failed, ${v.items} items written</title>
        <rect x="${i * W + 2}" y="${H - h}" width="${W - 4}" height="${h - e}" fill="#4a78c2"/>
        <rect x="${i * W + 2}" y="${H - e}" width="${W - 4}" height="${e}" fill="#b00020"/></g>`;
    })}
    <text x="${CHART_BUCKETS * W + 4}" y="10" font-size="10">${max}</text>
    <text x="0" y="${H + 14}" font-size="10">${new Date(slots[0] as number).toISOString().slice(11, 16)}</text>
    <text x="${CHART_BUCKETS * W - 30}" y="${H + 14}" font-size="10">${new Date(end).toISOString().slice(11, 16)} UTC</text>
  </svg>`;
}
