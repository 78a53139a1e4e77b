/**
 * pidf-manipulation application usage (RFC 4827): a user's published presence as a PIDF
 * document (RFC 3863); extensions such as RPID are accepted through lax wildcards.
 */
import { schemaAcceptedEdit } from '../common/edit.ts';
import { schemaFile } from '../common/paths.ts';
import { loadSchema } from '../schema.ts';
import type { AppUsage } from '../types.ts';

export const PIDF_NS = 'urn:ietf:params:xml:ns:pidf';

const schema = loadSchema(schemaFile('pidf-manipulation/pidf.xsd'), { imports: [schemaFile('common/xml.xsd')] });

export const pidfManipulation: AppUsage = {
  auid: 'pidf-manipulation',
  mimeType: 'application/pidf+xml',
  defaultNamespace: PIDF_NS,
  namespaces: [PIDF_NS],
  scopes: { global: false, users: true },
  validate(doc) {
    // A tuple's id is an xs:ID, unique across the document: an edit holding one (a tuple
    // PUT, a tuple's attribute) leaves the fast path unsure and the whole text is judged.
    if (schemaAcceptedEdit(schema, doc) !== undefined) return;
    schema.validate(doc.text);
  },
};
