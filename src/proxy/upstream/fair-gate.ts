/** A request waiting for a slot, holding one, or done with it. */
interface Waiter {
  readonly key: string;
  readonly grant: () => void;
  state: 'waiting' | 'admitted' | 'done';
}

/** What `acquire` returns: a way to give up the wait, or the slot once granted. */
export interface GateTicket {
  /** Leaves the queue if still waiting; releases the slot if granted. Idempotent. */
  release(): void;
}

/**
 * Admission in front of one upstream pool: at most `capacity` exchanges at a time (the pool's
 * connection limit), and when the pool is saturated the waiting requests are admitted fairly across
 * client keys (client addresses: fewest slots held first, then round-robin), not first come first
 * served. Without it, one client that
 * queues hundreds of requests (or holds hundreds of stalled uploads) makes everyone else wait behind
 * all of them; with it, another client's request waits for at most one free slot per client ahead of
 * it in the rotation. There is no per-client ceiling while the pool has room: a single client may
 * use every slot when nobody else is waiting.
 *
 * Independent of the HTTP client underneath, so it outlives any change of agent.
 */
export class FairGate {
  private active = 0;
  private queued = 0;
  /** Per client key, its waiters in arrival order; the Map's order is the rotation. */
  private readonly waiting = new Map<string, Waiter[]>();
  /** Slots held per client key (keys holding none are absent). */
  private readonly holding = new Map<string, number>();

  constructor(private readonly capacity: number) {}

  /** Exchanges admitted and not yet released. */
  get inUse(): number {
    return this.active;
  }

  /** Requests waiting for a slot. */
  get waitingCount(): number {
    return this.queued;
  }

  /**
   * Asks for a slot for a request of client `key`. `grant` is called synchronously when there is room
   * and nobody is waiting, otherwise later, in turn. The caller must call `release()` on the ticket
   * exactly when it no longer needs the slot (or gives up waiting).
   */
  acquire(key: string, grant: () => void): GateTicket {
    const waiter: Waiter = { key, grant, state: 'waiting' };
    const ticket: GateTicket = { release: () => this.release(waiter) };
    if (this.active < this.capacity && this.queued === 0) {
      this.start(waiter);
      return ticket;
    }
    const list = this.waiting.get(key);
    if (list === undefined) this.waiting.set(key, [waiter]);
    else list.push(waiter);
    this.queued++;
    return ticket;
  }

  private start(waiter: Waiter): void {
    waiter.state = 'admitted';
    this.active++;
    this.holding.set(waiter.key, (this.holding.get(waiter.key) ?? 0) + 1);
    waiter.grant();
  }

  private release(waiter: Waiter): void {
    const was = waiter.state;
    waiter.state = 'done';
    if (was === 'admitted') {
      this.active--;
      const held = (this.holding.get(waiter.key) ?? 1) - 1;
      if (held > 0) this.holding.set(waiter.key, held);
      else this.holding.delete(waiter.key);
      this.admit();
    } else if (was === 'waiting') {
      const list = this.waiting.get(waiter.key);
      const at = list?.indexOf(waiter) ?? -1;
      if (list === undefined || at < 0) return;
      list.splice(at, 1);
      this.queued--;
      if (list.length === 0) this.waiting.delete(waiter.key);
    }
  }

  /**
   * Hands each free slot to the waiting client that holds the fewest slots, the earliest in the
   * rotation among equals; the client served goes to the end of the rotation. So a client holding no
   * slot goes before one holding many, whatever arrived first. The scan is over waiting clients, not
   * waiting requests.
   */
  private admit(): void {
    while (this.active < this.capacity && this.queued > 0) {
      let bestKey = '';
      let bestList: Waiter[] | undefined;
      let bestHeld = Number.POSITIVE_INFINITY;
      for (const [key, list] of this.waiting) {
        const held = this.holding.get(key) ?? 0;
        if (held < bestHeld) {
          bestKey = key;
          bestList = list;
          bestHeld = held;
          if (held === 0) break;
        }
      }
      const list = bestList as Waiter[];
      const next = list.shift() as Waiter;
      this.queued--;
      // Moving the key to the end of the Map is the round-robin step.
      this.waiting.delete(bestKey);
      if (list.length > 0) this.waiting.set(bestKey, list);
      this.start(next);
    }
  }
}
