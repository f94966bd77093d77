#!/usr/bin/env node
// The `vaultgate` command: runs the compiled server, or the command line.

// Under `npx vaultgate` (npm exec) npm runs the command through `sh -c`, and passes a SIGTERM it gets
// on to that shell alone: Debian's sh (dash) dies of it without passing it on, and vaultgate would be
// left running, orphaned, with its ports bound. So when npm started us and our parent shell goes
// away, npm was told to stop: stop as SIGTERM does (drain, exit 0). Only under npm: a vaultgate
// started from an interactive shell that then exits (`nohup vaultgate &`) must keep running.
if (process.env.npm_command === 'exec') {
  const parent = process.ppid;
  const watch = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(watch);
    process.kill(process.pid, 'SIGTERM');
  }, 500).unref();
}

// `vaultgate <command> …` (a first argument that is not a flag) is the command line (src/cli/);
// anything else starts the server.
const first = process.argv[2];
if (first !== undefined && !first.startsWith('-')) await import('../dist/src/cli/main.js');
else await import('../dist/src/main.js');
