// The entry point of `vaultgate <command> …` (bin/vaultgate.js): the server's modules are never loaded.
import { runCli } from './index.js';

process.exitCode = await runCli(process.argv.slice(2));
