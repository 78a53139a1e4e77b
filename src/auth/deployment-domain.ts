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
  /** The last answer, and the realms promise it was read from (a cached source hands out the same one while it holds). */
  private last: { readonly realms: Promise<readonly string[]>; readonly domain: string | undefined } | undefined;

  /**
   * @param configured `auth.defaultDomain`; when set it is the answer and users are not asked.
   * @param users where the realms come from (put a cache in front: this is on the request path).
   */
  constructor(configured: string | undefined, users: Pick<UserSource, 'realms'>) {
    this.configured = configured;
    this.users = users;
  }

  /**
   * The domain, or `undefined` when users are in several realms and none is configured; a
   * value, not a promise, when it is configured or the source's realms are those of the
   * last answer (this is on every request's path: no turn of the microtask queue then).
   */
  current(): string | undefined | Promise<string | undefined> {
    if (this.configured !== undefined) return this.configured;
    const realms = this.users.realms();
    if (this.last?.realms === realms) return this.last.domain;
    return realms.then((all) => {
      const domain = all.length === 0 ? NO_USERS_DOMAIN : all.length === 1 ? all[0] : undefined;
      this.last = { realms, domain };
      return domain;
    });
  }

  /** The domain. @throws AmbiguousDomain when users are in several realms and none is configured. */
  async require(): Promise<string> {
    const domain = await this.current();
    if (domain === undefined) throw new AmbiguousDomain(await this.users.realms());
    return domain;
  }
}
