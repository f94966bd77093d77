import { defineConfig } from 'vitest/config';

/**
 * The proxy tests run twice: with one data-plane worker (like every other test) and with two
 * (SPEC §1a: every test passes with VAULTGATE_WORKERS=1 and =2). Only the files that send traffic
 * through the proxies are repeated, which keeps the second pass to a fraction of the suite;
 * `npx vitest run --project workers-1` (or `workers-2`) runs one pass alone.
 */
const PROXY_TESTS = [
  'test/inbound.*.test.ts',
  'test/outbound*.test.ts',
  'test/proxy.*.test.ts',
  'test/faults.upstream.test.ts',
];

export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests open real sockets and databases; two cores are all we have.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'workers-1',
          // VAULTGATE_TEST_WORKERS from the caller's environment, else 1 (test/helpers/vaultgate.ts).
          include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
        },
      },
      {
        extends: true,
        test: { name: 'workers-2', include: PROXY_TESTS, env: { VAULTGATE_TEST_WORKERS: '2' } },
      },
    ],
  },
});
