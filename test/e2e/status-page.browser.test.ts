/**
 * The status page (src/http/admin/status-page.ts) in a real headless Chromium, as an
 * operator uses it: log in (HTTP authentication), see a failing binding's error, resolve a
 * conflict with a click on "Take the remote side", and see the XCAP document change. The
 * page works without JavaScript (the browser runs none: the CSP allows no script) and a
 * screenshot is saved to the temp dir.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, type TestGateway } from '../helpers/gateway.ts';
import { AS_ADMIN, post } from '../http/admin-helpers.ts';
import { RL_TYPE } from '../http/helpers.ts';
import { startChromium, type Browser } from '../services/chromium.ts';
import { ALICE_COLL, ALICE_INDEX, BINDING, adminApi, memoryOf, pendingJobs, queueIdle, remoteIdOf, rlDoc, startSyncGateway, syncNow, until } from './sync-helpers.ts';

const CAROL = 'sip:carol@example.com';

describe('status page in headless Chromium', () => {
  let gw: TestGateway;
  let browser: Browser;
  beforeAll(async () => {
    gw = await startSyncGateway({ prefix: 'status-page', policy: 'manual' });
    // A conflict: Bob changed on the phone and in the address book since the last run.
    const alice = gw.client();
    expect((await alice.put(ALICE_INDEX, rlDoc({ friends: [{ uri: 'sip:bob@example.com', 'display-name': 'Bob' }] }), RL_TYPE)).status).toBe(201);
    await queueIdle(gw);
    await syncNow(gw);
    const mem = memoryOf(gw);
    mem.seed(ALICE_COLL, [{ id: remoteIdOf(mem, ALICE_COLL, 'sip:bob@example.com'), fields: { uri: 'sip:bob@example.com', 'display-name': 'Bob <Remote> & Co' } }]);
    expect((await alice.put(ALICE_INDEX, rlDoc({ friends: [{ uri: 'sip:bob@example.com', 'display-name': 'Bob Phone' }] }), RL_TYPE)).status).toBe(200);
    await queueIdle(gw);
    expect(await until(() => adminApi(gw).conflicts(), (c) => c.length === 1)).toHaveLength(1);
    // A failing document: Carol's address book does not exist on the remote.
    await gw.users.add(CAROL, 'carol-secret');
    expect((await gw.client('carol', 'carol-secret').put(`/resource-lists/users/${CAROL}/index`, rlDoc({ friends: [] }), RL_TYPE)).status).toBe(201);
    await until(async () => (await adminApi(gw).status(CAROL))?.lastError ?? null, (e) => e !== null);
    browser = await startChromium({ username: 'admin', password: ADMIN.password });
  });
  afterAll(async () => {
    await browser?.stop();
    await gw?.stop();
  });

  it('log in, see the error, take the remote side with a click, and the XCAP document changes', async () => {
    const page = await browser.context.newPage();
    const first = await page.goto(`${gw.origin}/admin/`);
    expect(first?.status()).toBe(200);
    expect(first?.headers()['content-security-policy']).toMatch(/default-src 'none'/);
    await expect.poll(() => page.title()).toBe('xcap-bridge status');
    const row = page.locator(`#binding-${BINDING}`);
    expect(await row.textContent()).toContain('collection buddies-carol does not exist');
    expect(await row.textContent()).toContain(CAROL);
    // Both sides side by side; the remote's markup characters shown as text.
    const conflict = page.locator('.conflict');
    expect(await conflict.count()).toBe(1);
    const text = (await conflict.textContent()) ?? '';
    expect(text).toContain('Bob Phone');
    expect(text).toContain('Bob <Remote> & Co');
    expect(await page.locator('svg[role=img]').count()).toBe(1);
    await page.screenshot({ path: join(tmpdir(), 'xcap-bridge-status-page.png'), fullPage: true });

    await conflict.getByRole('button', { name: 'Take the remote side' }).click();
    await page.waitForURL(`${gw.origin}/admin/#conflicts`);
    expect(await page.locator('#conflicts + p').textContent()).toBe('None.');

    // The next run applies the choice: the phone's document now says what the remote says.
    const doc = await until(async () => (await gw.client().get(ALICE_INDEX)).body, (b) => b.includes('Bob &lt;Remote&gt; &amp; Co'));
    expect(doc).toContain('Bob &lt;Remote&gt; &amp; Co');
    expect(doc).not.toContain('Bob Phone');
    // And the page, reloaded, still shows no open conflict.
    await page.reload();
    expect(await page.locator('#conflicts + p').textContent()).toBe('None.');
    await page.close();
  });

  it("a form posted without the page's token is refused (403) and queues nothing", async () => {
    const r = await post(gw.origin, '/admin/ui/run', { ...AS_ADMIN, 'Content-Type': 'application/x-www-form-urlencoded' }, `binding=${BINDING}&csrf=1.forged`);
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body)).toEqual({ error: 'the form has expired or did not come from this page: reload the page and try again' });
    expect(await pendingJobs(gw)).toBe(0);
  });
});
