/** Targets of issue 8 checked against the results, and the Markdown table of latest.md. */
import type { BenchResults, Scenario, SystemResult, TargetCheck } from './results.js';

function sys(scenario: Scenario | undefined, name: string): SystemResult | undefined {
  const r = scenario?.results[name];
  return r !== undefined && 'rps' in r ? (r as SystemResult) : undefined;
}

function num(scenario: Scenario | undefined, system: string, key: string): number | undefined {
  const v = scenario?.results[system]?.[key as keyof SystemResult];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function ratio(a: number | undefined, b: number | undefined): number | undefined {
  return a !== undefined && b !== undefined && b > 0 ? a / b : undefined;
}

function check(
  scenario: string,
  target: string,
  value: number | undefined,
  ok: (v: number) => boolean,
  show: (v: number) => string,
): TargetCheck {
  return value === undefined
    ? { scenario, target, value: 'not measured', met: null }
    : { scenario, target, value: show(value), met: ok(value) };
}

export function checkTargets(scenarios: readonly Scenario[]): TargetCheck[] {
  const by = (name: string): Scenario | undefined => scenarios.find((s) => s.name === name);
  const x = (v: number): string => `${v.toFixed(2)}×`;
  const out: TargetCheck[] = [];
  for (const name of ['inbound-keepalive', 'inbound-keepalive-all-cores']) {
    const s = by(name);
    out.push(
      check(
        name,
        'vaultgate req/s ≥ 0.8 × nginx',
        ratio(sys(s, 'vaultgate')?.rps, sys(s, 'nginx')?.rps),
        (v) => v >= 0.8,
        x,
      ),
    );
    out.push(
      check(
        name,
        'vaultgate p99 ≤ 1.5 × nginx',
        ratio(sys(s, 'vaultgate')?.p99_ms, sys(s, 'nginx')?.p99_ms),
        (v) => v <= 1.5,
        x,
      ),
    );
  }
  const nc = by('inbound-new-connections');
  out.push(
    check(
      'inbound-new-connections',
      'vaultgate req/s ≥ 0.8 × nginx',
      ratio(sys(nc, 'vaultgate')?.rps, sys(nc, 'nginx')?.rps),
      (v) => v >= 0.8,
      x,
    ),
  );
  const oi = by('outbound-intercept');
  out.push(
    check(
      'outbound-intercept',
      'vaultgate req/s ≥ 15 × mitmproxy',
      ratio(sys(oi, 'vaultgate')?.rps, sys(oi, 'mitmproxy')?.rps),
      (v) => v >= 15,
      x,
    ),
  );
  out.push(
    check(
      'outbound-intercept',
      'vaultgate req/s ≥ 0.8 × its inbound (same generator)',
      ratio(sys(oi, 'vaultgate')?.rps, sys(oi, 'vaultgate-inbound')?.rps),
      (v) => v >= 0.8,
      x,
    ),
  );
  const nh = by('outbound-new-hosts');
  out.push(
    check(
      'outbound-new-hosts',
      'median added latency of a new host ≤ 5 ms',
      num(nh, 'vaultgate', 'added_p50_ms'),
      (v) => v <= 5,
      (v) => `${v.toFixed(2)} ms`,
    ),
  );
  const sc = by('scale');
  out.push(
    check(
      'scale',
      'GET …/certificates ≤ 100 ms (p50)',
      num(sc, 'vaultgate', 'list_p50_ms'),
      (v) => v <= 100,
      (v) => `${v.toFixed(1)} ms`,
    ),
  );
  out.push(
    check(
      'scale',
      'cold start ≤ 5 s',
      num(sc, 'vaultgate', 'cold_start_ms'),
      (v) => v <= 5000,
      (v) => `${(v / 1000).toFixed(2)} s`,
    ),
  );
  out.push(
    check(
      'scale',
      'resident memory ≤ 300 MB',
      num(sc, 'vaultgate', 'rss_mb'),
      (v) => v <= 300,
      (v) => `${v.toFixed(0)} MB`,
    ),
  );
  return out;
}

const fmt = (v: number | null | undefined, digits = 0): string =>
  v === null || v === undefined || !Number.isFinite(v)
    ? '–'
    : v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function throughputTable(s: Scenario): string[] {
  const ref = sys(s, 'nginx') ?? sys(s, 'mitmproxy');
  const refName = sys(s, 'nginx') ? 'nginx' : 'mitmproxy';
  const lines = [
    `| system | workers | req/s | p50 ms | p99 ms | CPU s / 10k req | RSS MB | upstream conns / 10k | vs ${refName} |`,
    '|---|---|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const [name, raw] of Object.entries(s.results)) {
    const r = raw as SystemResult;
    const vs = ref && ref.rps > 0 ? `${(r.rps / ref.rps).toFixed(2)}×` : '–';
    lines.push(
      `| ${name} | ${r.workers} | ${fmt(r.rps)} | ${fmt(r.p50_ms, 2)} | ${fmt(r.p99_ms, 2)} | ${fmt(r.cpu_s_per_10k, 2)} | ${fmt(r.rss_mb)} | ${fmt(r.upstream_conns_per_10k, 1)} | ${vs} |`,
    );
  }
  return lines;
}

function keyValueTable(s: Scenario): string[] {
  const systems = Object.keys(s.results);
  const keys = [...new Set(systems.flatMap((n) => Object.keys(s.results[n] ?? {})))];
  const lines = [`| | ${systems.join(' | ')} |`, `|---|${systems.map(() => '--:').join('|')}|`];
  for (const key of keys) {
    lines.push(
      `| ${key} | ${systems.map((n) => String((s.results[n] as Record<string, unknown>)[key] ?? '–')).join(' | ')} |`,
    );
  }
  return lines;
}

export function renderMarkdown(results: BenchResults): string {
  const m = results.machine;
  const out = [
    `# vaultgate benchmarks (${results.mode} run)`,
    '',
    `${results.date} · ${m.cpus} CPUs (${m.cpu_model}) · ${m.memory_gb} GB · Node ${m.node} · ${m.openssl} · Linux ${m.kernel}`,
    '',
    `Command: \`${results.command}\` (${results.duration_s} s). Tools: ${Object.entries(m.tools)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}.`,
    '',
    `Pinning: ${results.pinning} 1-minute load average ${results.load_average.before} before, ${results.load_average.after} after.`,
    '',
    '## Targets',
    '',
    '| scenario | target | measured | met |',
    '|---|---|--:|:-:|',
    ...results.targets.map(
      (t) =>
        `| ${t.scenario} | ${t.target} | ${t.value} | ${t.met === null ? '–' : t.met ? 'yes' : '**no**'} |`,
    ),
    '',
  ];
  for (const s of results.scenarios) {
    out.push(
      `## ${s.name}`,
      '',
      `${s.description}. Generator: ${s.generator}; concurrency ${s.concurrency}; ${s.rounds} round(s)${s.duration_s ? ` of ${s.duration_s} s` : ''}; medians.`,
      '',
    );
    const first = Object.values(s.results)[0];
    if (first !== undefined)
      out.push(...(first && 'rps' in first ? throughputTable(s) : keyValueTable(s)), '');
    for (const [name, why] of Object.entries(s.skipped)) out.push(`- skipped ${name}: ${why}`);
    for (const note of s.notes) out.push(`- ${note}`);
    out.push('');
  }
  return `${out.join('\n').trimEnd()}\n`;
}
