/**
 * The legacy `subscriber` table as a user source (src/auth/subscriber.ts): the user source
 * contract on real PostgreSQL and MariaDB for each project's schema, and Digest logins over
 * HTTP with the stored ha1, ha1b, ha1_sha256 and ha1_sha512t256 (no password needed).
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openSqlDatabase, type SqlEngine } from '../../connectors/sql/database.ts';
import { SubscriberUsers, type SubscriberSchema } from '../../src/auth/subscriber.ts';
import { legacySchema, type LegacyProject } from '../fixtures/legacy-sql/schema.ts';
import { startTestGateway } from '../helpers/gateway.ts';
import { userSourceContract, type LoginForm } from '../conformance/user-source.suite.ts';
import { startMariaDb, type MariaDbService } from '../services/mariadb.ts';
import { freshSqlDatabase, type FreshDatabase } from '../services/sql-databases.ts';

let maria: MariaDbService;
beforeAll(async () => {
  maria = await startMariaDb();
});
afterAll(() => maria?.stop());

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const sha512t256 = (s: string) => createHash('sha512-256').update(s).digest('hex');
const serverUrl = (engine: SqlEngine) => (engine === 'postgres' ? inject('services').postgres : maria.url);

/** Adds a subscriber the way kamctl / opensips-cli do: HA1 columns computed with realm = domain. */
async function addSubscriber(db: FreshDatabase, engine: SqlEngine, project: LegacyProject, xui: string, password: string, keepPassword: boolean): Promise<void> {
  const bare = xui.replace(/^sip:/, '');
  const at = bare.lastIndexOf('@');
  const [user, domain] = [bare.slice(0, at), bare.slice(at + 1)];
  const ph = (n: number) => Array.from({ length: n }, (_, i) => (engine === 'postgres' ? `$${i + 1}` : '?')).join(', ');
  const pw = keepPassword ? password : '';
  if (project === 'opensips32') {
    await db.query(`INSERT INTO subscriber (username, domain, password, ha1, ha1_sha256, ha1_sha512t256) VALUES (${ph(6)})`, [
      user, domain, pw, md5(`${user}:${domain}:${password}`), sha256(`${user}:${domain}:${password}`), sha512t256(`${user}:${domain}:${password}`),
    ]);
  } else {
    await db.query(`INSERT INTO subscriber (username, domain, password, ha1, ha1b) VALUES (${ph(5)})`, [
      user, domain, pw, md5(`${user}:${domain}:${password}`), md5(`${user}@${domain}:${domain}:${password}`),
    ]);
  }
}

const CASES: { schema: SubscriberSchema; project: LegacyProject; forms: LoginForm[]; password?: boolean }[] = [
  { schema: 'kamailio', project: 'kamailio', forms: ['user', 'user@domain'] },
  { schema: 'opensips', project: 'opensips', forms: ['user', 'user@domain'] },
  // OpenSIPS 3.2 dropped ha1b: the full login form needs a kept password.
  { schema: 'opensips32', project: 'opensips32', forms: ['user'] },
  { schema: 'openxcap', project: 'opensips', forms: ['user', 'user@domain'], password: true },
];

for (const engine of ['postgres', 'mysql'] as const) {
  for (const c of CASES) {
    userSourceContract(`${engine} subscriber (${c.schema}${c.password ? ', plaintext password' : ''})`, { loginForms: c.forms, anyRealm: c.password }, async () => {
      const db = await freshSqlDatabase(engine, serverUrl(engine), `sub_${c.schema}`);
      await db.exec(legacySchema(c.project, engine));
      const source = new SubscriberUsers(openSqlDatabase(db.url), { schema: c.schema, ...(c.password && { passwordColumn: 'password' }) });
      return {
        source,
        add: (xui, password) => addSubscriber(db, engine, c.project, xui, password, c.password === true),
        async cleanup() {
          await source.close();
          await db.drop();
        },
      };
    });
  }
}

describe('Digest logins against a legacy subscriber table over HTTP (realm = the SIP domain)', () => {
  for (const [engine, project, schema] of [['postgres', 'kamailio', 'kamailio'], ['mysql', 'opensips32', 'opensips32']] as const) {
    it(`${engine} ${schema}: ${schema === 'kamailio' ? 'MD5 with ha1 (alice) and ha1b (alice@example.com)' : 'MD5 with ha1, SHA-256 with ha1_sha256 and SHA-512-256 with ha1_sha512t256'}; a wrong password is 401`, async () => {
      const db = await freshSqlDatabase(engine, serverUrl(engine), `digest_${schema}`);
      await db.exec(legacySchema(project, engine));
      await addSubscriber(db, engine, project, 'sip:carol@example.com', 'carol-legacy-pw', false);
      const gw = await startTestGateway({ users: [], config: { auth: { subscriber: { url: db.url, schema } } } });
      try {
        const path = '/resource-lists/users/sip:carol@example.com/index';
        const body = '<?xml version="1.0" encoding="UTF-8"?><resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="l"/></resource-lists>';
        const logins: [string, 'MD5' | 'SHA-256' | 'SHA-512-256'][] = schema === 'kamailio' ? [['carol', 'MD5'], ['carol@example.com', 'MD5']] : [['carol', 'MD5'], ['carol', 'SHA-256'], ['carol', 'SHA-512-256']];
        for (const [login, algorithm] of logins) {
          const client = gw.client(login, 'carol-legacy-pw', { algorithm });
          const put = await client.put(path, body, 'application/resource-lists+xml');
          expect([200, 201], `${login} ${algorithm}: ${put.status}`).toContain(put.status);
          const got = await client.get(path);
          expect(got.status).toBe(200);
          expect(got.body).toBe(body);
        }
        const first = await gw.client('carol', 'x').get(path);
        const algorithms = (first.headers.get('www-authenticate') ?? '').match(/algorithm=[\w-]+/g);
        expect(algorithms).toEqual(schema === 'kamailio' ? ['algorithm=MD5'] : ['algorithm=MD5', 'algorithm=SHA-256', 'algorithm=SHA-512-256']);
        expect(first.status).toBe(401);
        expect((await gw.client('carol', 'wrong-pw').get(path)).status).toBe(401);
      } finally {
        await gw.stop();
        await db.drop();
      }
    });
  }
});
