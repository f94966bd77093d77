import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IdMap } from './id-map.js';

describe('IdMap', () => {
  it('behaves like a Map copied at every change, and leaves every earlier version as it was', () => {
    const id = fc.oneof(fc.uuid(), fc.string({ maxLength: 6 }));
    const step = fc.record({ remove: fc.array(id, { maxLength: 4 }), add: fc.array(id, { maxLength: 4 }) });
    fc.assert(
      fc.property(fc.array(id, { maxLength: 40 }), fc.array(step, { maxLength: 12 }), (initial, steps) => {
        let map = IdMap.from<string>(initial.map((k) => [k, `v0:${k}`] as const));
        let reference = new Map<string, string>(initial.map((k) => [k, `v0:${k}`]));
        const versions: [IdMap<string>, Map<string, string>][] = [[map, reference]];
        steps.forEach(({ remove, add }, n) => {
          const next = new Map(reference);
          for (const k of remove) next.delete(k);
          for (const k of add) next.set(k, `v${n + 1}:${k}`);
          map = map.with(
            remove,
            add.map((k) => [k, `v${n + 1}:${k}`] as const),
          );
          reference = next;
          versions.push([map, reference]);
        });
        for (const [m, r] of versions) {
          expect(m.size).toBe(r.size);
          expect(new Map(m)).toEqual(r);
          for (const k of r.keys()) expect(m.get(k)).toBe(r.get(k));
          expect(m.has('not-an-id-of-these')).toBe(r.has('not-an-id-of-these'));
        }
      }),
    );
  });
});
