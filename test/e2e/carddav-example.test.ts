/**
 * docs/sync.md's Radicale example (deploy/carddav-radicale.example.yaml) as it is, set only
 * through the environment variables it documents: loaded by the config loader, served by
 * the real gateway, against a real Radicale. A phone's buddy reaches alice's address book,
 * and a contact a desktop client adds there reaches the phone on the next run. On a single
 * Redis (`REDIS_URL`) and on a Redis Cluster (`XCAP_BRIDGE_REDIS_CLUSTER`).
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalUsers } from '../../src/auth/local-users.ts';
import { loadConfig } from '../../src/config/load.ts';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import { createLogger } from '../../src/log.ts';
import { XcapClient } from '../helpers/digest-client.ts';
import { RL_TYPE } from '../http/helpers.ts';
import { freePort, tempDir } from '../services/process.ts';
import { startRadicale, type RadicaleService } from '../services/radicale.ts';
import { cardText, DavPeer } from '../connectors/carddav-fixtures.ts';
import { listOf, rlDoc, until } from './sync-helpers.ts';
import { describeEachRedis, redisEnvironment } from '../helpers/redis-variants.ts';

const EXAMPLE = resolve(import.meta.dirname, '../../deploy/carddav-radicale.example.yaml');
const INDEX = '/resource-lists/users/sip:alice@example.com/index';

describeEachRedis((redis) => {
  describe('docs/sync.md: the Radicale example config, unchanged', () => {
    let radicale: RadicaleService;
    let gateway: Gateway;
    let phone: XcapClient;
    let desktop: DavPeer;

    beforeAll(async () => {
      radicale = await startRadicale();
      const davPassword = `dav-${randomUUID()}`;
      radicale.addUser('alice', davPassword);
      desktop = new DavPeer(radicale.url, 'alice', davPassword);
      await desktop.mkAddressBook('/alice/contacts/');
      const dir = tempDir('carddav-example');
      const passwords = join(dir, 'passwords');
      writeFileSync(passwords, `alice:${davPassword}\n`);
      const env = {
        RADICALE_URL: radicale.url,
        CARDDAV_PASSWORDS: passwords,
        XCAP_PORT: String(await freePort()),
        XCAP_DATA_DIR: join(dir, 'data'),
        ...redisEnvironment(await redis.target()),
        REDIS_PREFIX: `e2e-carddav-example-${randomUUID()}`,
      };
      const config = loadConfig(EXAMPLE, {}, env);
      gateway = await startGateway(config, createLogger('silent'));
      await (await LocalUsers.open(gateway.store.sql)).add('sip:alice@example.com', 'alice-phone');
      phone = new XcapClient(gateway.url, { username: 'alice', password: 'alice-phone' });
    });
    afterAll(async () => {
      await gateway?.stop();
      await radicale?.stop();
    });

    it('the phone\'s buddy becomes a card; a card from the desktop becomes a buddy on the next run', async () => {
      const bob = { uri: 'sip:bob@example.com', 'display-name': 'Bob', mail: 'bob@example.com' };
      const res = await phone.put(INDEX, rlDoc({ buddies: [bob] }), RL_TYPE);
      expect(res.status, res.body).toBe(201);
      const card = await until(async () => (await desktop.fetch('GET', '/alice/contacts/')).text(), (t) => t.includes('sip:bob@example.com'));
      expect(card).toContain('FN:Bob');
      await desktop.putCard('/alice/contacts/', 'carol', cardText('carol', { uri: 'sip:carol@example.com', 'display-name': 'Carol', mail: 'carol@example.com' }));
      await gateway.sync?.enqueue('buddies', 'sip:alice@example.com');
      const buddies = await until(async () => listOf((await phone.get(INDEX)).body, 'buddies'), (l) => l?.has('sip:carol@example.com') === true);
      expect(buddies?.get('sip:carol@example.com')).toEqual({ uri: 'sip:carol@example.com', 'display-name': 'Carol', mail: 'carol@example.com' });
      expect(buddies?.get(bob.uri)).toEqual(bob);
    });
  });
});
