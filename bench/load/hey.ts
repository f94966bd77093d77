/**
 * hey (Debian package `hey`, written in Go): the second load generator of the outbound scenario, a
 * real-world client next to bench/load/tunnel-worker. With `-x http://user:password@proxy`, Go's
 * net/http opens one CONNECT tunnel per connection (Proxy-Authorization from the URL), does TLS
 * inside it and keeps it alive. hey does not verify the server certificate (its transport sets
 * InsecureSkipVerify), which costs every proxy the same; it cannot present a client certificate, so
 * there is no "direct" row with it.
 */
import { startPinned, which } from '../lib/proc.js';
import type { RunFigures } from '../lib/measure.js';

export function heyAvailable(): boolean {
  return which('hey') !== null;
}

export interface HeyOptions {
  url: string;
  /** Send every request through this forward proxy (CONNECT with Basic credentials). */
  proxy?: { port: number; username: string; password: string };
  /** Host header and SNI (`-host`), for vaultgate's inbound listener. */
  hostHeader?: string;
  connections: number;
  durationS: number;
  /** taskset list for hey, and how many CPUs that is (hey's -cpus, Go's GOMAXPROCS). */
  cpus: string | undefined;
  cpuCount: number;
}

/** Parses hey's summary (its only machine-readable output besides a line per request in CSV). */
export function parseHeySummary(text: string): RunFigures {
  const seconds = (label: RegExp): number => {
    const m = label.exec(text);
    return m ? Number(m[1]) : NaN;
  };
  const total = seconds(/Total:\s+([\d.]+) secs/);
  let ok = 0;
  let failed = 0;
  let firstError: string | undefined;
  const status = /Status code distribution:\n([\s\S]*?)(?:\n\n|$)/.exec(text)?.[1] ?? '';
  for (const m of status.matchAll(/\[(\d+)\]\s+(\d+) responses/g)) {
    if (Number(m[1]) >= 200 && Number(m[1]) < 300) ok += Number(m[2]);
    else {
      failed += Number(m[2]);
      firstError ??= `status ${m[1]}`;
    }
  }
  const errors = /Error distribution:\n([\s\S]*?)(?:\n\n|$)/.exec(text)?.[1] ?? '';
  for (const m of errors.matchAll(/\[(\d+)\]\s+(.*)/g)) {
    failed += Number(m[1]);
    firstError ??= (m[2] as string).slice(0, 200);
  }
  // hey prints a percentile only once its sample index reaches it: with fewer than ~100 answers
  // there is no 99 % line, and the slowest answer is the honest stand-in.
  const p99 = seconds(/99% in ([\d.]+) secs/);
  return {
    requests: ok,
    rps: total > 0 ? ok / total : 0,
    p50Ms: seconds(/50% in ([\d.]+) secs/) * 1000,
    p99Ms: (Number.isNaN(p99) ? seconds(/Slowest:\s+([\d.]+) secs/) : p99) * 1000,
    errors: failed,
    firstError,
  };
}

export async function runHey(opts: HeyOptions): Promise<RunFigures> {
  const args = [
    '-z',
    `${opts.durationS}s`,
    '-c',
    String(opts.connections),
    '-t',
    '10',
    '-disable-compression',
    '-cpus',
    String(opts.cpuCount),
  ];
  if (opts.proxy) {
    const user = `${encodeURIComponent(opts.proxy.username)}:${encodeURIComponent(opts.proxy.password)}`;
    args.push('-x', `http://${user}@127.0.0.1:${opts.proxy.port}`);
  }
  if (opts.hostHeader !== undefined) args.push('-host', opts.hostHeader);
  args.push(opts.url);
  // hey occasionally ends a run with one transport error and no summary at all (seen on a loaded
  // machine, after a run whose requests had all succeeded): that run measured nothing, so it is
  // run once more — said on stderr — rather than failing the whole bench.
  for (let attempt = 1; ; attempt++) {
    const started = startPinned('hey', args, { cpus: opts.cpus });
    const code = await new Promise<number | null>((resolve) => started.child.once('exit', (c) => resolve(c)));
    const out = started.output();
    if (code === 0 && out.includes('Summary:')) return parseHeySummary(out);
    if (attempt >= 2) throw new Error(`hey failed (${code}): ${out.slice(-2000)}`);
    process.stderr.write(
      `hey ended without a summary (${code}): ${out.slice(-300).trim()}; running it again\n`,
    );
  }
}
