/**
 * Issue 7 item 6, issue 13 item 1: repeated wrong admin tokens, dashboard sign-ins and proxy
 * credentials from one address are throttled (429 + Retry-After) after VAULTGATE_AUTH_FAILURES_PER_MINUTE
 * failures (per username; guessed usernames after ADDRESS_FACTOR times as many), while a correct
 * credential — from the attacking address too — keeps getting through: no lock-out. Client sockets
 * are bound to distinct loopback addresses (127.0.0.x) so the process sees distinct clients.
 */
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { ADDRESS_FACTOR } from '../../src/limits/throttle.js';
import { startVaultgateProcess, type VaultgateProcess } from '../../test/helpers/abuse-process.js';
import { checker, type ScenarioOptions, type ScenarioResult } from '../../test/helpers/abuse-scenario.js';
import { basic } from '../../test/helpers/outbound-client.js';

const LIMIT = 5;

interface Answer {
  status: number;
  retryAfter: string | undefined;
}

function call(
  port: number,
  from: string,
  opts: { method?: string; path: string; headers?: Record<string, string>; body?: string },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        localAddress: from,
        agent: false,
        method: opts.method ?? 'GET',
        path: opts.path,
        headers: opts.headers,
        timeout: 10_000,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** A CONNECT from `from`; the status line of the answer. */
function connect(port: number, from: string, auth: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress: from });
    let text = '';
    const timer = setTimeout(() => socket.destroy(new Error('timeout')), 10_000);
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (text.includes('\r\n\r\n')) {
        clearTimeout(timer);
        socket.destroy();
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
        resolve({ status, retryAfter: /\r\nRetry-After: (\d+)/i.exec(text)?.[1] });
      }
    });
    socket.on('error', reject);
    socket.write(
      `CONNECT localhost:443 HTTP/1.1\r\nHost: localhost:443\r\nProxy-Authorization: ${auth}\r\n\r\n`,
    );
  });
}

export async function run(options: ScenarioOptions = {}): Promise<ScenarioResult> {
  const started = Date.now();
  const { check, failures } = checker();
  const figures: Record<string, number | string> = {};
  let vg: VaultgateProcess | undefined;
  // The absolute-form requests' upstream: vaultgate's own ports are never upstreams (SPEC §4).
  const upstream = http.createServer((_req, res) => res.end('ok'));
  try {
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/`;
    vg = await startVaultgateProcess(
      {
        VAULTGATE_AUTH_FAILURES_PER_MINUTE: String(LIMIT),
        // Workers share failures through the control plane, which relays each one to the others
        // (src/dataplane/shared-throttle.ts): a guess that lands on another worker before the relay
        // does counts one short, so with two workers throttling began at attempt 22 instead of 21
        // once in a full npm test. One worker makes "attempt N + 1 is refused" exact.
        VAULTGATE_WORKERS: '1',
      },
      options.evidence,
    );
    const { admin, outbound } = vg.proc.ports;
    const good = basic(vg.credential);
    const wrongProxy = basic({ username: vg.credential.username, password: 'wrong-password' });
    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
    const attempts = options.quick ? LIMIT + 3 : LIMIT + 50;

    const abuse = async (
      label: string,
      attacker: string,
      wrong: (from: string) => Promise<Answer>,
      right: (from: string) => Promise<Answer>,
      refusedStatus: number,
      bystander: string,
      limit = LIMIT,
    ): Promise<void> => {
      const statuses: number[] = [];
      let retryAfter: string | undefined;
      for (let i = 0; i < attempts + limit - LIMIT; i++) {
        const a = await wrong(attacker);
        statuses.push(a.status);
        if (a.status === 429) retryAfter ??= a.retryAfter;
      }
      const firstThrottled = statuses.indexOf(429);
      const rightFromAttacker = await right(attacker);
      const rightFromOther = await right(bystander);
      // The attacker keeps guessing after the right credential went through: still 429.
      const wrongAfter = await wrong(attacker);
      figures[`${label}: refusals before 429`] = firstThrottled;
      figures[`${label}: Retry-After (s)`] = retryAfter ?? 'none';
      figures[`${label}: correct credentials from the attacking ${attacker}`] = rightFromAttacker.status;
      figures[`${label}: correct credentials from ${bystander}`] = rightFromOther.status;
      check(
        statuses.slice(0, limit).every((s) => s === refusedStatus),
        `${label}: the first ${limit} wrong attempts were not all ${refusedStatus}: ${statuses.join(',')}`,
      );
      check(
        firstThrottled === limit,
        `${label}: throttling began at attempt ${firstThrottled + 1}, not ${limit + 1}`,
      );
      check(
        statuses.slice(limit).every((s) => s === 429) && wrongAfter.status === 429,
        `${label}: not every attempt over the limit got 429`,
      );
      const wait = Number(retryAfter);
      check(wait > 0 && wait <= 60, `${label}: Retry-After ${retryAfter} is not 1..60`);
      check(
        rightFromAttacker.status === 200,
        `${label}: the correct credential from the attacking address got ${rightFromAttacker.status}: a lock-out`,
      );
      check(
        rightFromOther.status === 200,
        `${label}: correct credentials from ${bystander} got ${rightFromOther.status}`,
      );
    };

    await abuse(
      'admin token',
      '127.0.0.2',
      (from) => call(admin, from, { path: '/api/v1/vaults', headers: bearer('wrong-token-0123456789') }),
      (from) => call(admin, from, { path: '/api/v1/vaults', headers: bearer(vg!.token) }),
      401,
      '127.0.0.3',
    );
    await abuse(
      'dashboard sign-in',
      '127.0.0.4',
      (from) =>
        call(admin, from, {
          method: 'POST',
          path: '/api/v1/session',
          body: JSON.stringify({ token: 'nope' }),
        }),
      (from) => call(admin, from, { path: '/api/v1/vaults', headers: bearer(vg!.token) }),
      401,
      '127.0.0.5',
    );
    await abuse(
      'proxy CONNECT',
      '127.0.0.6',
      (from) => connect(outbound, from, wrongProxy),
      (from) => connect(outbound, from, good),
      407,
      '127.0.0.7',
    );
    await abuse(
      'proxy absolute-form',
      '127.0.0.8',
      (from) => call(outbound, from, { path: upstreamUrl, headers: { 'proxy-authorization': wrongProxy } }),
      (from) => call(outbound, from, { path: upstreamUrl, headers: { 'proxy-authorization': good } }),
      407,
      '127.0.0.9',
    );
    let guess = 0;
    await abuse(
      'proxy usernames guessed',
      '127.0.0.10',
      (from) => connect(outbound, from, basic({ username: `USguess${guess++}`, password: 'x' })),
      (from) => connect(outbound, from, good),
      407,
      '127.0.0.11',
      LIMIT * ADDRESS_FACTOR,
    );
    check(vg.alive(), 'the vaultgate process died');
    figures['duration (s)'] = Math.round((Date.now() - started) / 1000);
    return {
      name: 'auth-abuse',
      figures,
      target: `429 + Retry-After from failure ${LIMIT + 1} on, per (address, username); correct credentials always let in`,
      pass: failures.length === 0,
      failures,
    };
  } catch (err) {
    failures.push(`scenario error: ${(err as Error).stack ?? String(err)}`);
    return { name: 'auth-abuse', figures, target: 'no scenario error', pass: false, failures };
  } finally {
    await vg?.stop();
    upstream.close();
  }
}

export default run;
