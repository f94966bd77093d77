import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../config/settings.js';

/**
 * The two secrets SPEC §1 allows in the data dir in clear: master.key and admin-token, each created
 * once with mode 0600 (`wx` so two processes starting together cannot both write one).
 */
export interface LoadedSecret<T> {
  value: T;
  /** True when this start generated it: only then may it be printed. */
  created: boolean;
}

function readOrCreate(path: string, make: () => string): LoadedSecret<string> {
  if (existsSync(path)) return { value: readFileSync(path, 'utf8').trim(), created: false };
  const value = make();
  try {
    writeFileSync(path, value + '\n', { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST')
      return { value: readFileSync(path, 'utf8').trim(), created: false };
    throw err;
  }
  chmodSync(path, 0o600);
  return { value, created: true };
}

export function loadMasterKey(dataDir: string, fromSettings: Buffer | undefined): LoadedSecret<Buffer> {
  if (fromSettings) return { value: fromSettings, created: false };
  const path = join(dataDir, 'master.key');
  const { value, created } = readOrCreate(path, () => randomBytes(32).toString('base64'));
  const key = Buffer.from(value, 'base64');
  if (key.length !== 32)
    throw new ConfigError(`${path} must hold the base64 of exactly 32 bytes; it is damaged.`);
  return { value: key, created };
}

export function loadAdminToken(dataDir: string, fromSettings: string | undefined): LoadedSecret<string> {
  if (fromSettings) return { value: fromSettings, created: false };
  return readOrCreate(join(dataDir, 'admin-token'), () => `vgadm_${randomBytes(24).toString('base64url')}`);
}
