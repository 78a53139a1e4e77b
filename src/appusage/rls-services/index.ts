/**
 * rls-services application usage (RFC 4826 §4.4): resource list server services.
 *
 * Constraints (§4.4.5): a service `uri` is unique within the document (checked here) and
 * across every user's rls-services documents on this server (the URI is what a SUBSCRIBE
 * addresses): `serverUnique` gives the document's URIs to the store, which keeps them in a
 * table of their own and refuses a write whose URI another document holds;
 * a `<resource-list>` is an absolute HTTP URI of a `<list>` in the owner's resource-lists
 * documents below one of this server's XCAP roots (`UsageContext.roots`: `server.publicRoots`
 * and the root as the request reached it); an inline `<list>` follows the resource-lists rules.
 *
 * `global/index` is generated (§4.4.8): the union of the services of every user's
 * `index` document, read-only.
 */
import type { Element } from '@xmldom/xmldom';
import { DOMImplementation } from '@xmldom/xmldom';
import { ConstraintFailure, UniquenessFailure } from '../../xcap/errors.ts';
import { parseSelector } from '../../xcap/selector/parse.ts';
import { serialize } from '../../xcap/xml.ts';
import type { DocKey } from '../../store/types.ts';
import { childElements, rootElement } from '../common/dom.ts';
import { schemaAcceptedEdit, topLevelOf, type AcceptedEdit } from '../common/edit.ts';
import { schemaFile } from '../common/paths.ts';
import { parseStored } from '../common/stored.ts';
import { requireUniqueAttribute, step, uniquenessFailure, valueVariant } from '../common/unique.ts';
import { checkListChildren, checkListConstraints, refsHold, RESOURCE_LISTS_NS } from '../resource-lists/index.ts';
import { loadSchema } from '../schema.ts';
import type { AppUsage, UsageContext } from '../types.ts';

export const RLS_SERVICES_NS = 'urn:ietf:params:xml:ns:rls-services';
const AUID = 'rls-services';

const schema = loadSchema(schemaFile('rls-services/rls-services.xsd'), {
  imports: [schemaFile('resource-lists/resource-lists.xsd'), schemaFile('common/xml.xsd')],
});

function serviceUris(root: Element): string[] {
  return childElements(root, RLS_SERVICES_NS, 'service').map((s) => s.getAttribute('uri') ?? '');
}

const stepOf = (i: number): string => `rls-services/${step('service', i)}`;

/** How many variants of a taken URI are looked up for the suggested alternatives. */
const ALTERNATIVES_LOOKED_UP = 20;

/**
 * §4.4.5: a `<resource-list>` is an absolute HTTP URI of a `<list>` element in the
 * resource-lists usage below this server's XCAP root, in the home directory of the user
 * owning this rls-services document (of any user when the document is in the global tree).
 */
function checkResourceList(value: string, ctx: UsageContext): void {
  const ref = ctx.roots.resolve(value);
  if (ref === undefined) {
    throw new ConstraintFailure(`resource-list ${value} must be an HTTP URI below this server's XCAP root (${ctx.roots.describe()})`);
  }
  if (ref.auid !== 'resource-lists') {
    throw new ConstraintFailure(`resource-list ${value} must name a resource-lists document, not ${ref.auid}`);
  }
  const owner = ctx.key.xui;
  if (owner === null ? ref.xui === null : ref.xui !== owner) {
    throw new ConstraintFailure(
      owner === null
        ? `resource-list ${value} must name a list in a user's home directory`
        : `resource-list ${value} must name a list of ${owner}, the owner of this rls-services document`,
    );
  }
  if (!selectsList(ref.selector, ref.namespaces)) {
    throw new ConstraintFailure(`resource-list ${value} must select a <list> element (.../~~/resource-lists/list[@name="..."])`);
  }
}

/** Whether the node selector's last step is an element named `list` in the resource-lists namespace. */
function selectsList(selector: string | null, namespaces: Record<string, string>): boolean {
  if (selector === null) return false;
  try {
    const sel = parseSelector(selector, namespaces, RESOURCE_LISTS_NS);
    const last = sel.steps[sel.steps.length - 1];
    return sel.terminal === null && last?.ns === RESOURCE_LISTS_NS && last.local === 'list';
  } catch {
    return false;
  }
}

/** The `<resource-list>` rule of one service, when it names its members by reference. */
function checkServiceReference(service: Element, ctx: UsageContext): void {
  const ref = childElements(service, RLS_SERVICES_NS, 'resource-list')[0];
  if (ref !== undefined) checkResourceList((ref.textContent ?? '').trim(), ctx);
}

/**
 * Whether the §4.4.5 rules hold after an edit the schema accepted from the part it changed:
 * the `<resource-list>` of every service (what one may name depends on the roots this request
 * reached the server by, so an unchanged one is checked again), the edited service's uri
 * among the services' when its start tag changed, and in its inline list the children's
 * keys where they changed (the schema's xs:unique keeps those of nested lists) and the ref
 * and anchor rules in the edited part. False sends the document to the whole check, which
 * words the failure.
 */
function editRulesHold({ edited, shallow }: AcceptedEdit, services: readonly Element[], ctx: UsageContext): boolean {
  const service = topLevelOf(edited);
  // The root replaced is the whole document; its start tag or children (a service removed) change no service's rules.
  if (service === undefined && !shallow) return false;
  try {
    for (const s of services) checkServiceReference(s, ctx);
    if (service === undefined || service.namespaceURI !== RLS_SERVICES_NS || service.localName !== 'service') return true;
    if (service === edited) requireUniqueAttribute(services, 'uri', stepOf);
    const list = childElements(service, RLS_SERVICES_NS, 'list')[0];
    if (list === undefined) return true;
    if (!shallow && (edited === service || edited === list)) {
      checkListConstraints(list, 'list');
      return true;
    }
    // The service's or the list's start tag, or one of their children removed: the list's keys and refs hold as they did.
    if (edited === service || edited === list) return true;
    let n = edited;
    while (n.parentNode !== list && n.parentNode !== service) n = n.parentNode as Element;
    if (n.parentNode === service) return true;
    if (n === edited) checkListChildren(list, 'list');
    return refsHold(edited, shallow);
  } catch (err) {
    if (err instanceof ConstraintFailure || err instanceof UniquenessFailure) return false;
    throw err;
  }
}

function isGlobalIndex(key: DocKey): boolean {
  return key.xui === null && key.path === 'index';
}

export const rlsServices: AppUsage = {
  auid: AUID,
  mimeType: 'application/rls-services+xml',
  defaultNamespace: RLS_SERVICES_NS,
  namespaces: [RLS_SERVICES_NS, RESOURCE_LISTS_NS],
  scopes: { global: true, users: true },

  async validate(doc, ctx) {
    const edit = schemaAcceptedEdit(schema, doc);
    if (edit === undefined) schema.validate(doc.text);
    const services = childElements(rootElement(doc.dom()), RLS_SERVICES_NS, 'service');
    if (edit !== undefined && editRulesHold(edit, services, ctx)) return;
    services.forEach((service, i) => {
      checkServiceReference(service, ctx);
      const list = childElements(service, RLS_SERVICES_NS, 'list')[0];
      if (list !== undefined) checkListConstraints(list, `${stepOf(i)}/list`);
    });
    requireUniqueAttribute(services, 'uri', stepOf);
  },

  serverUnique: {
    values(body) {
      const doc = parseStored(body);
      return doc ? serviceUris(rootElement(doc)) : [];
    },
    async failure(values, index, takenOf) {
      const uri = values[index] as string;
      const elsewhere = await takenOf(Array.from({ length: ALTERNATIVES_LOOKED_UP }, (_, n) => valueVariant(uri, n + 1)));
      const mine = new Set(values);
      return uniquenessFailure(`${stepOf(index)}/@uri`, uri, (v) => mine.has(v) || elsewhere.has(v));
    },
  },

  async generated(key, ctx) {
    if (!isGlobalIndex(key)) return undefined;
    const out = new DOMImplementation().createDocument(RLS_SERVICES_NS, 'rls-services', null);
    const union = rootElement(out);
    for await (const meta of ctx.store.list({ auid: AUID })) {
      if (meta.key.xui === null || meta.key.path !== 'index') continue;
      const stored = await ctx.store.get(meta.key);
      const doc = stored === undefined ? undefined : parseStored(stored.body);
      if (doc === undefined) continue;
      for (const service of childElements(rootElement(doc), RLS_SERVICES_NS, 'service')) {
        union.appendChild(out.importNode(service, true));
      }
    }
    return `<?xml version="1.0" encoding="UTF-8"?>\n${serialize(out)}`;
  },
};
