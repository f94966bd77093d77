import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSettings } from '../../src/config/settings.js';
import { createLogger, silentLogger } from '../../src/observability/logger.js';
import { startVaultgate, type StartOptions, type Vaultgate } from '../../src/server.js';

export interface TestVaultgate {
  vg: Vaultgate;
  dataDir: string;
  token: string;
  adminUrl: string;
  /** Calls the management API with the admin token; `path` is relative to /api/v1. */
  api(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<ApiResult>;
  stop(): Promise<void>;
}

export interface ApiResult {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON answers
  json: any;
  text: string;
}

/**
 * How many data-plane workers a test vaultgate runs, unless a test sets VAULTGATE_WORKERS itself:
 * VAULTGATE_TEST_WORKERS (the suite runs the proxy tests with 1 and with 2, see vitest.config.ts),
 * else 1 — the machines the suite runs on have few cores.
 */
export const TEST_WORKERS = process.env.VAULTGATE_TEST_WORKERS ?? '1';

/**
 * Starts a real vaultgate on free ports, with its own data dir: the control plane in this process,
 * its data-plane workers as real child processes running the compiled dist/ entry.
 */
export async function startTestVaultgate(
  env: Record<string, string> = {},
  options: { logLines?: string[]; schedulerTime?: StartOptions['schedulerTime'] } = {},
): Promise<TestVaultgate> {
  const dataDir = env.VAULTGATE_DATA_DIR ?? mkdtempSync(join(tmpdir(), 'vaultgate-test-'));
  const settings = loadSettings({
    VAULTGATE_DATA_DIR: dataDir,
    VAULTGATE_ADMIN_PORT: '0',
    VAULTGATE_INBOUND_PORT: '0',
    VAULTGATE_OUTBOUND_PORT: '0',
    VAULTGATE_OUTBOUND_TLS_PORT: '0',
    VAULTGATE_WORKERS: TEST_WORKERS,
    ...env,
  });
  const { logLines } = options;
  const logger = logLines ? createLogger('debug', {}, (line) => logLines.push(line)) : silentLogger;
  const vg = await startVaultgate(settings, {
    logger,
    logLevel: logLines ? 'debug' : 'error',
    testHooks: true,
    ...(options.schedulerTime ? { schedulerTime: options.schedulerTime } : {}),
  });
  const adminUrl = `http://127.0.0.1:${vg.ports.admin}`;
  const token = vg.adminToken.value;
  return {
    vg,
    dataDir,
    token,
    adminUrl,
    async api(method, path, body, headers = {}) {
      const res = await fetch(`${adminUrl}/api/v1${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.text();
      let json: unknown = undefined;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      return { status: res.status, headers: res.headers, json, text };
    },
    async stop() {
      await vg.stop(1000);
      if (!env.VAULTGATE_DATA_DIR) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
