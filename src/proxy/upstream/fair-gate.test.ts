import { describe, expect, it } from 'vitest';
import { FairGate } from './fair-gate.js';

describe('FairGate', () => {
  it('admits at once while there is room, with no per-client ceiling', () => {
    const gate = new FairGate(3);
    const granted: number[] = [];
    for (let n = 0; n < 3; n++) gate.acquire('a', () => granted.push(n));
    expect(granted).toEqual([0, 1, 2]);
    expect(gate.inUse).toBe(3);
  });

  it('serves waiting clients round-robin, so a crowd from one client delays another by one slot', () => {
    const gate = new FairGate(2);
    const order: string[] = [];
    const tickets = [];
    for (let n = 0; n < 8; n++) tickets.push(gate.acquire('a', () => order.push(`a${n}`)));
    tickets.push(gate.acquire('b', () => order.push('b0')));
    expect(order).toEqual(['a0', 'a1']);
    // b holds no slot, a holds two: b goes first, at the very next free slot.
    tickets[0]?.release();
    expect(order).toEqual(['a0', 'a1', 'b0']);
    tickets[1]?.release();
    expect(order.at(-1)).toBe('a2');
  });

  it('rotates among clients holding the same number of slots', () => {
    const gate = new FairGate(1);
    const order: string[] = [];
    const tickets = new Map<string, { release(): void }>();
    tickets.set(
      'x',
      gate.acquire('x', () => order.push('x')),
    );
    ['a', 'a', 'b', 'b', 'c'].forEach((k, n) =>
      tickets.set(
        `${k}${n}`,
        gate.acquire(k, () => order.push(`${k}${n}`)),
      ),
    );
    // Each one releases its slot as soon as it has it; the next admitted is the next in turn.
    for (let n = 0; n < 6; n++) tickets.get(order[n] ?? '')?.release();
    expect(order).toEqual(['x', 'a0', 'b2', 'c4', 'a1', 'b3']);
  });

  it('a waiter that gives up leaves the queue and takes no slot', () => {
    const gate = new FairGate(1);
    const order: string[] = [];
    const first = gate.acquire('a', () => order.push('a'));
    const gone = gate.acquire('b', () => order.push('b'));
    gate.acquire('c', () => order.push('c'));
    gone.release();
    gone.release();
    expect(gate.waitingCount).toBe(1);
    first.release();
    first.release(); // idempotent: does not free a second slot
    expect(order).toEqual(['a', 'c']);
    expect(gate.inUse).toBe(1);
  });
});
