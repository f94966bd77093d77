/**
 * Measures what a CONNECT to a never-seen host costs in `src/pki`: the time for `LeafMinter.leafFor`
 * to sign a leaf and build its TLS context. Run:
 *   npx tsc --outDir dist/measure --module NodeNext --moduleResolution NodeNext --target ES2022 \
 *     --skipLibCheck --types node scripts/measure-mint.ts && node dist/measure/scripts/measure-mint.js
 */
import { createPrivateKey } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createCa, LeafMinter } from '../src/pki/index.js';

const SAMPLES = Number(process.env['SAMPLES'] ?? 1000);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;
}

const ca = await createCa({ commonName: 'vaultgate measure CA' });
const minter = new LeafMinter({
  caCertPem: ca.certPem,
  caKey: createPrivateKey(ca.keyPem),
  maxEntries: SAMPLES,
});
// The first call also loads the CA and makes the shared key; a proxy pays that once, so leave it out.
await minter.leafFor('warm-up.example');

const times: number[] = [];
for (let i = 0; i < SAMPLES; i++) {
  const start = performance.now();
  await minter.leafFor(`host-${i}.example.com`);
  times.push(performance.now() - start);
}
times.sort((a, b) => a - b);

const hitStart = performance.now();
for (let i = 0; i < SAMPLES; i++) await minter.leafFor(`host-${i}.example.com`);
const hit = (performance.now() - hitStart) / SAMPLES;

const fmt = (ms: number): string => `${ms.toFixed(3)} ms`;
console.log(
  JSON.stringify({
    node: process.version,
    samples: SAMPLES,
    mint_median: fmt(percentile(times, 50)),
    mint_p95: fmt(percentile(times, 95)),
    mint_max: fmt(times[times.length - 1] ?? NaN),
    cache_hit_mean: fmt(hit),
    mints: minter.mints,
  }),
);
