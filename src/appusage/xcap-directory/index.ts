/**
 * org.openmobilealliance.xcap-directory (OMA XDM): the generated, read-only document
 * `users/<xui>/directory.xml` listing the user's stored documents per auid with their
 * URI, ETag, last modification and size.
 */
import { escapeAttr } from '../../xcap/errors.ts';
import type { StoredDoc } from '../../store/types.ts';
import { schemaFile } from '../common/paths.ts';
import { readOnly } from '../common/read-only.ts';
import { loadSchema } from '../schema.ts';
import type { AppUsage } from '../types.ts';

export const XCAP_DIRECTORY_NS = 'urn:oma:xml:xdm:xcap-directory';
export const DIRECTORY_DOCUMENT = 'directory.xml';

const schema = loadSchema(schemaFile('xcap-directory/xcap-directory.xsd'));

export const xcapDirectory: AppUsage = {
  auid: 'org.openmobilealliance.xcap-directory',
  mimeType: 'application/vnd.oma.xcap-directory+xml',
  defaultNamespace: XCAP_DIRECTORY_NS,
  namespaces: [XCAP_DIRECTORY_NS],
  scopes: { global: false, users: true },
  authorize: readOnly,
  validate({ text }) {
    schema.validate(text);
  },

  async generated(key, ctx) {
    if (key.xui === null || key.path !== DIRECTORY_DOCUMENT) return undefined;
    const root = ctx.rootUri.endsWith('/') ? ctx.rootUri.slice(0, -1) : ctx.rootUri;
    const folders = new Map<string, string[]>();
    for await (const meta of ctx.store.list({ xui: key.xui })) {
      const doc = await ctx.store.get(meta.key);
      if (doc === undefined) continue; // deleted between listing and reading
      const entries = folders.get(meta.key.auid) ?? [];
      entries.push(entryXml(root, doc));
      folders.set(meta.key.auid, entries);
    }
    let xml = `<?xml version="1.0" encoding="UTF-8"?>\n<xcap-directory xmlns="${XCAP_DIRECTORY_NS}">\n`;
    for (const [auid, entries] of folders) {
      xml += `  <folder auid="${escapeAttr(auid)}">\n${entries.join('')}  </folder>\n`;
    }
    return `${xml}</xcap-directory>\n`;
  },
};

function entryXml(root: string, doc: StoredDoc): string {
  const uri = encodeURI(`${root}/${doc.key.auid}/users/${doc.key.xui ?? ''}/${doc.key.path}`);
  return (
    `    <entry uri="${escapeAttr(uri)}" etag="${escapeAttr(doc.etag)}"` +
    ` last-modified="${new Date(doc.modified).toISOString()}" size="${Buffer.byteLength(doc.body)}"/>\n`
  );
}
