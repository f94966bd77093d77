/**
 * The per-request figures of both proxies (SPEC §2 "Audit, health, metrics"):
 * `vaultgate_proxy_requests_total{direction,vault_id,status,code}` and the latency histogram
 * `vaultgate_proxy_request_duration_seconds{direction,vault_id}`, plus the certificate-choice
 * failures. Labels stay bounded: `vault_id` is the id of a configured vault or "" (the request was
 * answered before a vault was known), `status` an HTTP status, `code` a SPEC §5 code or "" (answered
 * by the upstream, or forwarded without vaultgate refusing it). Nothing a client sends (host, path,
 * username) becomes a label.
 *
 * Recording is on the hot path. Each label set gets its cell once, kept in nested maps keyed by the
 * values themselves, so a request costs a few map lookups, one `+= 1` per counter and prom-client's
 * observe() on a histogram child bound once: no label object is built and no label string hashed per
 * request. The counters are handed to prom-client from the cells at scrape time (their `collect`):
 * prom-client's own inc() hashes and validates the labels on every call, ~1 µs each on the machine
 * this was measured on (docs/architecture.md "Metrics across workers").
 */
import { Histogram } from 'prom-client';
import { scrapeCounter, type Metrics } from './metrics.js';

export type Direction = 'inbound' | 'outbound';

type HistogramChild = ReturnType<Histogram<string>['labels']>;

/** Seconds; from a cached pooled request (a few ms) to the default upstream response timeout. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** One sample of a counter: its labels, built once, and its count. */
interface Cell<L extends string> {
  readonly labels: Readonly<Record<L, string>>;
  value: number;
}

/** A counter whose samples are cells counted by this module and read by prom-client at scrape time. */
class CellCounter<L extends string> {
  readonly #cells: Cell<L>[] = [];

  constructor(metrics: Metrics, name: string, help: string, labelNames: readonly L[]) {
    const cells = this.#cells;
    scrapeCounter(metrics, name, help, labelNames, (c) => {
      for (const cell of cells) c.inc(cell.labels, cell.value);
    });
  }

  cell(labels: Record<L, string>): Cell<L> {
    const cell = { labels, value: 0 };
    this.#cells.push(cell);
    return cell;
  }
}

interface VaultCells {
  duration: HistogramChild;
  choiceFailures: Cell<'direction' | 'vault_id'> | undefined;
  /** status → code → cell */
  byStatus: Map<number, Map<string, Cell<'direction' | 'vault_id' | 'status' | 'code'>>>;
}

export class ProxyMetrics {
  readonly #requests: CellCounter<'direction' | 'vault_id' | 'status' | 'code'>;
  readonly #duration: Histogram<'direction' | 'vault_id'>;
  readonly #choiceFailures: CellCounter<'direction' | 'vault_id'>;
  /** The families from before the SPEC ones, kept for the dashboards built on them. */
  readonly #inboundOutcomes: CellCounter<'outcome'>;
  readonly #outboundKinds: CellCounter<'kind' | 'status'>;
  readonly #inboundByOutcome = new Map<string, Cell<'outcome'>>();
  /** kind → status → cell */
  readonly #outboundByKind = new Map<string, Map<number, Cell<'kind' | 'status'>>>();
  readonly #vaults: Record<Direction, Map<string, VaultCells>> = {
    inbound: new Map(),
    outbound: new Map(),
  };

  constructor(metrics: Metrics) {
    this.#requests = new CellCounter(
      metrics,
      'vaultgate_proxy_requests_total',
      'Requests answered by the proxies, by direction, vault, HTTP status sent to the client and vaultgate error code ("" when the answer is the upstream\'s).',
      ['direction', 'vault_id', 'status', 'code'],
    );
    this.#duration = new Histogram({
      name: 'vaultgate_proxy_request_duration_seconds',
      help: 'Time from receiving a request to the end of its answer, by direction and vault.',
      labelNames: ['direction', 'vault_id'],
      buckets: DURATION_BUCKETS,
      registers: [metrics.registry],
    });
    this.#choiceFailures = new CellCounter(
      metrics,
      'vaultgate_certificate_choice_failures_total',
      'Certificate choices that found no client certificate to present although the route (inbound: each request) or credential (outbound: each tunnel and configuration) has some: none is valid now for the host (expired, not yet valid, scoped to other hosts, or refused by the TLS stack).',
      ['direction', 'vault_id'],
    );
    this.#inboundOutcomes = new CellCounter(
      metrics,
      'vaultgate_inbound_requests_total',
      'Inbound proxy requests by outcome: "forwarded", or the vaultgate error code answered.',
      ['outcome'],
    );
    this.#outboundKinds = new CellCounter(
      metrics,
      'vaultgate_outbound_requests_total',
      'Requests handled by the outbound proxy, by mode (tunnel, absolute; connect for refused CONNECTs) and status sent to the client.',
      ['kind', 'status'],
    );
  }

  /**
   * One answered request. `vaultId` "" when no vault was selected; `code` "" when vaultgate refused
   * nothing; `startedAt` is the performance.now() of its arrival, or undefined when unknown (a
   * failure caught by the last-resort guard), which counts the request but times nothing.
   */
  request(
    direction: Direction,
    vaultId: string,
    status: number,
    code: string,
    startedAt: number | undefined,
  ): void {
    const vault = this.#vault(direction, vaultId);
    let byCode = vault.byStatus.get(status);
    if (byCode === undefined) {
      byCode = new Map();
      vault.byStatus.set(status, byCode);
    }
    let cell = byCode.get(code);
    if (cell === undefined) {
      cell = this.#requests.cell({ direction, vault_id: vaultId, status: String(status), code });
      byCode.set(code, cell);
    }
    cell.value++;
    if (startedAt !== undefined) vault.duration.observe((performance.now() - startedAt) / 1000);
    if (direction === 'inbound') {
      const outcome = code === '' ? 'forwarded' : code;
      let legacy = this.#inboundByOutcome.get(outcome);
      if (legacy === undefined) {
        legacy = this.#inboundOutcomes.cell({ outcome });
        this.#inboundByOutcome.set(outcome, legacy);
      }
      legacy.value++;
    }
  }

  /**
   * An outbound exchange by mode, for `vaultgate_outbound_requests_total`: every request() of the
   * outbound proxy, and each refused CONNECT, by the HTTP status answered.
   */
  outbound(kind: 'connect' | 'tunnel' | 'absolute', status: number): void {
    let byStatus = this.#outboundByKind.get(kind);
    if (byStatus === undefined) {
      byStatus = new Map();
      this.#outboundByKind.set(kind, byStatus);
    }
    let cell = byStatus.get(status);
    if (cell === undefined) {
      cell = this.#outboundKinds.cell({ kind, status: String(status) });
      byStatus.set(status, cell);
    }
    cell.value++;
  }

  /** Candidates existed but none could be presented (the choice rule returned none). */
  choiceFailed(direction: Direction, vaultId: string): void {
    const vault = this.#vault(direction, vaultId);
    vault.choiceFailures ??= this.#choiceFailures.cell({ direction, vault_id: vaultId });
    vault.choiceFailures.value++;
  }

  #vault(direction: Direction, vaultId: string): VaultCells {
    const byVault = this.#vaults[direction];
    let vault = byVault.get(vaultId);
    if (vault === undefined) {
      vault = {
        duration: this.#duration.labels({ direction, vault_id: vaultId }),
        choiceFailures: undefined,
        byStatus: new Map(),
      };
      byVault.set(vaultId, vault);
    }
    return vault;
  }
}
