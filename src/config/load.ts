/**
 * Builds the validated Config from defaults, a YAML file, the environment and flags.
 * Errors name the offending key (`server.port: expected number`) and the file.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { checkSyncConfig } from '../connectors.ts';
import { replaceEnvRefs } from './env-refs.ts';
import { configSchema, type Config } from './schema.ts';

/** Raised for any configuration problem; the CLI prints the message and exits 2. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Flag values that override the file (undefined = not given). */
export interface ConfigOverrides {
  host?: string;
  port?: number;
  dataDir?: string;
  store?: 'sqlite' | 'postgres';
  databaseUrl?: string;
  redisUrl?: string;
  logLevel?: string;
}

/** The default config file looked for in the working directory when `--config` is not given. */
export const DEFAULT_CONFIG_FILE = 'xcap-bridge.yaml';

type Tree = Record<string, unknown>;

export function loadConfig(file: string | undefined, overrides: ConfigOverrides = {}, env: NodeJS.ProcessEnv = process.env): Config & { file: string | undefined } {
  const path = file ?? (existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : undefined);
  let raw: Tree = {};
  if (path !== undefined) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
    }
    let parsed: unknown;
    try {
      parsed = parseYaml(text);
    } catch (err) {
      throw new ConfigError(`${path}: not valid YAML: ${(err as Error).message}`);
    }
    if (parsed !== null && parsed !== undefined && (typeof parsed !== 'object' || Array.isArray(parsed))) {
      throw new ConfigError(`${path}: the top level must be a mapping`);
    }
    raw = (parsed as Tree | null) ?? {};
    const unset = replaceEnvRefs(raw, env);
    if (unset.length) {
      throw new ConfigError(unset.map((u) => `${path}: ${u.path}: environment variable ${u.name} is not set (or give a default: \${${u.name}:-value})`).join('\n'));
    }
  }
  applyEnv(raw, env);
  applyOverrides(raw, overrides);
  const result = configSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(formatIssues(result.error, path));
  const config = result.data;
  const issues = checkSyncConfig(config.connectors, config.bindings);
  if (issues.length) throw new ConfigError(issues.map((i) => `${path ? `${path}: ` : ''}${i.path}: ${i.message}`).join('\n'));
  // Paths in the file are relative to the file, as operators expect.
  const base = path ? dirname(resolve(path)) : process.cwd();
  if (config.store.kind === 'sqlite') config.store.dataDir = resolve(overrides.dataDir ? process.cwd() : base, config.store.dataDir);
  for (const u of config.usages.custom) u.xsd = resolve(base, u.xsd);
  if (config.auth.htdigestFile) config.auth.htdigestFile = resolve(base, config.auth.htdigestFile);
  if (config.server.tls) resolveFileKeys(config.server.tls, base);
  for (const c of Object.values(config.connectors)) resolveFileKeys(c, base);
  return { ...config, file: path };
}

/** Connector options are the kinds' own; every key named `...File` (bindPasswordFile, tls.caFile) is a path. */
function resolveFileKeys(node: Tree, base: string): void {
  for (const [k, v] of Object.entries(node)) {
    if (typeof v === 'string' && k.endsWith('File')) node[k] = resolve(base, v);
    else if (v !== null && typeof v === 'object' && !Array.isArray(v)) resolveFileKeys(v as Tree, base);
  }
}

function section(raw: Tree, name: string): Tree {
  const cur = raw[name];
  if (cur === undefined || cur === null) {
    const fresh: Tree = {};
    raw[name] = fresh;
    return fresh;
  }
  return cur as Tree;
}

/** XCAP_BRIDGE_* variables (and the conventional REDIS_URL / DATABASE_URL / LOG_LEVEL). */
function applyEnv(raw: Tree, env: NodeJS.ProcessEnv): void {
  const redis = env.XCAP_BRIDGE_REDIS_URL ?? env.REDIS_URL;
  if (redis) section(raw, 'redis').url = redis;
  // Comma-separated, as a list cannot be one variable otherwise; the schema checks each node.
  const cluster = env.XCAP_BRIDGE_REDIS_CLUSTER;
  if (cluster) section(raw, 'redis').cluster = cluster.split(',').map((n) => n.trim());
  const db = env.XCAP_BRIDGE_DATABASE_URL ?? env.DATABASE_URL;
  if (db) raw.store = { kind: 'postgres', url: db };
  const level = env.XCAP_BRIDGE_LOG_LEVEL ?? env.LOG_LEVEL;
  if (level) section(raw, 'log').level = level;
  if (env.XCAP_BRIDGE_NONCE_SECRET) section(raw, 'auth').nonceSecret = env.XCAP_BRIDGE_NONCE_SECRET;
  if (env.XCAP_BRIDGE_REALM) section(raw, 'auth').realm = env.XCAP_BRIDGE_REALM;
  const basicOverHttp = env.XCAP_BRIDGE_ALLOW_BASIC_OVER_HTTP;
  // Anything but true/false goes to the schema as it is, whose error names the key.
  if (basicOverHttp) section(raw, 'auth').allowBasicOverHttp = basicOverHttp === 'true' ? true : basicOverHttp === 'false' ? false : basicOverHttp;
}

function applyOverrides(raw: Tree, o: ConfigOverrides): void {
  if (o.host !== undefined) section(raw, 'server').host = o.host;
  if (o.port !== undefined) section(raw, 'server').port = o.port;
  if (o.store === 'postgres' || o.databaseUrl !== undefined) {
    raw.store = { kind: 'postgres', url: o.databaseUrl ?? (raw.store as Tree | undefined)?.url };
  } else if (o.store === 'sqlite' || o.dataDir !== undefined) {
    const cur = raw.store as Tree | undefined;
    const sqlite = cur?.kind === 'sqlite' ? cur : {};
    raw.store = { ...sqlite, kind: 'sqlite', dataDir: o.dataDir ?? sqlite.dataDir ?? './data' };
  }
  if (o.redisUrl !== undefined) section(raw, 'redis').url = o.redisUrl;
  if (o.logLevel !== undefined) section(raw, 'log').level = o.logLevel;
}

function formatIssues(error: z.ZodError, path: string | undefined): string {
  const where = path ? `${path}: ` : '';
  return error.issues
    .map((i) => `${where}${i.path.length ? formatPath(i.path) : '(top level)'}: ${i.message}`)
    .join('\n');
}

function formatPath(p: readonly PropertyKey[]): string {
  return p.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? String(k) : `.${String(k)}`)).join('');
}
