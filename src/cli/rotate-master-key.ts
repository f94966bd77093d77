/** `vaultgate rotate-master-key --new-key-file FILE` (SPEC §2): built in issue 17. */
export function rotateMasterKeyCommand(_args: string[], _env: NodeJS.ProcessEnv): Promise<number> {
  process.stderr.write('error: not_implemented: rotate-master-key is not built yet.\n');
  return Promise.resolve(2);
}
