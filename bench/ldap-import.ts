/**
 * LDAP initial import: read + map a 10,000-entry directory through the connector's first
 * changes() call (paged search, E.164 mapping, token), on a throwaway slapd.
 * Goal (issue 5): 10,000 entries into XCAP in under 5 s; this measures the LDAP half.
 *
 *   npx node bench/ldap-import.ts [count]
 */
import { startSlapd } from '../test/services/slapd.ts';
import { freshOu, ldapadd, ldapConnectorFor, peopleLdif } from '../test/connectors/ldap-fixtures.ts';

const count = Number(process.argv[2] ?? 10_000);
const targetMs = 5000;
const server = await startSlapd();
try {
  const ou = await freshOu(server);
  await ou.admin.unbind();
  const loadStart = performance.now();
  await ldapadd(server, peopleLdif(ou.dn, count));
  const loadMs = performance.now() - loadStart;

  const runs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const connector = ldapConnectorFor(server, ou.dn, { mapping: { uri: ['sip:{uid}@{domain}'], constants: { domain: 'example.com' }, defaultCountry: 'DE', fields: { phone: 'telephoneNumber', mail: 'mail', title: 'title' } } });
    const start = performance.now();
    const cs = await connector.changes!(ou.dn);
    runs.push(performance.now() - start);
    if (cs === 'token-expired' || cs.upserted.length !== count) throw new Error(`expected ${count} items`);
    const idleStart = performance.now();
    await connector.changes!(ou.dn, cs.token);
    if (i === 2) console.log(`unchanged run: ${(performance.now() - idleStart).toFixed(1)} ms (goal 50 ms)`);
    await connector.close();
  }
  const best = Math.min(...runs);
  console.log(`ldapadd of ${count} entries: ${loadMs.toFixed(0)} ms`);
  console.log(`read+map ${count} entries: best ${best.toFixed(0)} ms of ${runs.map((r) => r.toFixed(0)).join(', ')} ms`);
  console.log(`ratio vs ${targetMs} ms target: ${(best / targetMs).toFixed(3)} (${(targetMs / best).toFixed(1)}x headroom)`);
} finally {
  await server.stop();
}
