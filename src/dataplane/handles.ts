import { lookup } from 'node:dns/promises';
import net from 'node:net';
import { getSystemErrorName } from 'node:util';

/** libuv's TCP server handle, as net._createServerHandle returns it (bound, not yet listening). */
export interface TcpHandle {
  getsockname(out: { port?: number }): number;
  close(): void;
}

type CreateServerHandle = (
  address: string,
  port: number,
  addressType: number,
  fd: number | undefined,
  flags: number,
) => TcpHandle | number;

/**
 * Binds a proxy port in the control plane without accepting on it. Workers receive the handle over
 * IPC and listen on it themselves, so the kernel spreads connections among them and the control
 * plane is never on a connection's path; the control plane only keeps the socket open, so port 0 is
 * resolved once (ports.json) and a replacement worker takes over the very same port.
 *
 * net._createServerHandle is what Node's own cluster module uses for the same job (shared handles);
 * the public API has no bind-without-listen, and a listening net.Server in the control plane would
 * accept connections itself.
 */
export async function bindSharedPort(
  host: string,
  port: number,
): Promise<{ handle: TcpHandle; port: number }> {
  const address = net.isIP(host) ? host : (await lookup(host)).address;
  const create = (net as unknown as { _createServerHandle: CreateServerHandle })._createServerHandle;
  const handle = create(address, port, net.isIP(address), undefined, 0);
  if (typeof handle === 'number') {
    const code = getSystemErrorName(handle);
    throw Object.assign(new Error(`listen ${code}: address ${address}:${port} cannot be bound`), {
      code,
      errno: handle,
      syscall: 'listen',
    });
  }
  const out: { port?: number } = {};
  handle.getsockname(out);
  return { handle, port: out.port ?? port };
}
