/**
 * A small Prometheus text-format registry. Counters and gauges only; collectors run at scrape time
 * so values derived from the snapshot (certificate expiry) are never stale.
 *
 * Every process (the control plane and each data-plane worker) has its own registry. The control
 * plane's `/metrics` is renderAll(): its own families plus those its sources (the workers, asked over
 * IPC at scrape time) report, samples with the same name and labels summed. A figure that is per
 * process (memory) carries a `worker` label, so it is never summed with another process's.
 */
type Labels = Record<string, string>;

export interface Sample {
  labels: Labels;
  value: number;
}

/** One family with its samples at one instant: what a worker sends the control plane. */
export interface MetricFamily {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  samples: Sample[];
}

interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  samples: Map<string, Sample>;
  collect?: () => Sample[];
}

function labelKey(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
}

function escape(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

export class Metrics {
  readonly #families = new Map<string, Family>();
  readonly #sources: (() => Promise<MetricFamily[][]>)[] = [];

  #family(name: string, help: string, type: Family['type']): Family {
    let f = this.#families.get(name);
    if (!f) {
      f = { name, help, type, samples: new Map() };
      this.#families.set(name, f);
    }
    return f;
  }

  counter(name: string, help: string): (labels?: Labels, by?: number) => void {
    const f = this.#family(name, help, 'counter');
    return (labels = {}, by = 1) => {
      const key = labelKey(labels);
      const s = f.samples.get(key);
      if (s) s.value += by;
      else f.samples.set(key, { labels, value: by });
    };
  }

  /** A gauge whose samples are computed at scrape time. */
  collector(name: string, help: string, type: Family['type'], collect: () => Sample[]): void {
    this.#family(name, help, type).collect = collect;
  }

  /** Where renderAll() gets the families of other processes (the workers) at each scrape. */
  addSource(source: () => Promise<MetricFamily[][]>): void {
    this.#sources.push(source);
  }

  /** This registry's families, collectors evaluated now. */
  families(): MetricFamily[] {
    return [...this.#families.values()].map((f) => ({
      name: f.name,
      help: f.help,
      type: f.type,
      samples: f.collect ? f.collect() : [...f.samples.values()].map((s) => ({ ...s })),
    }));
  }

  /** This process only. */
  render(): string {
    return renderFamilies(this.families());
  }

  /** This process and every source, summed (see the class comment). */
  async renderAll(): Promise<string> {
    const all = [this.families()];
    for (const source of this.#sources) all.push(...(await source()));
    return renderFamilies(sumFamilies(all));
  }
}

/**
 * Stored certificates left out of the running configuration because they cannot be used
 * (`reason`: `sealed_key` — the key does not open; `tls_refused` — the TLS stack refuses the chain
 * and key, found on first use). Each one is also in the log with its id; nothing secret is in either.
 */
export function registerUnusableCertificatesGauge(
  metrics: Metrics,
  worker: string,
  counts: () => Readonly<Record<string, number>>,
): void {
  metrics.collector(
    'vaultgate_certificates_unusable',
    'Stored certificates left out of the running configuration because they cannot be used, by reason and worker.',
    'gauge',
    // Per worker: each worker judges the rows itself, so a sum over workers would count a row twice.
    () => Object.entries(counts()).map(([reason, value]) => ({ labels: { reason, worker }, value })),
  );
}

/** Adds up samples of the same family and labels across processes; the first help text wins. */
export function sumFamilies(perProcess: MetricFamily[][]): MetricFamily[] {
  const out = new Map<string, { family: MetricFamily; byLabels: Map<string, Sample> }>();
  for (const families of perProcess) {
    for (const f of families) {
      let entry = out.get(f.name);
      if (!entry) {
        entry = { family: { name: f.name, help: f.help, type: f.type, samples: [] }, byLabels: new Map() };
        out.set(f.name, entry);
      }
      for (const s of f.samples) {
        const key = labelKey(s.labels);
        const seen = entry.byLabels.get(key);
        if (seen) seen.value += s.value;
        else {
          const copy = { labels: s.labels, value: s.value };
          entry.byLabels.set(key, copy);
          entry.family.samples.push(copy);
        }
      }
    }
  }
  return [...out.values()].map((e) => e.family);
}

export function renderFamilies(families: MetricFamily[]): string {
  const out: string[] = [];
  for (const f of families) {
    out.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) {
      const labels = Object.entries(s.labels)
        .map(([k, v]) => `${k}="${escape(v)}"`)
        .join(',');
      out.push(`${f.name}${labels ? `{${labels}}` : ''} ${s.value}`);
    }
  }
  return out.join('\n') + '\n';
}

/** Per-process memory, labelled with the process it measures ("control", or the worker's slot). */
export function registerProcessMemory(metrics: Metrics, worker: string): void {
  metrics.collector(
    'vaultgate_process_resident_memory_bytes',
    'Resident memory of each vaultgate process, by worker ("control" is the control plane).',
    'gauge',
    () => [{ labels: { worker }, value: process.memoryUsage.rss() }],
  );
  metrics.collector(
    'vaultgate_process_heap_used_bytes',
    'V8 heap in use in each vaultgate process, by worker ("control" is the control plane).',
    'gauge',
    () => [{ labels: { worker }, value: process.memoryUsage().heapUsed }],
  );
}
