/**
 * Issue 11, the request SIGTERM lost (test/reliability.short.test.ts, 1 of 433): Node's
 * closeIdleConnections(), which server.close() calls, destroys a connection whose response has been
 * end()ed but whose last bytes are still queued — `res.finished` is set by end(), not by the flush.
 * drain() ran at such an instant and the client got a truncated answer the upstream had completed.
 * spareFlushingResponses (src/proxy/http/idle-sweep.ts) holds the sweep until those bytes are out.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { spareFlushingResponses } from '../src/proxy/http/idle-sweep.js';

/** More than loopback socket buffers hold, so the answer is still being written when close() runs. */
const BODY = 32 * 1024 * 1024;

async function closeWhileFlushing(spare: boolean): Promise<{ received: number; complete: boolean }> {
  let ended: () => void = () => undefined;
  const endedOnServer = new Promise<void>((resolve) => (ended = resolve));
  const server = http.createServer((_req, res) => {
    res.end(Buffer.alloc(BODY, 0x61));
    ended();
  });
  if (spare) spareFlushingResponses(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const agent = new http.Agent({ keepAlive: true });
  const response = new Promise<http.IncomingMessage>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, agent }, resolve).on('error', reject);
  });
  const res = await response;
  res.pause(); // a client slower than the proxy: the answer's tail waits in the server's buffers
  await endedOnServer;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  let received = 0;
  const outcome = new Promise<boolean>((resolve) => {
    res.on('data', (c: Buffer) => (received += c.length));
    res.on('end', () => resolve(true));
    res.on('error', () => resolve(false));
    res.on('aborted', () => resolve(false));
  });
  res.resume();
  const complete = await outcome;
  agent.destroy();
  await closed;
  return { received, complete };
}

describe('shutdown never truncates an answer that is still being written', () => {
  it('the hazard: Node’s own close() cuts a response that has ended but not flushed', async () => {
    const { received, complete } = await closeWhileFlushing(false);
    expect(complete && received === BODY).toBe(false);
  });

  it('with spareFlushingResponses, close() lets it finish, then closes the idle connection', async () => {
    const { received, complete } = await closeWhileFlushing(true);
    expect(complete).toBe(true);
    expect(received).toBe(BODY);
  });
});
