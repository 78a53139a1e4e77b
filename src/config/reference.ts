/**
 * The configuration reference (docs/configuration.md), generated from the one zod schema
 * so the docs cannot drift: every key with its type, default and description.
 * `npx xcap-bridge check-config --reference` prints it; a test compares it with the file.
 */
import { z } from 'zod';
import { connectorRegistry } from '../connectors.ts';
import { configSchema } from './schema.ts';

interface JsonSchema {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, JsonSchema>;
  additionalProperties?: JsonSchema | boolean;
  items?: JsonSchema;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  required?: string[];
}

interface Row {
  key: string;
  type: string;
  def: string;
  text: string;
}

export function configReference(): string {
  // The file's schema checks only `kind` per connector (the registry checks the rest), so
  // the reference documents every registered kind's own options in its place (`prefault`:
  // zod leaves a plain default out of the input JSON Schema once a value schema transforms).
  const kinds = connectorRegistry.all().map((k) => k.options);
  const connectors = z.record(z.string(), z.union(kinds)).prefault({}).describe(configSchema.shape.connectors.description ?? '');
  const documented = configSchema.extend({ connectors });
  const schema = z.toJSONSchema(documented, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const rows: Row[] = [];
  walk(schema, '', rows);
  return [
    '# Configuration reference',
    '',
    'Generated from `src/config/schema.ts` by `npx xcap-bridge check-config --reference`; do not edit by hand.',
    '',
    'Sources, later wins: these defaults, the YAML file (`--config FILE`, or `./xcap-bridge.yaml` when present),',
    'the environment (`DATABASE_URL`, `REDIS_URL`, `XCAP_BRIDGE_REDIS_CLUSTER` (`redis.cluster`, nodes separated by commas),',
    '`LOG_LEVEL`, `XCAP_BRIDGE_NONCE_SECRET`, `XCAP_BRIDGE_REALM`, `XCAP_BRIDGE_ALLOW_BASIC_OVER_HTTP`), then command-line',
    'flags. Relative paths in the file are relative to the file:',
    '`store.dataDir`, `usages.custom[].xsd`, `auth.htdigestFile`, `server.tls.*File` and every connector option whose name',
    'ends in `File` (`bindPasswordFile`, `tls.caFile`).',
    'A string value may use `${NAME}` or `${NAME:-default}`: the environment variable NAME, else the default (unset',
    'without a default is an error naming the key); a value that is only a reference reads as YAML (`"${N:-60000}"` is a number).',
    'Connector options are listed per kind (`connectors.<name> (kind: ldap)`); docs/connectors.md says how a kind is added,',
    'docs/sync.md how bindings use them.',
    '',
    '| key | type | default | meaning |',
    '|---|---|---|---|',
    ...rows.map((r) => `| \`${r.key}\` | ${r.type} | ${r.def} | ${r.text} |`),
    '',
  ].join('\n');
}

function walk(s: JsonSchema, path: string, rows: Row[]): void {
  const variants = s.oneOf ?? s.anyOf;
  // A choice of plain values (`all` | ... | boolean) is one row; a choice of mappings, one per variant.
  if (variants && !s.properties && variants.some((v) => v.properties)) {
    if (path) rows.push({ key: path, type: 'one of below', def: fmt(s.default), text: s.description ?? '' });
    walkVariants(s, path, rows);
    return;
  }
  if (s.properties) {
    if (path) rows.push({ key: path, type: 'mapping', def: fmt(s.default), text: s.description ?? '' });
    walkProps(s, path, rows);
    return;
  }
  if (s.type === 'array' && s.items?.properties) {
    rows.push({ key: path, type: 'list', def: fmt(s.default), text: s.description ?? '' });
    walkProps(s.items, `${path}[]`, rows);
    return;
  }
  if (s.type === 'object' && typeof s.additionalProperties === 'object') {
    rows.push({ key: path, type: 'map by name', def: fmt(s.default), text: s.description ?? '' });
    const value = s.additionalProperties;
    if (value.properties) walkProps(value, `${path}.<name>`, rows);
    else if (value.oneOf ?? value.anyOf) walkVariants(value, `${path}.<name>`, rows);
    return;
  }
  rows.push({ key: path, type: typeOf(s), def: fmt(s.default), text: s.description ?? '' });
}

/** Each variant's keys, labelled by its tag (`mapping (kind: elements)`). */
function walkVariants(s: JsonSchema, path: string, rows: Row[]): void {
  for (const v of s.oneOf ?? s.anyOf ?? []) {
    const tag = Object.entries(v.properties ?? {}).find(([, p]) => p.const !== undefined);
    const label = tag ? `${path} (${tag[0]}: ${String(tag[1].const)})` : path;
    walkProps(v, label, rows);
  }
}

function walkProps(s: JsonSchema, path: string, rows: Row[]): void {
  for (const [name, p] of Object.entries(s.properties ?? {})) {
    if (p.const !== undefined) continue;
    walk(p, path ? `${path}.${name}` : name, rows);
  }
}

function typeOf(s: JsonSchema): string {
  const variants = s.oneOf ?? s.anyOf;
  if (variants) return variants.map(typeOf).join(' \\| ');
  if (s.enum) return s.enum.map((e) => `\`${String(e)}\``).join(' \\| ');
  if (s.type === 'array') return `list of ${s.items ? typeOf(s.items) : 'any'}`;
  return Array.isArray(s.type) ? s.type.join(' \\| ') : (s.type ?? 'any');
}

function fmt(v: unknown): string {
  if (v === undefined) return '—';
  const json = JSON.stringify(v);
  return json === '{}' ? '(defaults below)' : `\`${json.replace(/\|/g, '\\|')}\``;
}
