/**
 * The user source contract suite (src/auth/types.ts): every user source (the local user
 * table, htdigest files, legacy subscriber tables) runs this one file through its own
 * harness. HA1 values are checked against H(login:realm:password) computed here.
 */
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { UserSource } from '../../src/auth/types.ts';

/** The two login forms of a user XUI `sip:alice@example.com`. */
export type LoginForm = 'user' | 'user@domain';

export interface UserSourceHarness {
  readonly source: UserSource;
  /**
   * Adds a user behind the source's back, as its own tooling would (htdigest, kamctl,
   * `user add`), with realm = the XUI's domain.
   */
  add(xui: string, password: string): Promise<void>;
  cleanup(): Promise<void>;
}

export interface UserSourceTraits {
  /** Login forms a user can log in with. */
  readonly loginForms: readonly LoginForm[];
  /** The source can serve realms other than the user's domain (it keeps a password). */
  readonly anyRealm?: boolean;
}

const H = { MD5: 'md5', 'SHA-256': 'sha256', 'SHA-512-256': 'sha512-256' } as const;
const ha1 = (alg: keyof typeof H, login: string, realm: string, pw: string) => createHash(H[alg]).update(`${login}:${realm}:${pw}`).digest('hex');

function login(form: LoginForm, xui: string): string {
  const bare = xui.replace(/^sip:/, '');
  return form === 'user' ? bare.slice(0, bare.lastIndexOf('@')) : bare;
}

export function userSourceContract(name: string, traits: UserSourceTraits, factory: () => Promise<UserSourceHarness>): void {
  describe(`${name}: user source contract (src/auth/types.ts)`, () => {
    let h: UserSourceHarness;
    beforeEach(async () => {
      h = await factory();
    });
    afterEach(async () => {
      await h.cleanup();
    });

    it('an unknown user is undefined by XUI and by login', async () => {
      expect(await h.source.find('sip:nobody@example.com')).toBeUndefined();
      expect(await h.source.findByLogin('nobody', 'example.com')).toBeUndefined();
      expect(await h.source.findByLogin('nobody@example.com', 'example.com')).toBeUndefined();
    });

    it('finds a user by XUI, and by each login form with HA1 values for exactly that login and realm', async () => {
      await h.add('sip:alice@example.com', 'alice-pw');
      expect(await h.source.find('sip:alice@example.com')).toEqual({ xui: 'sip:alice@example.com', admin: false });
      for (const form of traits.loginForms) {
        const l = login(form, 'sip:alice@example.com');
        const u = await h.source.findByLogin(l, 'example.com');
        expect(u?.xui, `login ${l}`).toBe('sip:alice@example.com');
        const got = u!.ha1;
        const byAlgorithm = { MD5: got.md5, 'SHA-256': got.sha256, 'SHA-512-256': got.sha512t256 };
        expect(got.md5 ?? got.sha256 ?? got.sha512t256, `login ${l}: some HA1`).toBeDefined();
        for (const [alg, value] of Object.entries(byAlgorithm) as [keyof typeof H, string | undefined][]) {
          if (value !== undefined) expect(value, `${alg} for ${l}`).toBe(ha1(alg, l, 'example.com', 'alice-pw'));
        }
        // What the source declares it must serve for the user form, the one every client can use.
        if (form === 'user') for (const alg of h.source.algorithms) expect(byAlgorithm[alg], `${alg} for ${l}`).toBeDefined();
      }
    });

    it('a realm other than the HA1s were made for finds nobody (unless the source keeps the password)', async () => {
      await h.add('sip:alice@example.com', 'alice-pw');
      const other = await h.source.findByLogin('alice@example.com', 'xcap.example.net');
      if (traits.anyRealm) expect(other?.ha1.md5).toBe(ha1('MD5', 'alice@example.com', 'xcap.example.net', 'alice-pw'));
      else expect(other).toBeUndefined();
    });

    it('the same user part in two domains is two users', async () => {
      await h.add('sip:alice@example.com', 'pw-one');
      await h.add('sip:alice@example.org', 'pw-two');
      const [a, b] = [await h.source.findByLogin('alice', 'example.com'), await h.source.findByLogin('alice', 'example.org')];
      expect([a?.xui, b?.xui]).toEqual(['sip:alice@example.com', 'sip:alice@example.org']);
      expect(a?.ha1.md5).toBe(ha1('MD5', 'alice', 'example.com', 'pw-one'));
      expect(b?.ha1.md5).toBe(ha1('MD5', 'alice', 'example.org', 'pw-two'));
      expect(await h.source.realms()).toEqual(['example.com', 'example.org']);
    });

    it('user names holding quotes, backticks and SQL are matched verbatim and harm nothing', async () => {
      const odd = "o'brien\"`;--DROP_TABLE";
      await h.add(`sip:${odd}@example.com`, 'pw');
      await h.add('sip:alice@example.com', 'alice-pw');
      expect((await h.source.findByLogin(odd, 'example.com'))?.xui).toBe(`sip:${odd}@example.com`);
      expect(await h.source.findByLogin("o'brien", 'example.com')).toBeUndefined();
      expect(await h.source.findByLogin("' OR '1'='1", 'example.com')).toBeUndefined();
      expect((await h.source.findByLogin('alice', 'example.com'))?.xui).toBe('sip:alice@example.com');
    });
  });
}
