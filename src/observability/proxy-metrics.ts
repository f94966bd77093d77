/**
 * The per-request figures of both proxies (SPEC §2 "Audit, health, metrics"):
 * `vaultgate_proxy_requests_total{direction,vault_id,status,code}` and the latency histogram
 * `vaultgate_proxy_request_duration_seconds{direction,vault_id}`, plus the certificate-choice
 * failures. Labels stay bounded: `vault_id` is the id of a configured vault or "" (the request was
 * answered before a vault was known), `status` an HTTP status, `code` a SPEC §5 code or "" (answered
 * by the upstream, or forwarded without vaultgate refusing it). Nothing a client sends (host, path,
 * username) becomes a label.
 *
 * Recording is on the hot path: each (direction, vault, status, code) gets its prom-client child
 * once, kept in nested maps keyed by the values themselves, so a request costs a few map lookups and
 * prom-client's inc/observe, and builds no label object.
 */
import { Counter, Histogram } from 'prom-client';
import type { Metrics } from './metrics.js';

export type Direction = 'inbound' | 'outbound';

type CounterChild = ReturnType<Counter<string>['labels']>;
type HistogramChild = ReturnType<Histogram<string>['labels']>;

/** Seconds; from a cached pooled request (a few ms) to the default upstream response timeout. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

interface VaultChildren {
  duration: HistogramChild;
  choiceFailures: CounterChild | undefined;
  /** status → code → child */
  byStatus: Map<number, Map<string, CounterChild>>;
}

export class ProxyMetrics {
  readonly #requests: Counter<'direction' | 'vault_id' | 'status' | 'code'>;
  readonly #duration: Histogram<'direction' | 'vault_id'>;
  readonly #choiceFailures: Counter<'direction' | 'vault_id'>;
  /** The families from before the SPEC ones, kept for the dashboards built on them. */
  readonly #inboundOutcomes: Counter<'outcome'>;
  readonly #outboundKinds: Counter<'kind' | 'status'>;
  readonly #inboundByOutcome = new Map<string, CounterChild>();
  /** kind → status → child */
  readonly #outboundByKind = new Map<string, Map<number, CounterChild>>();
  readonly #children: Record<Direction, Map<string, VaultChildren>> = {
    inbound: new Map(),
    outbound: new Map(),
  };

  constructor(metrics: Metrics) {
    const registers = [metrics.registry];
    this.#requests = new Counter({
      name: 'vaultgate_proxy_requests_total',
      help: 'Requests answered by the proxies, by direction, vault, HTTP status sent to the client and vaultgate error code ("" when the answer is the upstream\'s).',
      labelNames: ['direction', 'vault_id', 'status', 'code'],
      registers,
    });
    this.#duration = new Histogram({
      name: 'vaultgate_proxy_request_duration_seconds',
      help: 'Time from receiving a request to the end of its answer, by direction and vault.',
      labelNames: ['direction', 'vault_id'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.#choiceFailures = new Counter({
      name: 'vaultgate_certificate_choice_failures_total',
      help: 'Upstream connections set up without a client certificate although the route or credential has some, because none is valid now for the host (expired, not yet valid, scoped to other hosts, or refused by the TLS stack).',
      labelNames: ['direction', 'vault_id'],
      registers,
    });
    this.#inboundOutcomes = new Counter({
      name: 'vaultgate_inbound_requests_total',
      help: 'Inbound proxy requests by outcome: "forwarded", or the vaultgate error code answered.',
      labelNames: ['outcome'],
      registers,
    });
    this.#outboundKinds = new Counter({
      name: 'vaultgate_outbound_requests_total',
      help: 'Requests handled by the outbound proxy, by mode (connect, tunnel, absolute) and status sent to the client.',
      labelNames: ['kind', 'status'],
      registers,
    });
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
    let child = byCode.get(code);
    if (child === undefined) {
      child = this.#requests.labels({ direction, vault_id: vaultId, status: String(status), code });
      byCode.set(code, child);
    }
    child.inc();
    if (startedAt !== undefined) vault.duration.observe((performance.now() - startedAt) / 1000);
    if (direction === 'inbound') {
      const outcome = code === '' ? 'forwarded' : code;
      let legacy = this.#inboundByOutcome.get(outcome);
      if (legacy === undefined) {
        legacy = this.#inboundOutcomes.labels({ outcome });
        this.#inboundByOutcome.set(outcome, legacy);
      }
      legacy.inc();
    }
  }

  /**
   * An outbound exchange by mode, for `vaultgate_outbound_requests_total`: every request() of the
   * outbound proxy, and each CONNECT (established or refused), by the HTTP status answered.
   */
  outbound(kind: 'connect' | 'tunnel' | 'absolute', status: number): void {
    let byStatus = this.#outboundByKind.get(kind);
    if (byStatus === undefined) {
      byStatus = new Map();
      this.#outboundByKind.set(kind, byStatus);
    }
    let child = byStatus.get(status);
    if (child === undefined) {
      child = this.#outboundKinds.labels({ kind, status: String(status) });
      byStatus.set(status, child);
    }
    child.inc();
  }

  /** Candidates existed but none could be presented (the choice rule returned none). */
  choiceFailed(direction: Direction, vaultId: string): void {
    const vault = this.#vault(direction, vaultId);
    vault.choiceFailures ??= this.#choiceFailures.labels({ direction, vault_id: vaultId });
    vault.choiceFailures.inc();
  }

  #vault(direction: Direction, vaultId: string): VaultChildren {
    const byVault = this.#children[direction];
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
