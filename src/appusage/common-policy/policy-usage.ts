/**
 * The shape shared by usages whose documents are common-policy rulesets (RFC 4745):
 * pres-rules (RFC 5025) and org.openmobilealliance.pres-rules. Each supplies its schema
 * (which imports common-policy.xsd) and naming; the ruleset constraints live here.
 */
import { childElements, rootElement } from '../common/dom.ts';
import { requireUniqueAttribute, step } from '../common/unique.ts';
import type { SchemaValidator } from '../schema.ts';
import type { AppUsage } from '../types.ts';

export const COMMON_POLICY_NS = 'urn:ietf:params:xml:ns:common-policy';
export const AUTH_POLICY_MIME = 'application/auth-policy+xml';

export interface PolicyUsageOptions {
  readonly auid: string;
  readonly schema: SchemaValidator;
  /** Namespaces beyond common-policy that the usage's schema defines. */
  readonly extraNamespaces: readonly string[];
  readonly canonicalPath?: (path: string) => string;
}

export function createPolicyUsage(opts: PolicyUsageOptions): AppUsage {
  return {
    auid: opts.auid,
    mimeType: AUTH_POLICY_MIME,
    defaultNamespace: COMMON_POLICY_NS,
    namespaces: [COMMON_POLICY_NS, ...opts.extraNamespaces],
    scopes: { global: false, users: true },
    ...(opts.canonicalPath ? { canonicalPath: opts.canonicalPath } : {}),

    validate(doc) {
      // Rule ids are xs:ID, so the schema would reject a repeat too; checking first turns it
      // into a uniqueness-failure that suggests a free id (RFC 4745 §7: ids are unique).
      const root = rootElement(doc.dom());
      if (root.namespaceURI === COMMON_POLICY_NS && root.localName === 'ruleset') {
        const rules = childElements(root, COMMON_POLICY_NS, 'rule');
        requireUniqueAttribute(rules, 'id', (i) => `ruleset/${step('rule', i)}`);
      }
      opts.schema.validate(doc.text);
    },
  };
}
