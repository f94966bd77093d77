/**
 * `vaultgate_certificate_expiry_timestamp_seconds{vault_id,certificate_id,proxy_type}` (SPEC §2):
 * when each certificate of the running configuration expires. Computed from the snapshot at each
 * scrape, so a deleted certificate's series disappears with it and a new one appears at once.
 */
import type { RuntimeConfig } from '../snapshot/types.js';
import { scrapeGauge, type Metrics } from './metrics.js';

export function registerCertificateExpiry(
  metrics: Metrics,
  snapshot: { readonly current: RuntimeConfig },
): void {
  scrapeGauge(
    metrics,
    'vaultgate_certificate_expiry_timestamp_seconds',
    'When each stored certificate expires (not_after), in Unix seconds: client certificates by proxy_type, and custom hostnames\' server certificates as proxy_type="server".',
    ['vault_id', 'certificate_id', 'proxy_type'],
    (g) => {
      const current = snapshot.current;
      for (const c of current.certificatesById.values()) {
        g.set(
          { vault_id: c.vaultId, certificate_id: c.id, proxy_type: c.proxyType },
          Math.floor(c.notAfter / 1000),
        );
      }
      // Custom hostnames' server certificates, labelled with the hostname's id.
      for (const name of current.inboundNames.values()) {
        const { hostnameId, notAfter } = name.tls;
        if (hostnameId === null || notAfter === null) continue;
        g.set(
          { vault_id: name.vault.id, certificate_id: hostnameId, proxy_type: 'server' },
          Math.floor(notAfter / 1000),
        );
      }
    },
  );
}
