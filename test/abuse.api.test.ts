import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiHandler } from '../src/api/app.js';
import { createLogger } from '../src/observability/logger.js';

const lines: Record<string, unknown>[] = [];
let server: http.Server;
let port: number;

beforeAll(async () => {
  server = http.createServer(
    createApiHandler({
      endpoints: [
        {
          method: 'POST',
          path: '/echo',
          summary: 'test',
          noAuth: true,
          body: { type: 'object' },
          handler: ({ body }) => ({ status: 200, body }),
        },
      ],
      auth: { authenticate: () => Promise.resolve(undefined) },
      logger: createLogger('debug', {}, (line) => lines.push(JSON.parse(line) as Record<string, unknown>)),
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function send(data: string, ms = 2_000): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString()));
    socket.on('error', () => {});
    socket.once('close', () => resolve(text));
    setTimeout(() => socket.destroy(), ms);
    socket.write(data);
  });
}

describe('management API under client abuse', () => {
  // Regression: a client that aborted mid-body (or sent a chunk Node's parser refused) was logged at
  // error level as "management API request failed", with an attempt to answer 500 to nobody.
  it('treats a body the client broke off as the client leaving, not as an internal error', async () => {
    const broken =
      'POST /api/v1/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2;\nxx\r\n0\r\n\r\n';
    const answer = await send(broken);
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    const cut = await send('POST /api/v1/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"a":', 300);
    expect(cut).toBe('');
    await new Promise((r) => setTimeout(r, 100));
    expect(lines.filter((l) => l.level === 'error')).toEqual([]);
    expect(lines.some((l) => l.msg === 'management API client aborted its request')).toBe(true);
  });
});

describe('refused bodies', () => {
  // Found by the fuzz scenario: a body over 1 MiB got its 413 with Connection: close while the client
  // was still uploading; the kernel reset the connection over the unread bytes and the client now and
  // then saw ECONNRESET instead of the 413. The race shows against a separate process under load (the
  // full fuzz run, reliability/scenarios/fuzz.ts), rarely in-process; this test guards the behaviour.
  it('answers 413 to bodies over 1 MiB and the client reads it, every time', async () => {
    const big = JSON.stringify({ a: 'x'.repeat(1_100_000) });
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: big,
      });
      expect(res.status).toBe(413);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('payload_too_large');
    }
  });
});
