/** Authorization for usages whose documents are all generated: anyone may read, nobody writes. */
import type { Access } from '../types.ts';

export function readOnly(_principal: unknown, _key: unknown, access: Access): boolean {
  return access === 'read';
}
