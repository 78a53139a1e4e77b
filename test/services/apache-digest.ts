/**
 * Debian's apache2 as a Digest front for a Radicale started with `auth: http_x_remote_user`:
 * mod_auth_digest (RFC 2617/7616 MD5, qop=auth, nonce counts checked) authenticates every
 * request against an htdigest file and mod_proxy passes it on with X-Remote-User set to
 * the authenticated user. Radicale itself speaks Basic only, so this is the real Digest
 * server the CardDAV client is tested against.
 *
 * apache2 refuses to run its workers as root: the config names `nobody`, and the temp dir
 * and files are readable by it.
 */
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { freePort, spawnService, stopChild, tempDir, waitForPort, type Service } from './process.ts';

export interface ApacheDigestService extends Service {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  readonly url: string;
  /** The same front on another host name: `http://127.0.0.2:<port>` (a second loopback address). */
  readonly otherUrl: string;
  readonly realm: string;
  /** Requests the front answered so far, oldest first: `METHOD /path STATUS` (its access log). */
  requests(): string[];
}

export interface ApacheDigestOptions {
  /** Port of the Radicale behind it. */
  readonly radicalePort: number;
  /** Users and their passwords. */
  readonly users: Readonly<Record<string, string>>;
  /** Seconds a nonce is valid; a short one makes apache answer `stale=true`. @defaultValue 300 */
  readonly nonceLifetimeSeconds?: number;
  /** A path answered with a 307 to another URL (before authentication), e.g. to the front's second address. */
  readonly redirect?: { readonly from: string; readonly to: string };
  /**
   * mod_headers drops the ETag of every PUT answer: what Sabre/Nextcloud answer when they
   * rewrote the stored card (the client must re-read it to learn its ETag).
   */
  readonly unsetPutEtag?: boolean;
  /**
   * Answers the sync-collection REPORT as a server without it does: 501, or 403 with a
   * DAV:supported-report error. mod_rewrite cannot read the body, so the rule matches the
   * header that tells the reports apart: RFC 6578 requires `Depth: 0` on sync-collection,
   * the connector's addressbook-multigets carry `Depth: 1`, and those pass.
   */
  readonly refuseSyncCollection?: 501 | 403;
  /**
   * mod_substitute strips getctag and sync-token from every XML answer (Radicale writes
   * them as `<CS:getctag>` and `<sync-token>`): with `refuseSyncCollection`, a server
   * with neither sync-collection nor getctag.
   */
  readonly hideCtag?: boolean;
}

const MODULES = ['mpm_event', 'alias', 'authn_core', 'authn_file', 'authz_core', 'authz_user', 'auth_digest', 'proxy', 'proxy_http', 'headers'];
const REALM = 'carddav-test';

export async function startApacheDigest(opts: ApacheDigestOptions & { readonly port?: number }): Promise<ApacheDigestService> {
  const dir = tempDir('apache');
  chmodSync(dir, 0o755);
  const port = opts.port ?? (await freePort());
  const digestFile = `${dir}/digest`;
  writeFileSync(digestFile, Object.entries(opts.users).map(([u, p]) => `${u}:${REALM}:${createHash('md5').update(`${u}:${REALM}:${p}`).digest('hex')}\n`).join(''), { mode: 0o644 });
  writeFileSync(
    `${dir}/httpd.conf`,
    [
      `ServerRoot ${dir}`,
      'ServerName 127.0.0.1',
      `Listen 127.0.0.1:${port}`,
      `Listen 127.0.0.2:${port}`,
      `PidFile ${dir}/httpd.pid`,
      `ErrorLog ${dir}/error.log`,
      `CustomLog ${dir}/access.log "%m %U %>s"`,
      'LogLevel warn',
      'User nobody',
      'Group nogroup',
      `Mutex file:${dir} default`,
      ...MODULES.map((m) => `LoadModule ${m}_module /usr/lib/apache2/modules/mod_${m}.so`),
      ...(opts.hideCtag ? ['LoadModule substitute_module /usr/lib/apache2/modules/mod_substitute.so'] : []),
      ...(opts.refuseSyncCollection === undefined
        ? []
        : [
            'LoadModule rewrite_module /usr/lib/apache2/modules/mod_rewrite.so',
            'RewriteEngine On',
            'RewriteCond %{REQUEST_METHOD} =REPORT',
            'RewriteCond %{HTTP:Depth} =0',
            opts.refuseSyncCollection === 501 ? 'RewriteRule ^ - [R=501,L]' : 'RewriteRule ^ - [F]',
            `ErrorDocument 403 "<?xml version=\\"1.0\\"?><D:error xmlns:D=\\"DAV:\\"><D:supported-report/></D:error>"`,
          ]),
      // The redirected path is not proxied (exclusions come before the catch-all).
      ...(opts.redirect ? [`Redirect 307 ${opts.redirect.from} ${opts.redirect.to}`, `ProxyPass "${opts.redirect.from}" "!"`] : []),
      `ProxyPass "/" "http://127.0.0.1:${opts.radicalePort}/"`,
      `ProxyPassReverse "/" "http://127.0.0.1:${opts.radicalePort}/"`,
      '<Location "/">',
      '  AuthType Digest',
      `  AuthName "${REALM}"`,
      '  AuthDigestProvider file',
      `  AuthUserFile ${digestFile}`,
      `  AuthDigestNonceLifetime ${opts.nonceLifetimeSeconds ?? 300}`,
      '  Require valid-user',
      '  RequestHeader set X-Remote-User expr=%{REMOTE_USER}',
      ...(opts.hideCtag
        ? ['  SetOutputFilter SUBSTITUTE', '  Substitute "s|<CS:getctag>[^<]*</CS:getctag>||"', '  Substitute "s|<sync-token>[^<]*</sync-token>||"']
        : []),
      ...(opts.unsetPutEtag ? ['  <If "%{REQUEST_METHOD} == \'PUT\'">', '    Header unset ETag', '  </If>'] : []),
      '</Location>',
      '',
    ].join('\n'),
  );
  const { child, output } = spawnService('/usr/sbin/apache2', ['-f', `${dir}/httpd.conf`, '-D', 'FOREGROUND']);
  await waitForPort(port, child, output);
  const requests = () => (existsSync(`${dir}/access.log`) ? readFileSync(`${dir}/access.log`, 'utf8').split('\n').filter(Boolean) : []);
  return { url: `http://127.0.0.1:${port}`, otherUrl: `http://127.0.0.2:${port}`, realm: REALM, requests, stop: () => stopChild(child, dir) };
}
