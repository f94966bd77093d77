import { createCredential } from './api/credentials.js';
import type { ApiContext } from './api/context.js';
import { createVault } from './api/vaults.js';

export interface DefaultVault {
  vaultId: string;
  inboundHost: string;
  username: string;
  /** Only on the start that created it: the password is never stored in clear. */
  password: string | undefined;
}

/**
 * The first start of an empty store creates a default sandbox vault with one access credential, so a
 * first-time user can try both proxies at once. Later starts find it again (but not its password).
 */
export async function bootstrapDefaultVault(ctx: ApiContext): Promise<DefaultVault | undefined> {
  const known = await ctx.store.read.getMeta('default_vault');
  if (known !== undefined) {
    const { vault_id, credential_id } = JSON.parse(known) as { vault_id: string; credential_id: string };
    const vault = await ctx.store.read.getVault(vault_id);
    const credential = vault ? await ctx.store.read.getCredential(vault_id, credential_id) : undefined;
    if (!vault || !credential) return undefined; // the user deleted them: respect that
    return {
      vaultId: vault.id,
      inboundHost: ctx.snapshot.current.vaultsById.get(vault.id)?.inboundHost ?? '',
      username: credential.username,
      password: undefined,
    };
  }
  // Instances sharing one PostgreSQL database may start together: write transactions are serialised,
  // so exactly one of them wins this claim and creates the default vault.
  const claimed = await ctx.store.write(async (repo) => {
    if ((await repo.getMeta('default_vault_claimed')) !== undefined) return false;
    await repo.setMeta('default_vault_claimed', new Date().toISOString());
    return true;
  });
  if (!claimed) return undefined;
  const vault = await createVault(ctx, 'system', { name: 'Default vault', environment: 'sandbox' });
  const { record, password } = await createCredential(ctx, 'system', vault.id, 'Created at first start');
  await ctx.store.write((repo) =>
    repo.setMeta('default_vault', JSON.stringify({ vault_id: vault.id, credential_id: record.id })),
  );
  return {
    vaultId: vault.id,
    inboundHost: ctx.snapshot.current.vaultsById.get(vault.id)?.inboundHost ?? '',
    username: record.username,
    password,
  };
}
