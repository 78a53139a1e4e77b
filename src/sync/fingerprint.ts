/**
 * The configuration a scope's sync state was built under, as one hash. The state (change
 * token, remembered items) describes what that configuration read; after a change of the
 * mapping, collection, direction, policy or the connector options that change what is read
 * (ConnectorKind.readOptions: the caller passes only those), a run reads both sides whole
 * instead of trusting it, so the new configuration applies to every item and not only to
 * those that change later. Schedule, `onXcapChange` and safety limits change when runs
 * happen or what they may do, not what they read: left out.
 */
import { createHash } from 'node:crypto';
import type { BindingConfig } from './binding.ts';

export function configFingerprint(binding: BindingConfig, connectorOptions: unknown): string {
  const { auid, target, mapping, connector, collection, direction, policy } = binding;
  const content = { auid, target, mapping, connector, collection, direction, policy, connectorOptions };
  return createHash('sha256').update(canonical(content)).digest('base64url');
}

/** JSON with object keys sorted, so equal configurations hash alike whatever the key order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    return `{${entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}
