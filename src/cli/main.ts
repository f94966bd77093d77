// The entry point of `vaultgate <command> …` (bin/vaultgate.js): the server's modules are never loaded.
import { runCli } from './index.js';

// `vaultgate routes list | head` closes the pipe early: that is the reader's choice, not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

process.exitCode = await runCli(process.argv.slice(2));
