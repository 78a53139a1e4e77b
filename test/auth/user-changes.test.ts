/**
 * A user removed by the `user remove` command (another process) is refused by a running
 * server within a second, not after its cached login expires (`auth.loginCacheSeconds`,
 * 300 s): the server reads the user table's change mark at most once a second. The server
 * runs on a manual clock; the command is the real CLI on the same store.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { ALICE, BOB, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { ALICE_RL, contacts, RL_TYPE } from '../http/helpers.ts';

const BIN = resolve(import.meta.dirname, '../../bin/xcap-bridge.js');
const run = promisify(execFile);

describe.each(['sqlite', 'postgres'] as const)('a user removed by another process (%s)', (store) => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  it('is refused within a second, with Digest and with Basic; other users stay logged in', async () => {
    let now = Date.now();
    gw = await startTestGateway({ store, now: () => now });
    const digest = gw.client('alice', ALICE.password);
    const basic = gw.client('alice', ALICE.password, { mode: 'basic' });
    const bob = gw.client('bob', BOB.password);
    expect((await digest.put(ALICE_RL, contacts(), RL_TYPE)).status).toBe(201);
    expect((await basic.get(ALICE_RL)).status).toBe(200);
    const BOB_RL = '/resource-lists/users/sip:bob@example.com/index';
    expect((await bob.put(BOB_RL, contacts(), RL_TYPE)).status).toBe(201);
    const where = gw.databaseUrl === undefined ? ['--data', gw.dataDir] : ['--database-url', gw.databaseUrl];
    const removed = await run(process.execPath, [BIN, 'user', 'remove', ALICE.xui, ...where]);
    expect(removed.stdout).toBe(`removed ${ALICE.xui}\n`);
    now += 1000;
    expect((await digest.get(ALICE_RL)).status).toBe(401);
    expect((await basic.get(ALICE_RL)).status).toBe(401);
    expect((await bob.get(BOB_RL)).status).toBe(200);
  });
});
