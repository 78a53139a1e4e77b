/** Locations of the schema files that ship next to the usages. */
import { join } from 'node:path';

const APPUSAGE_DIR = join(import.meta.dirname, '..');

/** Absolute path of a file below src/appusage/, e.g. `resource-lists/resource-lists.xsd`. */
export function schemaFile(relative: string): string {
  return join(APPUSAGE_DIR, relative);
}
