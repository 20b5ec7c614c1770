import { readFileSync } from 'node:fs';
import net from 'node:net';

/**
 * A TCP port free on 127.0.0.1 right now, for a server started a moment later (a Temporal
 * dev server and its Web UI, a model server). Picked below the kernel's ephemeral range:
 * a port the OS chose could be handed out again meanwhile to any socket bound to port 0 —
 * the dev server's own internal services bind several — and the server then fails with
 * "address already in use". One picked here can only be taken by someone naming it.
 */
export async function freePort(): Promise<number> {
  const [low, high] = pickRange();
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low));
    // Not one handed out already: the servers it was picked for may not be listening yet.
    if (handedOut.has(port)) continue;
    if ((await listenOn(port)) !== undefined) return handOut(port);
  }
  // Everything tried is taken (a crowded machine): let the OS choose.
  const port = await listenOn(0);
  if (port === undefined) throw new Error('no free TCP port on 127.0.0.1');
  return handOut(port);
}

const handedOut = new Set<number>();
function handOut(port: number): number {
  handedOut.add(port);
  return port;
}

/** Below the ephemeral range (Linux: /proc; elsewhere the IANA range starts at 49152). */
function pickRange(): [number, number] {
  let ephemeralStart = 49_152;
  try {
    ephemeralStart = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || ephemeralStart;
  } catch {
    // not Linux
  }
  const high = Math.max(ephemeralStart, 11_024);
  return [Math.max(1_024, high - 12_000), high];
}

/** Listens on `port` and closes again: the port it got, or undefined when it is taken. */
function listenOn(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(undefined));
    srv.listen(port, '127.0.0.1', () => {
      const bound = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(bound));
    });
  });
}

/** Whether `port` can be listened on at 127.0.0.1 right now. */
export async function portIsFree(port: number): Promise<boolean> {
  return (await listenOn(port)) !== undefined;
}

/** Whether something accepts TCP connections at host:port. */
export function tcpOpen(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
