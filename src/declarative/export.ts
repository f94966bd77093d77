/** What `vaultgate export` reads from the API and renders: VGS route YAML or a whole-vault file. */
import type { Api } from './sync.js';
import type { ApiRoute } from './routes.js';
import { certificatePaths, hostnamePaths, renderVaultFile, type VaultState } from './vault-file.js';
import { renderVgsRoutes } from './vgs.js';

export async function exportVgs(api: Api, vaultId: string): Promise<string> {
  const v = `/vaults/${encodeURIComponent(vaultId)}`;
  await api.request('GET', v); // vault_not_found before anything is printed
  return renderVgsRoutes(await api.list<ApiRoute>(`${v}/routes`));
}

export interface VaultExport {
  yaml: string;
  /** The public chains the YAML refers to, by path relative to the YAML file. */
  files: { path: string; text: string }[];
  /** The key_file paths the user fills in. */
  keyFiles: string[];
}

export async function exportVault(api: Api, vaultId: string): Promise<VaultExport> {
  const v = `/vaults/${encodeURIComponent(vaultId)}`;
  const vault = (await api.request<{ data: VaultState['vault'] }>('GET', v)).body.data;
  const [credentials, routes, certificates, hostnames] = await Promise.all([
    api.list<VaultState['credentials'][number]>(`${v}/credentials`),
    api.list<ApiRoute>(`${v}/routes`),
    api.list<VaultState['certificates'][number]>(`${v}/certificates`),
    api.list<VaultState['hostnames'][number]>(`${v}/hostnames`),
  ]);
  const files: VaultExport['files'] = [];
  const keyFiles: string[] = [];
  for (const c of certificates) {
    const one = await api.request<{ data: { certificate_pem: string } }>('GET', `${v}/certificates/${c.id}`);
    const paths = certificatePaths(c.id);
    files.push({ path: paths.cert_file, text: one.body.data.certificate_pem });
    keyFiles.push(paths.key_file);
  }
  for (const h of hostnames) {
    const one = await api.request<{ data: { certificate_pem: string } }>('GET', `${v}/hostnames/${h.id}`);
    const paths = hostnamePaths(h.hostname);
    files.push({ path: paths.cert_file, text: one.body.data.certificate_pem });
    keyFiles.push(paths.key_file);
  }
  return {
    yaml: renderVaultFile({ vault, credentials, routes, certificates, hostnames }),
    files,
    keyFiles,
  };
}
