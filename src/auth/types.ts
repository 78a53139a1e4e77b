/**
 * Where the authenticator finds users: the contract every user source implements (local
 * table, htdigest file, and later a SQL `subscriber` table or LDAP bind).
 *
 * Terminology
 * - XUI: the user's identity in XCAP URIs, a SIP URI `sip:alice@example.com`.
 * - LOGIN: the user name a client puts in its credentials. Real clients send either the
 *   user part `alice` or `alice@example.com`; never `sip:` (Basic user names cannot hold
 *   a colon). Both forms name the same user.
 * - REALM: the Digest/Basic realm. Unless `auth.realm` is configured, it is the domain of
 *   the XUI in the request URI (`example.com`), or the deployment's domain for the global
 *   tree (`auth.defaultDomain`, else the one realm all users share: deployment-domain.ts).
 * - HA1: `H(login ":" realm ":" password)` as lowercase hex (RFC 7616 §3.4.2), with H = MD5,
 *   SHA-256 or SHA-512/256. It depends on the login form, so a source keeps one HA1 per form and
 *   algorithm; passwords are never stored.
 *
 * Deliberately not here: challenge/response logic (digest.ts, basic.ts) and authorization
 * (authorize.ts).
 */

/**
 * Digest algorithms this server speaks (RFC 7616 §3.3); `-sess` variants are not offered.
 * `SHA-512-256` is SHA-512/256 (FIPS 180-4), offered where a source keeps its HA1
 * (OpenSIPS 3.2's `ha1_sha512t256`, or a plaintext password).
 */
export type DigestAlgorithm = 'MD5' | 'SHA-256' | 'SHA-512-256';

/** A user as listed and authorized: identity and role, no secrets. */
export interface UserInfo {
  /** `sip:alice@example.com`, exactly as it appears in `users/<xui>/`. */
  readonly xui: string;
  /** Admins may write the global tree and reach every user's documents. */
  readonly admin: boolean;
}

/** A user found by login: identity plus the HA1 values for the login form and realm asked for. */
export interface UserRecord extends UserInfo {
  /**
   * HA1 per algorithm for exactly the (login, realm) pair of the lookup, lowercase hex.
   * An algorithm the source cannot provide is absent (htdigest files hold MD5 only).
   */
  readonly ha1: { readonly md5?: string; readonly sha256?: string; readonly sha512t256?: string };
}

export interface UserSource {
  /** Algorithms whose HA1 this source can return; the authenticator offers only these. */
  readonly algorithms: readonly DigestAlgorithm[];

  /**
   * The user with this XUI (byte-for-byte match), or `undefined`. For listings and checks
   * that do not authenticate. Throws only when the backing store fails.
   */
  find(xui: string): Promise<UserInfo | undefined>;

  /**
   * The user a client names with `username` in `realm`, with the HA1 values for that login
   * form, or `undefined` when no user matches (including: the realm is not the one the
   * HA1 was made for, or `alice` is ambiguous because two domains share a configured realm).
   * `username` is taken as sent, already unquoted; `alice@example.com` is looked up as that
   * full form, never reduced to `alice`. Throws only when the backing store fails.
   */
  findByLogin(username: string, realm: string): Promise<UserRecord | undefined>;

  /**
   * Realms the users' HA1s were made for, sorted, enough to tell none, one and several
   * apart: a source may return only the smallest and the largest. For the realm of the
   * global tree when none is configured (deployment-domain.ts). Throws only when the
   * backing store fails.
   */
  realms(): Promise<readonly string[]>;
}
