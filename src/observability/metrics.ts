/**
 * Metrics on prom-client. Every process (the control plane and each data-plane worker) has its own
 * registry with prom-client's default `process_*` and `nodejs_*` families, labelled with the process
 * they measure (`worker`: "control", "1", "2"…). Values derived from the snapshot (certificate
 * expiry, pool sizes) are computed by `collect()` at scrape time, so they are never stale.
 *
 * The control plane's `/metrics` is renderAll(): its own registry plus those its sources (the
 * workers, asked over IPC at scrape time, each answering with getMetricsAsJSON()) report, merged
 * with AggregatorRegistry.aggregate(): samples with the same name and labels are summed, so a
 * per-process figure (memory, event-loop lag) carries a `worker` label and is never summed with
 * another process's. See docs/architecture.md "Metrics across workers".
 */
import { AggregatorRegistry, Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { ProxyMetrics } from './proxy-metrics.js';

/** One process's families at one instant, as getMetricsAsJSON() gives them: what a worker sends. */
export type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

const UNLINTED_DEFAULTS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

export class Metrics {
  readonly registry = new Registry();
  readonly #sources: (() => Promise<MetricsJson[]>)[] = [];
  #proxy: ProxyMetrics | undefined;
  readonly #totals = new Map<string, (() => number)[]>();

  /** `worker`: the process these figures are of ("control", or the worker's slot). */
  constructor(readonly worker: string) {
    collectDefaultMetrics({ register: this.registry, labels: { worker } });
    // Gauges named like counters, which `promtool check metrics` rejects; each is the sum of the
    // same family by `type` (nodejs_active_handles{type} …), which stays.
    for (const name of UNLINTED_DEFAULTS) this.registry.removeSingleMetric(name);
    registerProcessMemory(this);
  }

  /** The proxies' request figures, registered on first use (once per registry, whoever asks). */
  get proxy(): ProxyMetrics {
    return (this.#proxy ??= new ProxyMetrics(this));
  }

  /**
   * An unlabelled figure that more than one component of a process may report (the tests build
   * several outbound proxies over one registry): registered on first use, at each scrape the sum of
   * every component's `read`.
   */
  total(type: 'counter' | 'gauge', name: string, help: string, read: () => number): void {
    let readers = this.#totals.get(name);
    if (readers === undefined) {
      const all: (() => number)[] = [];
      const sum = (): number => all.reduce((a, r) => a + r(), 0);
      if (type === 'counter') scrapeCounter(this, name, help, [], (c) => c.inc(sum()));
      else scrapeGauge(this, name, help, [], (g) => g.set(sum()));
      this.#totals.set(name, all);
      readers = all;
    }
    readers.push(read);
  }

  /** Where renderAll() gets the families of other processes (the workers) at each scrape. */
  addSource(source: () => Promise<MetricsJson[]>): void {
    this.#sources.push(source);
  }

  /** This process only, collectors evaluated now. */
  json(): Promise<MetricsJson> {
    return this.registry.getMetricsAsJSON();
  }

  /** This process and every source, merged (see the module comment). */
  async renderAll(): Promise<string> {
    const all = [await this.json()];
    for (const source of this.#sources) all.push(...(await source()));
    return aggregate(all).metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/**
 * AggregatorRegistry.aggregate() over the processes' families. prom-client gives each default family
 * an aggregator for node:cluster, where the workers' samples carry no label that tells them apart:
 * most are summed, event-loop lag is averaged (min/max for its extremes), `nodejs_version_info`
 * keeps the first, and `process_start_time_seconds` is dropped (`omit`). Here every process labels
 * its samples with `worker`, so no two processes share a label set and each aggregator leaves the
 * samples as they are — except `omit`, which would drop the family whole: a family whose samples all
 * carry `worker` is therefore merged as it is (`sum` over distinct label sets is a union).
 */
export function aggregate(perProcess: readonly MetricsJson[]): Registry {
  const merged = perProcess.map((families) =>
    families.map((f) =>
      f.values.length > 0 && f.values.every((v) => v.labels.worker !== undefined)
        ? { ...f, aggregator: 'sum' as const }
        : f,
    ),
  );
  return AggregatorRegistry.aggregate(merged);
}

/**
 * A gauge recomputed at each scrape by `read`, which sets its samples (the previous ones are
 * cleared first, so a sample whose subject is gone disappears).
 */
export function scrapeGauge<L extends string>(
  metrics: Metrics,
  name: string,
  help: string,
  labelNames: readonly L[],
  read: (gauge: Gauge<L>) => void,
): Gauge<L> {
  return new Gauge<L>({
    name,
    help,
    labelNames,
    registers: [metrics.registry],
    collect() {
      this.reset();
      read(this);
    },
  });
}

/**
 * Stored certificates left out of the running configuration because they cannot be used
 * (`reason`: `sealed_key` — the key does not open; `tls_refused` — the TLS stack refuses the chain
 * and key, found on first use). Each one is also in the log with its id; nothing secret is in either.
 */
export function registerUnusableCertificatesGauge(
  metrics: Metrics,
  counts: () => Readonly<Record<string, number>>,
): void {
  // Per worker: each worker judges the rows itself, so a sum over workers would count a row twice.
  scrapeGauge(
    metrics,
    'vaultgate_certificates_unusable',
    'Stored certificates left out of the running configuration because they cannot be used, by reason and worker.',
    ['reason', 'worker'],
    (g) => {
      for (const [reason, value] of Object.entries(counts()))
        g.set({ reason, worker: metrics.worker }, value);
    },
  );
}

/**
 * vaultgate's own per-process memory figures (older than the default `process_resident_memory_bytes`
 * and `nodejs_heap_size_used_bytes`, which say the same; kept for dashboards built on them).
 */
function registerProcessMemory(metrics: Metrics): void {
  const worker = metrics.worker;
  scrapeGauge(
    metrics,
    'vaultgate_process_resident_memory_bytes',
    'Resident memory of each vaultgate process, by worker ("control" is the control plane).',
    ['worker'],
    (g) => g.set({ worker }, process.memoryUsage.rss()),
  );
  scrapeGauge(
    metrics,
    'vaultgate_process_heap_used_bytes',
    'V8 heap in use in each vaultgate process, by worker ("control" is the control plane).',
    ['worker'],
    (g) => g.set({ worker }, process.memoryUsage().heapUsed),
  );
}

/**
 * A counter whose value lives elsewhere (a count a component keeps anyway), read at each scrape:
 * `read` adds each current total to the freshly reset counter.
 */
export function scrapeCounter<L extends string>(
  metrics: Metrics,
  name: string,
  help: string,
  labelNames: readonly L[],
  read: (counter: Counter<L>) => void,
): Counter<L> {
  return new Counter<L>({
    name,
    help,
    labelNames,
    registers: [metrics.registry],
    collect() {
      this.reset();
      read(this);
    },
  });
}
