/**
 * A throwaway OpenLDAP slapd (Debian's 2.5): mdb backend with syncprov (so the suffix
 * carries contextCSN), one suffix `dc=example,dc=com` with `ou=people`, the rootdn as the
 * bind user. Data lives in a temp dir; `dbnosync` because nothing here must survive.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { freePort, spawnService, stopChild, tempDir, waitForPort, type Service } from './process.ts';

export interface SlapdService extends Service {
  readonly bindDn: string;
  readonly password: string;
  /** The database suffix; `ou=people,<suffix>` exists too. */
  readonly baseDn: string;
  /** Stops slapd and starts it again on the same port with the same data (connections drop). */
  restart(): Promise<void>;
  /** Stops slapd, keeping the data, until `restart()`. */
  halt(): Promise<void>;
}

const SUFFIX = 'dc=example,dc=com';
const ROOT_DN = `cn=admin,${SUFFIX}`;
const PASSWORD = 'secret';

function slapdConf(dir: string): string {
  const schemas = ['core', 'cosine', 'nis', 'inetorgperson'].map((s) => `include /etc/ldap/schema/${s}.schema`);
  return [
    ...schemas,
    'modulepath /usr/lib/ldap',
    'moduleload back_mdb',
    'moduleload syncprov',
    `pidfile ${dir}/slapd.pid`,
    `argsfile ${dir}/slapd.args`,
    'sizelimit unlimited',
    'database mdb',
    `suffix "${SUFFIX}"`,
    `rootdn "${ROOT_DN}"`,
    `rootpw ${PASSWORD}`,
    `directory ${dir}/db`,
    'maxsize 1073741824',
    'dbnosync',
    'index objectClass eq',
    'index entryUUID eq',
    'index entryCSN eq',
    'index uid eq',
    'overlay syncprov',
    '',
  ].join('\n');
}

/** Starts slapd on a free port with the suffix and `ou=people` already in place. */
export async function startSlapd(): Promise<SlapdService> {
  const dir = tempDir('slapd');
  mkdirSync(`${dir}/db`);
  writeFileSync(`${dir}/slapd.conf`, slapdConf(dir));
  const port = await freePort();
  const url = `ldap://127.0.0.1:${port}/`;
  const launch = async () => {
    // A huge open-files limit makes slapd allocate per-descriptor tables up front; cap it.
    const { child, output } = spawnService('sh', ['-c', `ulimit -n 1024; exec /usr/sbin/slapd -d 0 -h ${url} -f ${dir}/slapd.conf`]);
    await waitForPort(port, child, output);
    return child;
  };
  let child = await launch();
  const seed = [
    `dn: ${SUFFIX}`, 'objectClass: dcObject', 'objectClass: organization', 'dc: example', 'o: Example', '',
    `dn: ou=people,${SUFFIX}`, 'objectClass: organizationalUnit', 'ou: people', '',
  ].join('\n');
  execFileSync('ldapadd', ['-x', '-H', url, '-D', ROOT_DN, '-w', PASSWORD], { input: seed, stdio: ['pipe', 'ignore', 'pipe'] });
  return {
    url, bindDn: ROOT_DN, password: PASSWORD, baseDn: SUFFIX,
    stop: () => stopChild(child, dir),
    halt: () => stopChild(child),
    restart: async () => {
      await stopChild(child);
      child = await launch();
    },
  };
}
