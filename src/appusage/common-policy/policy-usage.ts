/**
 * The shape shared by usages whose documents are common-policy rulesets (RFC 4745):
 * pres-rules (RFC 5025) and org.openmobilealliance.pres-rules. Each supplies its schema
 * (which imports common-policy.xsd) and naming; the ruleset constraints live here.
 */
import { childElements, rootElement } from '../common/dom.ts';
import { schemaAcceptedEdit } from '../common/edit.ts';
import { requireUniqueAttribute, step } from '../common/unique.ts';
import type { SchemaValidator } from '../schema.ts';
import type { AppUsage } from '../types.ts';

export const COMMON_POLICY_NS = 'urn:ietf:params:xml:ns:common-policy';
export const AUTH_POLICY_MIME = 'application/auth-policy+xml';

export interface PolicyUsageOptions {
  readonly auid: string;
  readonly schema: SchemaValidator;
  /**
   * The default document namespace the usage's specification names (RFC 4825 §5.2): it is
   * the usage's own, not necessarily common-policy's (RFC 5025 names pres-rules').
   */
  readonly defaultNamespace: string;
  /** Namespaces beyond common-policy that the usage's schema defines. */
  readonly extraNamespaces: readonly string[];
  readonly canonicalPath?: (path: string) => string;
}

export function createPolicyUsage(opts: PolicyUsageOptions): AppUsage {
  // The field of a uniqueness-failure is a node selector read with the usage's default
  // namespace: where that is not common-policy's, `ruleset/rule` would select nothing, and
  // `*` steps say the same thing (a ruleset holds only rules).
  const ruleStep = opts.defaultNamespace === COMMON_POLICY_NS ? (i: number) => `ruleset/${step('rule', i)}` : (i: number) => `*/${step('*', i)}`;
  return {
    auid: opts.auid,
    mimeType: AUTH_POLICY_MIME,
    defaultNamespace: opts.defaultNamespace,
    namespaces: [...new Set([opts.defaultNamespace, COMMON_POLICY_NS, ...opts.extraNamespaces])],
    scopes: { global: false, users: true },
    ...(opts.canonicalPath ? { canonicalPath: opts.canonicalPath } : {}),

    validate(doc) {
      // An edit is judged from the part it changed. Rule ids are xs:ID, unique across the
      // document (libxml2 counts those in lax content too, which an edit's walk does not
      // see): an edit holding one (a rule PUT, a rule's attribute written) leaves the fast
      // path unsure, and the whole document is judged below. Without one, the ids stay unique.
      if (schemaAcceptedEdit(opts.schema, doc) !== undefined) return;
      // Rule ids are xs:ID, so the schema would reject a repeat too; checking first turns it
      // into a uniqueness-failure that suggests a free id (RFC 4745 §7: ids are unique).
      const root = rootElement(doc.dom());
      if (root.namespaceURI === COMMON_POLICY_NS && root.localName === 'ruleset') {
        const rules = childElements(root, COMMON_POLICY_NS, 'rule');
        requireUniqueAttribute(rules, 'id', ruleStep);
      }
      opts.schema.validate(doc.text);
    },
  };
}
