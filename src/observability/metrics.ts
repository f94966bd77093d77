/**
 * A small Prometheus text-format registry. Counters and gauges only; collectors run at scrape time
 * so values derived from the snapshot (certificate expiry) are never stale.
 */
type Labels = Record<string, string>;

interface Sample {
  labels: Labels;
  value: number;
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

  render(): string {
    const out: string[] = [];
    for (const f of this.#families.values()) {
      out.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`);
      const samples = f.collect ? f.collect() : [...f.samples.values()];
      for (const s of samples) {
        const labels = Object.entries(s.labels)
          .map(([k, v]) => `${k}="${escape(v)}"`)
          .join(',');
        out.push(`${f.name}${labels ? `{${labels}}` : ''} ${s.value}`);
      }
    }
    return out.join('\n') + '\n';
  }
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
  metrics.collector(
    'vaultgate_certificates_unusable',
    'Stored certificates left out of the running configuration because they cannot be used, by reason.',
    'gauge',
    () => Object.entries(counts()).map(([reason, value]) => ({ labels: { reason }, value })),
  );
}
