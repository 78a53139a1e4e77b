/**
 * xcap-caps application usage (RFC 4825 §12): the server's capabilities, generated from the
 * registry as `global/index` (auids, extensions, namespaces). Read-only. Clients such as
 * Jitsi fetch it first and parse it strictly, so the output is valid against
 * xcap-caps.xsd by construction (and by test).
 */
import { escapeText, XCAP_ERROR_NS } from '../../xcap/errors.ts';
import { schemaFile } from '../common/paths.ts';
import { readOnly } from '../common/read-only.ts';
import { loadSchema } from '../schema.ts';
import type { AppUsage } from '../types.ts';

export const XCAP_CAPS_NS = 'urn:ietf:params:xml:ns:xcap-caps';

const schema = loadSchema(schemaFile('xcap-caps/xcap-caps.xsd'));

/**
 * Builds the usage. `usages` returns every usage the server serves (this one included) once
 * the registry is complete; the document is rendered on first request and kept.
 */
export function createXcapCapsUsage(usages: () => readonly AppUsage[], extensions: readonly string[] = []): AppUsage {
  let body: string | undefined;
  const render = (): string => {
    const all = usages();
    const namespaces = [...new Set([...all.flatMap((u) => u.namespaces), XCAP_ERROR_NS])];
    const list = (outer: string, inner: string, values: readonly string[]): string =>
      values.length === 0
        ? `  <${outer}/>\n`
        : `  <${outer}>\n${values.map((v) => `    <${inner}>${escapeText(v)}</${inner}>\n`).join('')}  </${outer}>\n`;
    return (
      '<?xml version="1.0" encoding="UTF-8"?>\n' +
      `<xcap-caps xmlns="${XCAP_CAPS_NS}">\n` +
      list('auids', 'auid', all.map((u) => u.auid)) +
      list('extensions', 'extension', extensions) +
      list('namespaces', 'namespace', namespaces) +
      '</xcap-caps>\n'
    );
  };
  return {
    auid: 'xcap-caps',
    mimeType: 'application/xcap-caps+xml',
    defaultNamespace: XCAP_CAPS_NS,
    namespaces: [XCAP_CAPS_NS],
    scopes: { global: true, users: false },
    authorize: readOnly,
    validate({ text }) {
      schema.validate(text);
    },
    async generated(key) {
      if (key.xui !== null || key.path !== 'index') return undefined;
      return (body ??= render());
    },
  };
}
