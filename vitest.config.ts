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

/**
 * The files that load both cores for a minute or more on their own: the release test (a real `npm
 * install` of the packed tarball, compiling better-sqlite3) and the reliability runs (floods of
 * connections, hostile key derivations). They run last, one at a time, so that they never starve
 * the start-up of the vaultgates other files are waiting for.
 */
const HEAVY_TESTS = ['test/release.pack.test.ts', 'test/reliability.*.test.ts'];

export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    // Above the supervisor's 60 s worker start limit, so a worker that cannot start fails the hook
    // with its own message (src/dataplane/supervisor.ts) rather than with a bare hook timeout.
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'workers-1',
          // VAULTGATE_TEST_WORKERS from the caller's environment, else 1 (test/helpers/vaultgate.ts).
          include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: HEAVY_TESTS,
          // Integration tests open real sockets and databases; two cores are all we have.
          maxWorkers: 2,
        },
      },
      {
        extends: true,
        test: {
          name: 'workers-2',
          include: PROXY_TESTS,
          env: { VAULTGATE_TEST_WORKERS: '2' },
          maxWorkers: 2,
        },
      },
      {
        extends: true,
        test: {
          name: 'heavy',
          include: HEAVY_TESTS,
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
