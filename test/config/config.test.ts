import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load.ts';
import { configReference } from '../../src/config/reference.ts';

function configFile(yaml: string): string {
  const f = join(mkdtempSync(join(tmpdir(), 'xcapb-cfg-')), 'xcap-bridge.yaml');
  writeFileSync(f, yaml);
  return f;
}

/** One LDAP connector as an operator writes it (the mapping line is replaced by some tests). */
const LDAP_CONNECTOR = [
  'connectors:',
  '  corp:',
  '    kind: ldap',
  '    url: ldap://127.0.0.1:3389',
  '    bindDn: cn=admin,dc=example,dc=com',
  '    bindPasswordEnv: LDAP_PASSWORD',
  '    baseDn: ou=people,dc=example,dc=com',
  '    mapping: { uri: "sip:{uid}@{domain}", constants: { domain: example.com } }',
  '',
].join('\n');

describe('configuration', () => {
  it('docs/configuration.md is the reference generated from the schema', () => {
    const file = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'configuration.md'), 'utf8');
    expect(file).toBe(configReference());
  });

  it('defaults give an embedded SQLite store under ./data and port 8080', () => {
    const c = loadConfig(undefined, {}, {});
    expect(c.server).toMatchObject({ host: '127.0.0.1', port: 8080, root: '/xcap-root', maxBodyBytes: 1048576 });
    expect(c.store.kind).toBe('sqlite');
    expect(c.store.kind === 'sqlite' && c.store.dataDir).toBe(join(process.cwd(), 'data'));
  });

  it('names the bad key and the file', () => {
    const f = configFile('server:\n  port: "eighty"\n  hots: x\n');
    let err: unknown;
    try {
      loadConfig(f, {}, {});
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain(`${f}: server.port:`);
    expect((err as Error).message).toContain('hots');
  });

  it('refuses YAML that does not parse, and a top level that is not a mapping', () => {
    expect(() => loadConfig(configFile('server: [\n'), {}, {})).toThrow(/not valid YAML/);
    expect(() => loadConfig(configFile('- a\n- b\n'), {}, {})).toThrow(/top level must be a mapping/);
  });

  it('flags beat the environment, which beats the file; paths are relative to the file', () => {
    const f = configFile('server: { port: 9000 }\nstore: { kind: sqlite, dataDir: ./docs }\nlog: { level: warn }\n');
    const fromFile = loadConfig(f, {}, {});
    expect(fromFile.server.port).toBe(9000);
    expect(fromFile.store.kind === 'sqlite' && fromFile.store.dataDir).toBe(join(f, '..', 'docs'));
    expect(loadConfig(f, {}, { LOG_LEVEL: 'debug' }).log.level).toBe('debug');
    expect(loadConfig(f, { port: 9100, logLevel: 'error' }, { LOG_LEVEL: 'debug' })).toMatchObject({ server: { port: 9100 }, log: { level: 'error' } });
    const pg = loadConfig(f, {}, { DATABASE_URL: 'postgres://u:p@db/x' });
    expect(pg.store).toEqual({ kind: 'postgres', url: 'postgres://u:p@db/x' });
  });

  it('XCAP_BRIDGE_REDIS_CLUSTER gives redis.cluster, nodes separated by commas, each checked as in the file', () => {
    const f = configFile('redis: { cluster: ["10.0.0.9:7000"], prefix: q }\n');
    const c = loadConfig(f, {}, { XCAP_BRIDGE_REDIS_CLUSTER: '10.0.0.1:7000, redis://u:p@10.0.0.2:7001' });
    expect(c.redis).toMatchObject({ cluster: ['10.0.0.1:7000', 'redis://u:p@10.0.0.2:7001'], prefix: 'q' });
    expect(() => loadConfig(f, {}, { XCAP_BRIDGE_REDIS_CLUSTER: '10.0.0.1:7000,,' })).toThrow(/redis\.cluster\[1\]: expected host:port/);
  });

  it('${NAME} and ${NAME:-default} in values come from the environment; a lone reference keeps its YAML type; an unset one names the key', () => {
    const f = configFile('server: { host: "${HOST:-127.0.0.2}", port: "${PORT}" }\nauth: { defaultDomain: "sip.${DOMAIN}" }\n');
    const c = loadConfig(f, {}, { PORT: '9001', DOMAIN: 'example.org' });
    expect(c.server).toMatchObject({ host: '127.0.0.2', port: 9001 });
    expect(c.auth.defaultDomain).toBe('sip.example.org');
    expect(() => loadConfig(f, {}, { DOMAIN: 'example.org' })).toThrow(`${f}: server.port: environment variable PORT is not set`);
  });

  it('relative file keys of connectors (bindPasswordFile, tls.caFile) are relative to the config file', () => {
    const f = configFile(LDAP_CONNECTOR.replace('bindPasswordEnv: LDAP_PASSWORD', 'bindPasswordFile: secrets/ldap-password\n    tls: { caFile: ../ca.pem }'));
    const corp = loadConfig(f, {}, {}).connectors.corp as { bindPasswordFile?: string; tls?: { caFile?: string } };
    expect(corp.bindPasswordFile).toBe(join(f, '..', 'secrets', 'ldap-password'));
    expect(corp.tls?.caFile).toBe(join(f, '..', '..', 'ca.pem'));
  });

  it('an LDAP uri placeholder that is neither a constant nor an LDAP attribute the mapping knows is refused, naming the fix', () => {
    const noDomain = configFile(LDAP_CONNECTOR.replace(/ {4}mapping:.*\n/, ''));
    expect(() => loadConfig(noDomain, {}, {})).toThrow(/connectors\.corp\.mapping\.uri\.0: placeholder \{domain\} in "sip:\{uid\}@\{domain\}" .*add mapping\.constants\.domain/);
    const custom = configFile(LDAP_CONNECTOR.replace('sip:{uid}@{domain}', 'sip:{sipUser}@{domain}'));
    expect(() => loadConfig(custom, {}, {})).toThrow(/placeholder \{sipUser\}/);
    // Mapped in fields, it is an attribute the mapping knows.
    const mapped = configFile(LDAP_CONNECTOR.replace('sip:{uid}@{domain}', 'sip:{sipUser}@{domain}').replace('constants:', 'fields: { sip: sipUser }, constants:'));
    expect(loadConfig(mapped, {}, {}).connectors.corp).toBeDefined();
    expect(loadConfig(configFile(LDAP_CONNECTOR), {}, {}).connectors.corp).toBeDefined();
  });

  it('checks connectors and bindings at load time, pointing at the key', () => {
    const f = configFile('connectors:\n  corp: { kind: nosuch }\nbindings: []\n');
    expect(() => loadConfig(f, {}, {})).toThrow(/connectors\.corp\.kind: unknown connector kind nosuch/);
  });

  it('refuses a binding that writes to a read-only connector, naming the binding key (capabilities known without connecting)', () => {
    // Nothing listens on port 1: the check must not need the directory.
    const yaml = (direction: string, write: string) =>
      `connectors:\n  corp: { kind: ldap, url: "ldap://127.0.0.1:1", baseDn: "dc=example,dc=com", mapping: { constants: { domain: example.com } }${write} }\n` +
      `bindings:\n  - { name: dir, auid: resource-lists, target: { scope: global }, mapping: { kind: resource-lists }, connector: corp, collection: "dc=example,dc=com", direction: ${direction} }\n`;
    for (const direction of ['push', 'both']) {
      expect(() => loadConfig(configFile(yaml(direction, '')), {}, {})).toThrow(new RegExp(`bindings\\[0\\]\\.direction: direction ${direction} writes to connector corp, which is read-only`));
    }
    expect(loadConfig(configFile(yaml('pull', '')), {}, {}).bindings[0]?.direction).toBe('pull');
    expect(loadConfig(configFile(yaml('both', ', write: { enabled: true }')), {}, {}).bindings[0]?.direction).toBe('both');
  });

  it('the reference documents every option of every registered connector kind', () => {
    const ref = configReference();
    for (const key of ['(kind: ldap).url', '(kind: ldap).write.enabled', '(kind: ldap).mapping.fields', '(kind: memory).collections']) {
      const row = ref.split('\n').find((l) => l.startsWith(`| \`connectors.<name> ${key}\``));
      expect(row, key).toBeDefined();
      expect(row, key).not.toMatch(/\|\s*\|$/);
    }
  });
});
