/**
 * `${NAME}` and `${NAME:-default}` in the string values of the config file, replaced from
 * the environment before validation, so one file (deploy/xcap-bridge.example.yaml) runs
 * against another host or port unchanged. A value that is nothing but one reference takes
 * the type its replacement reads as in YAML (`everyMs: ${SYNC_EVERY_MS:-60000}` is a
 * number); a reference inside longer text stays text. Keys are never replaced.
 */
import { parse as parseYaml } from 'yaml';

const REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
const WHOLE = new RegExp(`^${REF.source}$`);

/** A reference to a variable that is unset and has no default, at the key path `path`. */
export interface UnsetRef {
  readonly path: string;
  readonly name: string;
}

/** Replaces the references in every string value of `tree` (in place); returns the unset ones. */
export function replaceEnvRefs(tree: Record<string, unknown>, env: NodeJS.ProcessEnv): UnsetRef[] {
  const unset: UnsetRef[] = [];
  const value = (name: string, fallback: string | undefined, path: string): string => {
    const v = env[name] ?? fallback;
    if (v === undefined) unset.push({ path, name });
    return v ?? '';
  };
  const visit = (node: unknown, path: string): unknown => {
    if (typeof node === 'string') {
      const whole = WHOLE.exec(node);
      if (whole) return typed(value(whole[1] as string, whole[2], path));
      return node.replace(REF, (_m, name: string, fallback: string | undefined) => value(name, fallback, path));
    }
    if (Array.isArray(node)) return node.map((v, i) => visit(v, `${path}[${i}]`));
    if (node !== null && typeof node === 'object') {
      const obj = node as Record<string, unknown>;
      for (const [k, v] of Object.entries(obj)) obj[k] = visit(v, path ? `${path}.${k}` : k);
    }
    return node;
  };
  visit(tree, '');
  return unset;
}

/** A number or boolean when the text reads as one in YAML; the text itself otherwise. */
function typed(text: string): unknown {
  try {
    const v: unknown = parseYaml(text);
    return typeof v === 'number' || typeof v === 'boolean' ? v : text;
  } catch {
    return text;
  }
}
