/**
 * The deployment's domain: the Digest realm of the global tree (xcap-caps, rls-services
 * `global/index`, the admin API) and the domain of XUIs written without one.
 *
 * Clients (python3-xcaplib, most phones) register their password for realm = their SIP
 * domain, and `user add` records that realm, so when `auth.defaultDomain` is not configured
 * the domain is the one realm every user shares. Without users it is `localhost`. Once
 * users are in two realms no choice is safe: `auth.defaultDomain` must then say which.
 */
import type { UserSource } from './types.ts';

/** Users are in several realms and `auth.defaultDomain` does not say which the global tree uses. */
export class AmbiguousDomain extends Error {
  readonly realms: readonly string[];
  constructor(realms: readonly string[]) {
    super(`users are in several realms (${realms.join(', ')}): set auth.defaultDomain to the one the global tree challenges with`);
    this.name = 'AmbiguousDomain';
    this.realms = realms;
  }
}

/** The domain when there are no users yet. */
export const NO_USERS_DOMAIN = 'localhost';

export class DeploymentDomain {
  private readonly configured: string | undefined;
  private readonly users: Pick<UserSource, 'realms'>;

  /**
   * @param configured `auth.defaultDomain`; when set it is the answer and users are not asked.
   * @param users where the realms come from (put a cache in front: this is on the request path).
   */
  constructor(configured: string | undefined, users: Pick<UserSource, 'realms'>) {
    this.configured = configured;
    this.users = users;
  }

  /** The domain, or `undefined` when users are in several realms and none is configured. */
  async current(): Promise<string | undefined> {
    if (this.configured !== undefined) return this.configured;
    const realms = await this.users.realms();
    return realms.length === 0 ? NO_USERS_DOMAIN : realms.length === 1 ? realms[0] : undefined;
  }

  /** The domain. @throws AmbiguousDomain when users are in several realms and none is configured. */
  async require(): Promise<string> {
    const domain = await this.current();
    if (domain === undefined) throw new AmbiguousDomain(await this.users.realms());
    return domain;
  }
}
