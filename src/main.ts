import { readFileSync } from 'node:fs';
import { ConfigError, loadSettings, usage, type Settings } from './config/settings.js';
import { createLogger, flushLogs } from './observability/logger.js';
import { MasterKeyMismatchError } from './secrets/server-secrets.js';
import { startVaultgate, type Vaultgate } from './server.js';

/** A host for a URL: a wildcard bind is reached on loopback, an IPv6 literal goes in brackets. */
function urlHost(bound: string): string {
  if (bound === '0.0.0.0') return '127.0.0.1';
  if (bound === '::') return '[::1]';
  return bound.includes(':') ? `[${bound}]` : bound;
}

/** The start-up banner: where everything is, and the secrets this start just created (only those). */
function banner(settings: Settings, vg: Vaultgate): string {
  const scheme = settings.adminTls ? 'https' : 'http';
  const lines = [
    '',
    'vaultgate is running',
    `  Dashboard and API   ${scheme}://${urlHost(settings.adminHost)}:${vg.ports.admin}/`,
    vg.adminToken.created
      ? `  Admin token         ${vg.adminToken.value}   (shown once; also in ${settings.dataDir}/admin-token)`
      : `  Admin token         in ${settings.dataDir}/admin-token, VAULTGATE_ADMIN_TOKEN or VAULTGATE_ADMIN_TOKEN_FILE`,
  ];
  const dv = vg.defaultVault;
  if (dv) {
    lines.push(`  Default vault       ${dv.vaultId}`);
    if (vg.ports.inbound)
      lines.push(
        `  Inbound URL         https://${dv.inboundHost}:${vg.ports.inbound}/   (listening on ${urlHost(settings.inboundHost)})`,
      );
    if (vg.ports.outbound) {
      const password = dv.password ?? '<password shown at first start>';
      lines.push(
        `  Outbound proxy      HTTPS_PROXY=http://${dv.username}:${password}@${urlHost(settings.outboundHost)}:${vg.ports.outbound}`,
      );
      lines.push(`                      (clients trust GET /api/v1/vaults/${dv.vaultId}/outbound-ca)`);
    }
  }
  const at = (host: string, port: number): string => `${urlHost(host)}:${port}`;
  lines.push(
    `  Listeners           admin ${scheme}://${at(settings.adminHost, vg.ports.admin)}, inbound ${at(settings.inboundHost, vg.ports.inbound)}, outbound ${at(settings.outboundHost, vg.ports.outbound)}, outbound TLS ${at(settings.outboundHost, vg.ports.outbound_tls)}`,
    `  Ports               ${JSON.stringify(vg.ports)} (also in ${settings.dataDir}/ports.json)`,
    '',
  );
  return lines.join('\n') + '\n';
}

/** The package version, from the package.json beside the compiled tree (dist/src/main.js → ../../). */
function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/**
 * Exits once the log lines logged so far are written: stdout is written off the event loop
 * (src/observability/logger.ts), and process.exit() would drop what is still buffered.
 */
function exitAfterLogs(code: number): void {
  void flushLogs().then(() => process.exit(code));
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    // The settings, then the commands of the CLI (the same binary: bin/vaultgate.js).
    const { commandsOverview } = await import('./cli/help.js');
    process.stdout.write(`${usage()}\n${commandsOverview()}`);
    return;
  }
  if (argv.includes('--version') || argv.includes('-V')) {
    process.stdout.write(`vaultgate ${version()}\n`);
    return;
  }
  let settings: Settings;
  try {
    settings = loadSettings(process.env, argv);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`vaultgate: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(settings.logLevel);
  // The signal handlers go in before anything starts: a SIGTERM that arrives while the listeners
  // open, or just after the banner, must still drain and exit 0 — not kill the process with the
  // default action (and leave its workers to notice the broken IPC channel).
  let vg: Vaultgate | undefined;
  let stopSignal: string | undefined;
  const shutdown = (signal: string): void => {
    if (stopSignal) return;
    stopSignal = signal;
    if (!vg) return; // still starting: stopped as soon as it has started
    logger.info('shutting down', { signal });
    vg.stop(10_000).then(
      () => exitAfterLogs(0),
      (err: unknown) => {
        logger.error('shutdown failed', { err });
        exitAfterLogs(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  try {
    // Workers write their own JSON lines to the stdout they inherit: no log line crosses the IPC channel.
    vg = await startVaultgate(settings, { logger, logLevel: settings.logLevel, workerLogs: 'stdout' });
  } catch (err) {
    if (err instanceof ConfigError || err instanceof MasterKeyMismatchError) {
      process.stderr.write(`vaultgate: ${err.message}\n`);
      return exitAfterLogs(2);
    }
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      process.stderr.write(
        `vaultgate: a port is already in use (${(err as Error).message}); choose another with the VAULTGATE_*_PORT settings, or 0 for a free one.\n`,
      );
      return exitAfterLogs(2);
    }
    throw err;
  }
  if (stopSignal) {
    // A signal came while starting: stop now, without a banner for a process that is going away.
    const signal = stopSignal;
    stopSignal = undefined;
    shutdown(signal);
    return;
  }
  // Human text for the terminal, on stderr: stdout is the JSON log stream that shippers store, and
  // the banner can hold the admin token and a proxy password created at first start.
  process.stderr.write(banner(settings, vg));
  const running = vg;

  // Decision (issue 11): an exception that reaches the process is outside every request — the
  // request-path guards (src/proxy/http/errors.ts) end the requests that throw — so the state it
  // leaves is unknown (a timer, a pool, the snapshot holder half-updated). Log it, let in-flight
  // requests finish for a short grace, and exit 1 so the supervisor (systemd, Docker; for a
  // data-plane worker, the control plane, which replaces it) starts a clean process, rather than
  // carrying on in a state nothing was designed for.
  let crashing = false;
  const crash = (kind: string, err: unknown): void => {
    const e = err instanceof Error ? err : new Error(String(err));
    logger.error(`${kind} outside any request; stopping so that a clean process takes over`, {
      err: e,
      stack: e.stack
        ?.split('\n')
        .slice(1, 9)
        .map((l) => l.trim()),
    });
    if (crashing) return;
    crashing = true;
    // A hard deadline: a process in an unknown state may not manage a graceful stop. (process.exit
    // still writes the buffered log lines, synchronously: pino's exit hook.)
    setTimeout(() => process.exit(1), 3_000);
    void running.stop(2_000).finally(() => exitAfterLogs(1));
  };
  process.on('uncaughtException', (err) => crash('uncaught exception', err));
  process.on('unhandledRejection', (reason) => crash('unhandled promise rejection', reason));
}

main().catch((err: unknown) => {
  process.stderr.write(`vaultgate: could not start: ${(err as Error).message}\n`);
  exitAfterLogs(1);
});
