/**
 * pres-rules application usage (RFC 5025 §9): presence authorization rules, a common-policy
 * ruleset (RFC 4745) with the presence actions and transformations.
 *
 * Clients disagree on the document name; `index`, `presrules`, `pres-rules` and
 * `index.xml` all reach the one stored document `index`. The default document namespace
 * (RFC 5025 §9) is pres-rules', so unprefixed selector steps never match the
 * common-policy `ruleset`: clients bind a prefix for it with xmlns().
 */
import { schemaFile } from '../common/paths.ts';
import { createPolicyUsage } from '../common-policy/policy-usage.ts';
import { loadSchema } from '../schema.ts';
import type { AppUsage } from '../types.ts';

export const PRES_RULES_NS = 'urn:ietf:params:xml:ns:pres-rules';

const ALIASES = new Set(['index', 'presrules', 'pres-rules', 'index.xml']);

const schema = loadSchema(schemaFile('pres-rules/pres-rules.xsd'), {
  imports: [schemaFile('common-policy/common-policy.xsd')],
});

export const presRules: AppUsage = createPolicyUsage({
  auid: 'pres-rules',
  schema,
  defaultNamespace: PRES_RULES_NS,
  extraNamespaces: [PRES_RULES_NS],
  canonicalPath: (path) => (ALIASES.has(path) ? 'index' : path),
});
