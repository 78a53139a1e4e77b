#!/usr/bin/env node
// Entry point for `npx xcap-bridge`. The sources are TypeScript run by Node's type
// stripping (Node >= 22.13); npm scripts and npx put the project's Node 24 first on PATH.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 13)) {
  process.stderr.write(`xcap-bridge needs Node >= 22.13 (found ${process.versions.node}); run it through npx or npm so the bundled Node is used.\n`);
  process.exit(1);
}
// Compiled (and type-stripped) modules are cached on disk (os.tmpdir()/node-compile-cache;
// NODE_COMPILE_CACHE moves it, NODE_DISABLE_COMPILE_CACHE=1 turns it off): `serve` starts in
// about a third of the time from the second start on.
const { enableCompileCache } = await import('node:module');
enableCompileCache?.();
await import('../src/cli.ts');
