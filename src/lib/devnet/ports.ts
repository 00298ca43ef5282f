/**
 * Free TCP ports for local nodes and servers. They are drawn at random from
 * below the kernel's ephemeral range, not asked of it (port 0): the kernel
 * hands ephemeral ports to outgoing connections too, and a busy machine (a
 * flood of HTTP requests, dozens of P2P links) can take one of ours between
 * the moment it is chosen and the moment a node binds it. All sockets stay
 * open until every port is chosen, so one call never returns a port twice.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';

/** Below this, ports are too often fixed services' own. */
const LOWEST = 10_000;
const TRIES_PER_PORT = 50;

/** The first port of the kernel's ephemeral range (Linux default 32768). */
export function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 0 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

async function listen(port: number): Promise<Server | null> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(null));
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

async function bindOne(low: number): Promise<Server> {
  if (low - LOWEST >= 1_000) {
    for (let i = 0; i < TRIES_PER_PORT; i++) {
      const server = await listen(LOWEST + Math.floor(Math.random() * (low - LOWEST)));
      if (server) return server;
    }
  }
  const server = await listen(0);
  if (!server) throw new Error('no free TCP port on 127.0.0.1');
  return server;
}

export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  const low = ephemeralLow();
  try {
    for (let i = 0; i < count; i++) servers.push(await bindOne(low));
    return servers.map((s) => (s.address() as { port: number }).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}
