/**
 * org.openmobilealliance.pres-content (OMA Presence Content XDM): a user's avatar as a
 * `<content>` document with the image base64-encoded in `<data>`.
 *
 * Beyond the schema: documents are at most `maxDocumentBytes`; the encoding is base64; the
 * image is JPEG, PNG or GIF, and its first bytes match the declared `<mime-type>` (a
 * declared type that lies, or a payload that is no image, is a constraint-failure).
 */
import { ConstraintFailure } from '../../xcap/errors.ts';
import { childText, rootElement } from '../common/dom.ts';
import { schemaAcceptedEdit, topLevelOf } from '../common/edit.ts';
import { schemaFile } from '../common/paths.ts';
import { loadSchema } from '../schema.ts';
import type { AppUsage } from '../types.ts';

export const PRES_CONTENT_NS = 'urn:oma:xml:prs:pres-content';

/** Default limit for a pres-content document: 300 KiB. */
export const DEFAULT_PRES_CONTENT_MAX_BYTES = 300 * 1024;

const schema = loadSchema(schemaFile('pres-content/pres-content.xsd'), { imports: [schemaFile('common/xml.xsd')] });

/** Allowed image types and the bytes their files start with. */
const SIGNATURES: ReadonlyArray<{ mime: string; magic: readonly number[] }> = [
  { mime: 'image/jpeg', magic: [0xff, 0xd8, 0xff] },
  { mime: 'image/png', magic: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] },
  { mime: 'image/gif', magic: [0x47, 0x49, 0x46, 0x38] },
];

/** The children of `<content>` the image rules read. */
const IMAGE_FIELDS = new Set(['mime-type', 'encoding', 'data']);

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export interface PresContentOptions {
  /** Largest accepted document in bytes. @defaultValue 300 KiB */
  readonly maxDocumentBytes?: number;
}

export function createPresContentUsage(opts: PresContentOptions = {}): AppUsage {
  return {
    auid: 'org.openmobilealliance.pres-content',
    mimeType: 'application/vnd.oma.pres-content+xml',
    defaultNamespace: PRES_CONTENT_NS,
    namespaces: [PRES_CONTENT_NS],
    scopes: { global: false, users: true },
    maxDocumentBytes: opts.maxDocumentBytes ?? DEFAULT_PRES_CONTENT_MAX_BYTES,

    validate(doc) {
      const edit = schemaAcceptedEdit(schema, doc);
      if (edit === undefined) schema.validate(doc.text);
      else {
        // An edit of a description or an extension leaves the image rules as they held.
        const top = topLevelOf(edit.edited);
        if (top !== undefined && (top.namespaceURI !== PRES_CONTENT_NS || !IMAGE_FIELDS.has(top.localName ?? ''))) return;
      }
      const root = rootElement(doc.dom());
      const encoding = childText(root, PRES_CONTENT_NS, 'encoding');
      if (encoding !== undefined && encoding.toLowerCase() !== 'base64') {
        throw new ConstraintFailure(`encoding ${encoding} is not supported; use base64`);
      }
      const image = decodeBase64(childText(root, PRES_CONTENT_NS, 'data') ?? '');
      const detected = SIGNATURES.find((s) => s.magic.every((b, i) => image[i] === b));
      if (detected === undefined) throw new ConstraintFailure('data is not a JPEG, PNG or GIF image');
      const declared = childText(root, PRES_CONTENT_NS, 'mime-type')?.toLowerCase();
      if (declared !== undefined && declared !== detected.mime) {
        throw new ConstraintFailure(`mime-type ${declared} does not match the image data (${detected.mime})`);
      }
    },
  };
}

function decodeBase64(text: string): Buffer {
  const compact = text.replace(/\s+/g, '');
  if (compact.length % 4 !== 0 || !BASE64.test(compact)) throw new ConstraintFailure('data is not valid base64');
  return Buffer.from(compact, 'base64');
}
