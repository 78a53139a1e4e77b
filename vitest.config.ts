import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/services/global-setup.ts'],
    reporters: ['default', './test/reporter.ts'],
    // Hang guards only (no assertion reads a clock), sized for CI's two busy cores, where
    // a test that spawns CLI processes or makes hundreds of requests runs several times slower.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: 'forks',
  },
});
