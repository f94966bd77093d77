/** Targets of issues 12 and 14 checked against the results, and the Markdown of latest.md. */
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

/** The targets of issue 12 in its table's order (and issue 14's), checked against the medians of this run. */
export function checkTargets(scenarios: readonly Scenario[]): TargetCheck[] {
  const by = (name: string): Scenario | undefined => scenarios.find((s) => s.name === name);
  const x = (v: number): string => `${v.toFixed(2)}×`;
  const ms = (v: number): string => `${v.toFixed(2)} ms`;
  const mb = (v: number): string => `${v.toFixed(0)} MB`;
  const out: TargetCheck[] = [];
  const add = (t: TargetCheck): void => {
    const loaded = by(t.scenario)?.load?.loaded;
    out.push(loaded === undefined ? t : { ...t, loaded });
  };
  const rpsRatio = (s: Scenario | undefined, a: string, b: string): number | undefined =>
    ratio(sys(s, a)?.rps, sys(s, b)?.rps);
  /** A vaultgate that served from one process cannot be the "2 workers" the all-cores target means. */
  const oneProcess = (s: Scenario | undefined): string | undefined =>
    sys(s, 'vaultgate')?.workers.includes('not used')
      ? 'vaultgate ran as one process (this build ignores VAULTGATE_WORKERS)'
      : undefined;

  const ka = by('inbound-keepalive');
  add(
    check(
      'inbound-keepalive',
      '1 worker pinned: vaultgate req/s ≥ 0.9 × node-reference',
      rpsRatio(ka, 'vaultgate', 'node-reference'),
      (v) => v >= 0.9,
      x,
    ),
  );
  add(
    check(
      'inbound-keepalive',
      '1 worker pinned: vaultgate req/s ≥ 0.5 × nginx (1 worker)',
      rpsRatio(ka, 'vaultgate', 'nginx'),
      (v) => v >= 0.5,
      x,
    ),
  );
  add(
    check(
      'inbound-keepalive',
      '1 worker pinned: vaultgate p99 ≤ 2 × nginx',
      ratio(sys(ka, 'vaultgate')?.p99_ms, sys(ka, 'nginx')?.p99_ms),
      (v) => v <= 2,
      x,
    ),
  );
  const all = by('inbound-keepalive-all-cores');
  const allNote = oneProcess(all);
  add({
    ...check(
      'inbound-keepalive-all-cores',
      'all cores: vaultgate req/s ≥ 0.5 × nginx, a worker per core each',
      rpsRatio(all, 'vaultgate', 'nginx'),
      (v) => v >= 0.5,
      x,
    ),
    ...(allNote ? { note: allNote } : {}),
  });
  add(
    check(
      'inbound-new-connections',
      'new connection per request: vaultgate req/s ≥ 0.5 × nginx',
      rpsRatio(by('inbound-new-connections'), 'vaultgate', 'nginx'),
      (v) => v >= 0.5,
      x,
    ),
  );
  // Issue 14: the server certificate is chosen by SNI without a scan, so 1,000 hostnames cost a
  // handshake no more than one. A run with fewer hostnames (--smoke) reports the ratio undecided.
  const hn = by('inbound-hostnames');
  const hostnames = num(hn, 'vaultgate-many-hostnames', 'hostnames') ?? 0;
  const handshakes = check(
    'inbound-hostnames',
    '1,000 custom hostnames: new TLS connections/s ≥ 0.9 × one hostname',
    rpsRatio(hn, 'vaultgate-many-hostnames', 'vaultgate-1-hostname'),
    (v) => v >= 0.9,
    x,
  );
  add(
    hostnames >= 1000 || handshakes.met === null
      ? handshakes
      : {
          ...handshakes,
          met: null,
          note: `only ${hostnames} hostnames in this run; the full and quick runs have 1,000`,
        },
  );
  const oi = by('outbound-intercept');
  add(
    check(
      'outbound-intercept',
      'interception: vaultgate req/s ≥ 12 × mitmproxy (tunnel worker)',
      rpsRatio(oi, 'vaultgate', 'mitmproxy'),
      (v) => v >= 12,
      x,
    ),
  );
  add(
    check(
      'outbound-intercept-hey',
      'interception: vaultgate req/s ≥ 6 × mitmproxy (hey -x)',
      rpsRatio(by('outbound-intercept-hey'), 'vaultgate', 'mitmproxy'),
      (v) => v >= 6,
      x,
    ),
  );
  add(
    check(
      'outbound-intercept',
      'interception: vaultgate req/s ≥ 1.0 × its own inbound (same generator)',
      rpsRatio(oi, 'vaultgate', 'vaultgate-inbound'),
      (v) => v >= 1,
      x,
    ),
  );
  add(
    check(
      'outbound-new-hosts',
      'first request to a never-seen host: added latency ≤ 3 ms (median)',
      num(by('outbound-new-hosts'), 'vaultgate', 'added_p50_ms'),
      (v) => v <= 3,
      ms,
    ),
  );
  const sc = by('scale');
  add(
    check(
      'scale',
      'idle resident memory per worker ≤ 80 MB',
      num(sc, 'vaultgate', 'idle_rss_worker_max_mb'),
      (v) => v <= 80,
      mb,
    ),
  );
  // The loaded process, after the uploads or after traffic, whichever is larger.
  const loaded = [num(sc, 'vaultgate', 'rss_mb'), num(sc, 'vaultgate', 'rss_after_traffic_mb')].filter(
    (v): v is number => v !== undefined,
  );
  const certificates = num(sc, 'vaultgate', 'certificates') ?? 0;
  const memory = check(
    'scale',
    '10,000 certificates: resident memory ≤ 300 MB over all processes',
    loaded.length > 0 ? Math.max(...loaded) : undefined,
    (v) => v <= 300,
    mb,
  );
  add(
    certificates >= 10_000 || memory.met === null
      ? memory
      : {
          ...memory,
          met: null,
          note: `only ${certificates} certificates in this run; the full run has 10,000`,
        },
  );
  add(
    check(
      'scale',
      'GET …/certificates?limit=1000 (the largest page) ≤ 100 ms (p50; issue 8)',
      num(sc, 'vaultgate', 'list_p50_ms'),
      (v) => v <= 100,
      (v) => `${v.toFixed(1)} ms`,
    ),
  );
  add(
    check(
      'scale',
      'one upload with 10,000 stored ≤ 1.5× one with 100 (p50 of sequential uploads; issue 15)',
      num(sc, 'vaultgate', 'upload_cost_ratio'),
      (v) => v <= 1.5,
      (v) =>
        `${v.toFixed(2)}× wall, ${num(sc, 'vaultgate', 'upload_cpu_ratio')?.toFixed(2)}× CPU (${num(sc, 'vaultgate', 'upload_ms_p50_large')?.toFixed(1)} ms at ${num(sc, 'vaultgate', 'upload_stored_large')} vs ${num(sc, 'vaultgate', 'upload_ms_p50_small')?.toFixed(1)} ms at ${num(sc, 'vaultgate', 'upload_stored_small')})`,
    ),
  );
  add(
    check(
      'scale',
      'cold start ≤ 5 s (issue 8)',
      num(sc, 'vaultgate', 'cold_start_ms'),
      (v) => v <= 5000,
      (v) => `${(v / 1000).toFixed(2)} s`,
    ),
  );
  return out;
}

const fmt = (v: number | null | undefined, digits = 0): string =>
  v === null || v === undefined || !Number.isFinite(v)
    ? '–'
    : v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function throughputTable(s: Scenario): string[] {
  // Ratios to each reference present: nginx and node-reference inbound, mitmproxy outbound.
  const refs = ['nginx', 'node-reference', 'mitmproxy'].filter((n) => sys(s, n) !== undefined);
  const lines = [
    `| system | workers | req/s | p50 ms | p99 ms | CPU s / 10k req | RSS MB | upstream conns / 10k | rounds req/s |${refs.map((n) => ` vs ${n} |`).join('')}`,
    `|---|---|--:|--:|--:|--:|--:|--:|--:|${refs.map(() => '--:|').join('')}`,
  ];
  for (const [name, raw] of Object.entries(s.results)) {
    const r = raw as SystemResult;
    const vs = refs.map((n) => {
      const ref = sys(s, n) as SystemResult;
      return ref.rps > 0 ? ` ${(r.rps / ref.rps).toFixed(2)}× |` : ' – |';
    });
    lines.push(
      `| ${name} | ${r.workers} | ${fmt(r.rps)} | ${fmt(r.p50_ms, 2)} | ${fmt(r.p99_ms, 2)} | ${fmt(r.cpu_s_per_10k, 2)} | ${fmt(r.rss_mb)} | ${fmt(r.upstream_conns_per_10k, 1)} | ${r.rounds_rps.map((v) => fmt(v)).join(' / ')} |${vs.join('')}`,
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

const pct = (share: number): string => `${(share * 100).toFixed(1)} %`;

function loadLine(load: Scenario['load']): string {
  if (load === undefined) return '';
  return ` Other processes used ${pct(load.foreign_cpu_share)} of the machine's CPU meanwhile (the bench ${pct(load.bench_cpu_share)})${load.loaded ? ': **loaded**' : ''}.`;
}

function profileSection(results: BenchResults): string[] {
  if (results.profiles === undefined) return [];
  const out = [
    '## CPU profiles (self time)',
    '',
    'Written with `--cpu-prof` (V8 sampling profiler in every Node process of the system: control plane and workers). Profiling costs throughput: the figures of a profiled run are not the official ones. Open the `.cpuprofile` files in Chrome DevTools (Performance → load) or speedscope.',
    '',
  ];
  for (const p of results.profiles) {
    out.push(
      `### ${p.label}`,
      '',
      `\`${p.dir}\`, covering ${p.covers}: ${p.processes.map((q) => `pid ${q.pid} busy ${fmt(q.busy_ms)} of ${fmt(q.total_ms)} ms`).join('; ')}.`,
      '',
      '| self ms | % of busy | function | where |',
      '|--:|--:|---|---|',
      ...p.top.map(
        (t) => `| ${fmt(t.self_ms)} | ${t.self_pct.toFixed(1)} | \`${t.function}\` | ${t.where} |`,
      ),
      '',
    );
  }
  return out;
}

export function renderMarkdown(results: BenchResults): string {
  const m = results.machine;
  const ml = results.machine_load;
  const out = [
    `# vaultgate benchmarks (${results.mode} run)`,
    '',
    `${results.date} · ${m.cpus} CPUs (${m.cpu_model}) · ${m.memory_gb} GB · Node ${m.node} · ${m.openssl} · Linux ${m.kernel}`,
    '',
    `Command: \`${results.command}\` (${results.duration_s} s). Tools: ${Object.entries(m.tools)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}.`,
    '',
    `Pinning: ${results.pinning}`,
    '',
    ml.loaded
      ? `**This run was on a loaded machine**: other processes used ${pct(ml.foreign_cpu_share)} of its CPU while it ran (1-minute load average ${results.load_average.before} before, up to ${results.load_average.max}). Its figures are not official; rerun on a quiet machine.`
      : `Machine quiet: other processes used ${pct(ml.foreign_cpu_share)} of its CPU while the bench ran (1-minute load average ${results.load_average.before} before, ${results.load_average.after} after, the bench's own load included).`,
    '',
    '## Targets',
    '',
    'Medians of interleaved rounds (every system of a scenario measured in turn, the order rotated each round).',
    '',
    '| scenario | target | measured | met | machine |',
    '|---|---|--:|:-:|---|',
    ...results.targets.map(
      (t) =>
        `| ${t.scenario} | ${t.target} | ${t.value}${t.note ? ` (${t.note})` : ''} | ${t.met === null ? '–' : t.met ? 'yes' : '**no**'} | ${t.loaded === undefined ? '–' : t.loaded ? '**loaded**' : 'quiet'} |`,
    ),
    '',
  ];
  for (const s of results.scenarios) {
    out.push(
      `## ${s.name}`,
      '',
      `${s.description}. Generator: ${s.generator}; concurrency ${s.concurrency}; ${s.rounds} round(s)${s.duration_s ? ` of ${s.duration_s} s` : ''}; medians.${loadLine(s.load)}`,
      '',
    );
    const first = Object.values(s.results)[0];
    if (first !== undefined)
      out.push(...(first && 'rps' in first ? throughputTable(s) : keyValueTable(s)), '');
    for (const [name, why] of Object.entries(s.skipped)) out.push(`- skipped ${name}: ${why}`);
    for (const note of s.notes) out.push(`- ${note}`);
    out.push('');
  }
  out.push(...profileSection(results));
  return `${out.join('\n').trimEnd()}\n`;
}
