/**
 * Summary of V8 CPU profiles (node --cpu-prof): self time by function and inclusive time of
 * the heaviest frames, so a bench run's hot spots read in a terminal.
 *
 *   npx node bench/profile-top.ts file.cpuprofile [more.cpuprofile …] [--top N] [--from ms] [--to ms]
 *
 * --from/--to keep the samples of that window, in ms since the profile started.
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args.splice(at, 2)[1]) : fallback;
};
const top = option('--top', 30);
const from = option('--from', 0) * 1000;
const to = option('--to', Infinity) * 1000;

for (const file of args) {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  let at = 0;
  p.samples.forEach((id, i) => {
    const dt = p.timeDeltas[i] ?? 0;
    at += dt;
    if (at >= from && at < to) selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
  });
  const label = (n: Node) => `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/^.*\/(src|connectors|node_modules)\//, '$1/')}:${n.callFrame.lineNumber + 1}`;
  const self = new Map<string, number>();
  const incl = new Map<string, number>();
  let total = 0;
  for (const [id, us] of selfUs) {
    total += us;
    const n = byId.get(id) as Node;
    self.set(label(n), (self.get(label(n)) ?? 0) + us);
    // Inclusive: every distinct frame on the stack once.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const l = label(byId.get(cur) as Node);
      if (seen.has(l)) continue;
      seen.add(l);
      incl.set(l, (incl.get(l) ?? 0) + us);
    }
  }
  const show = (title: string, m: Map<string, number>) => {
    console.log(`\n${title}`);
    for (const [l, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${(us / 1000).toFixed(0).padStart(8)} ms ${((100 * us) / total).toFixed(1).padStart(5)}%  ${l}`);
  };
  console.log(`${file}: ${(total / 1000).toFixed(0)} ms sampled`);
  show('self time', self);
  show('inclusive time', incl);
}
