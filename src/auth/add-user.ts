/**
 * Adding a local user as `user add` and the admin API both do it: the realm is the one
 * given, else `auth.realm`, else the XUI's domain; a user in a second realm is refused
 * while `auth.defaultDomain` does not say which realm the global tree challenges with
 * (deployment-domain.ts), because the global tree would then lock every client out.
 */
import type { Config } from '../config/schema.ts';
import { InvalidXui, type LocalUsers } from './local-users.ts';
import { parseXui } from './login.ts';

/** The new user's realm differs from the existing users' and no defaultDomain is configured. */
export class SecondRealm extends Error {
  constructor(realms: readonly string[], realm: string) {
    super(
      `users are in realm ${realms.join(', ')}; a user in realm ${realm} needs auth.defaultDomain in the config, ` +
        'the realm the global tree challenges with (see docs/configuration.md)',
    );
    this.name = 'SecondRealm';
  }
}

/**
 * Adds `xui`; resolves with the realm it was added in. Throws `InvalidXui`, `EmptyPassword`,
 * `UserExists` (from LocalUsers.add) or `SecondRealm`.
 */
export async function addLocalUser(users: LocalUsers, auth: Pick<Config['auth'], 'realm' | 'defaultDomain'>, xui: string, password: string, opts: { admin?: boolean; realm?: string } = {}): Promise<string> {
  const parts = parseXui(xui);
  if (parts === undefined) throw new InvalidXui(xui);
  const realm = opts.realm ?? auth.realm ?? parts.domain;
  if (auth.defaultDomain === undefined && auth.realm === undefined) {
    const realms = await users.realms();
    if (realms.some((r) => r !== realm)) throw new SecondRealm(realms, realm);
  }
  await users.add(xui, password, { admin: opts.admin === true, realm });
  return realm;
}
