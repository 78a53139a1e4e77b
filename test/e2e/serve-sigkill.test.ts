/**
 * A 2xx is a saved write: `serve` (its defaults, SQLite) is killed with SIGKILL while 20
 * clients write, and after a restart every write that was answered 2xx is there. This proves
 * process-crash safety (what a killed server answered, it had committed); that the commit
 * was also flushed to disk is shown by the group-commit tests (test/store/sqlite-durability)
 * and the fdatasync count in bench/README.md.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { addUser, startServe, tempData } from '../http/serve-process.ts';

const store = tempData();
afterAll(() => store.remove());

const WRITERS = 20;
const auth = `Basic ${Buffer.from('alice:secret').toString('base64')}`;
const docUrl = (url: string, i: number) => `${url}/resource-lists/users/sip:alice@example.com/w${i}`;
const version = (v: number) => `<?xml version="1.0" encoding="UTF-8"?>\n<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="v${v}"/></resource-lists>\n`;

describe('serve killed with SIGKILL during 20 concurrent writers', () => {
  it('keeps every write it answered 2xx', async () => {
    await addUser(store, 'sip:alice@example.com', 'secret');
    const serve = await startServe(store);
    /** The highest version each writer was told (2xx) is saved. */
    const acked = new Array<number>(WRITERS).fill(0);
    let total = 0;
    let killed!: () => void;
    const enough = new Promise<void>((r) => (killed = r));
    const writer = async (i: number) => {
      for (let v = 1; ; v++) {
        let res: Response;
        try {
          res = await fetch(docUrl(serve.url, i), {
            method: 'PUT',
            headers: { Authorization: auth, 'Content-Type': 'application/resource-lists+xml' },
            body: version(v),
          });
        } catch {
          return; // the server is gone
        }
        if (res.status !== 200 && res.status !== 201) throw new Error(`writer ${i}: ${res.status} ${await res.text()}`);
        acked[i] = v;
        if (++total === 400) killed();
      }
    };
    const writers = Array.from({ length: WRITERS }, (_, i) => writer(i));
    await enough;
    serve.proc.kill('SIGKILL');
    await Promise.all(writers);
    await serve.stop();

    const again = await startServe(store);
    try {
      for (let i = 0; i < WRITERS; i++) {
        expect(acked[i]).toBeGreaterThan(0);
        const res = await fetch(docUrl(again.url, i), { headers: { Authorization: auth } });
        expect(res.status).toBe(200);
        const stored = Number(/name="v(\d+)"/.exec(await res.text())?.[1]);
        // The answered version, or the next one if it was committed but its answer was lost with the process.
        expect([acked[i], (acked[i] as number) + 1]).toContain(stored);
      }
    } finally {
      await again.stop();
    }
  });
});
