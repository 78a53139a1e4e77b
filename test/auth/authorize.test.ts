import { describe, expect, it } from 'vitest';
import { authorize } from '../../src/auth/authorize.ts';
import type { Access, Principal } from '../../src/appusage/types.ts';
import type { DocKey } from '../../src/store/types.ts';
import { Forbidden } from '../../src/xcap/errors.ts';

const alice: Principal = { xui: 'sip:alice@example.com', admin: false };
const admin: Principal = { xui: 'sip:root@example.com', admin: true };
const own: DocKey = { auid: 'resource-lists', xui: 'sip:alice@example.com', path: 'index' };
const ownOtherCase: DocKey = { auid: 'resource-lists', xui: 'sip:alice@EXAMPLE.com', path: 'index' };
const bobs: DocKey = { auid: 'resource-lists', xui: 'sip:bob@example.com', path: 'index' };
const upperUser: DocKey = { auid: 'resource-lists', xui: 'sip:Alice@example.com', path: 'index' };
const global: DocKey = { auid: 'xcap-caps', xui: null, path: 'index' };

const allowed = (p: Principal, k: DocKey, a: Access): boolean => {
  try {
    authorize(p, k, a);
    return true;
  } catch (err) {
    expect(err).toBeInstanceOf(Forbidden);
    return false;
  }
};

const principals = { alice, admin };
const keys = { own, ownOtherCase, bobs, upperUser, global };

describe('authorization (RFC 4825 §5.7 users tree, global tree)', () => {
  it.each([
    ['alice', 'own', 'read', true],
    ['alice', 'own', 'write', true],
    ['alice', 'ownOtherCase', 'write', true],
    ['alice', 'upperUser', 'read', false],
    ['alice', 'bobs', 'read', false],
    ['alice', 'bobs', 'write', false],
    ['alice', 'global', 'read', true],
    ['alice', 'global', 'write', false],
    ['admin', 'bobs', 'read', true],
    ['admin', 'bobs', 'write', true],
    ['admin', 'global', 'read', true],
    ['admin', 'global', 'write', true],
  ] as const)('%s on %s, %s: allowed=%s', (p, k, a, expected) => {
    expect(allowed(principals[p], keys[k], a)).toBe(expected);
  });
});
