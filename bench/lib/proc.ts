/**
 * Processes for the benchmark: spawning pinned to CPUs, waiting for ports, and reading CPU time and
 * resident memory of a whole process tree from /proc (nginx and HAProxy fork workers; the figures
 * must include them).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on every Linux we run on). */
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

export function which(cmd: string): string | null {
  const found = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() || null : null;
}

export interface Started {
  child: ChildProcess;
  /** Everything the process printed (bounded to the last 64 KiB). */
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Spawns `cmd args`, pinned to `cpus` (a taskset list such as "0" or "1") when given and taskset
 * exists. taskset execs the command, so the child's pid is the command's own.
 */
export function startPinned(
  cmd: string,
  args: string[],
  opts: { cpus?: string | undefined; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Started {
  const pinned = opts.cpus !== undefined && which('taskset') !== null;
  const child = spawn(pinned ? 'taskset' : cmd, pinned ? ['-c', opts.cpus as string, cmd, ...args] : args, {
    env: opts.env ?? process.env,
    cwd: opts.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // The first and the last 64 KiB: a tool's summary comes first (hey) or last (wrk), and a run that
  // prints one line per failed request must not push it out.
  let head = '';
  let tail = '';
  const keep = (d: Buffer): void => {
    const text = d.toString();
    if (head.length < 65_536) {
      head += text;
      return;
    }
    tail += text;
    if (tail.length > 65_536) tail = tail.slice(-65_536);
  };
  const out = (): string => (tail === '' ? head : `${head}\n…\n${tail}`);
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    child,
    output: out,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Runs a command to completion and returns stdout; throws with its output when it fails. */
export function runSync(cmd: string, args: string[], input?: string): string {
  const res = spawnSync(cmd, args, { encoding: 'utf8', input, maxBuffer: 64 * 1024 * 1024 });
  if (res.status !== 0) {
    throw new Error(
      `${cmd} ${args.join(' ')} failed (${res.status ?? res.signal}): ${res.stderr || res.stdout}`,
    );
  }
  return res.stdout;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A free TCP port on 127.0.0.1 (closed again before returning; the OS rarely reuses it at once). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Waits until something accepts TCP connections on 127.0.0.1:port. */
export async function waitForPort(port: number, timeoutMs: number, started?: Started): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (started && (started.child.exitCode !== null || started.child.signalCode !== null)) {
      throw new Error(`process exited before listening on ${port}: ${started.output()}`);
    }
    if (Date.now() > deadline) {
      throw new Error(
        `nothing listened on ${port} within ${timeoutMs} ms${started ? `: ${started.output()}` : ''}`,
      );
    }
    await sleep(50);
  }
}

/** The pid and all its descendants, read from /proc. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command name may contain spaces and parentheses: fields start after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ppid = Number(fields[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // The process ended while we looked.
    }
  }
  const out: number[] = [];
  const walk = (pid: number): void => {
    out.push(pid);
    for (const child of children.get(pid) ?? []) walk(child);
  };
  walk(root);
  return out;
}

/** User + system CPU seconds consumed so far by the given processes (and their threads). */
export function cpuSeconds(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // Fields 14 and 15 of stat(5) (utime, stime) are at 11 and 12 after the command name.
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // Gone: its time is lost, which only happens when a worker dies mid-run.
    }
  }
  return ticks / CLK_TCK;
}

/** Resident set size in MiB, summed over the processes (shared pages count once per process). */
export function rssMb(pids: readonly number[]): number {
  let kb = 0;
  for (const pid of pids) {
    try {
      const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      kb += Number(match?.[1] ?? 0);
    } catch {
      // Gone.
    }
  }
  return kb / 1024;
}

export function readPidFile(path: string): number | null {
  if (!existsSync(path)) return null;
  const pid = Number(readFileSync(path, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}
