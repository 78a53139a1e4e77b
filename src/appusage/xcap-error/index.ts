/**
 * The xcap-error schema (RFC 4825 §11.2). Not an application usage that is served: the
 * schema checks that every 409 body the server renders is well-formed and valid.
 */
import { schemaFile } from '../common/paths.ts';
import { loadSchema } from '../schema.ts';

const schema = loadSchema(schemaFile('xcap-error/xcap-error.xsd'));

/** Throws `SchemaValidationError` (or `NotWellFormed`) when `text` is not a valid xcap-error body. */
export function validateXcapErrorBody(text: string): void {
  schema.validate(text);
}
