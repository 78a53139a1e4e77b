/**
 * org.openmobilealliance.pres-rules (OMA Presence SIMPLE XDM): the RFC 5025 ruleset plus
 * the OMA common-policy conditions (external-list, anonymous-request, other-identity).
 * Other OMA extension elements pass through the lax wildcards of the IETF schemas.
 * OMA's Presence SIMPLE XDM specification names common-policy as the default document
 * namespace, so `ruleset/rule` selects without prefixes here (unlike IETF pres-rules).
 */
import { schemaFile } from '../common/paths.ts';
import { COMMON_POLICY_NS, createPolicyUsage } from '../common-policy/policy-usage.ts';
import { PRES_RULES_NS } from '../pres-rules/index.ts';
import { loadSchema } from '../schema.ts';
import type { AppUsage } from '../types.ts';

export const OMA_COMMON_POLICY_NS = 'urn:oma:xml:xdm:common-policy';
/** OMA's own presence-rules extension namespace (provide-willingness and friends; validated laxly). */
export const OMA_PRES_RULES_NS = 'urn:oma:xml:prs:pres-rules';

const schema = loadSchema(schemaFile('oma-pres-rules/oma-common-policy.xsd'), {
  imports: [schemaFile('pres-rules/pres-rules.xsd'), schemaFile('common-policy/common-policy.xsd')],
});

export const omaPresRules: AppUsage = createPolicyUsage({
  auid: 'org.openmobilealliance.pres-rules',
  schema,
  defaultNamespace: COMMON_POLICY_NS,
  extraNamespaces: [PRES_RULES_NS, OMA_COMMON_POLICY_NS, OMA_PRES_RULES_NS],
});
