/**
 * Runs inside a machine's namespace: a node's HTTP APIs listen on that
 * namespace's 127.0.0.1 only, so this relays each Unix socket given (a file,
 * which every namespace sees) to a loopback port there, for the netsim
 * process in the root namespace.
 *
 *   node forward.js <socket> <port> [<socket> <port> …]
 */
import { rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { splice } from './splice.js';

const args = process.argv.slice(2);
for (let i = 0; i + 1 < args.length; i += 2) {
  const [socket, port] = [args[i], Number(args[i + 1])];
  rmSync(socket, { force: true });
  // A node that is stopped (churn) refuses: the caller sees its request fail, as it would on one machine.
  createServer((inbound) => splice(inbound, connect(port, '127.0.0.1'))).listen(socket);
}
process.on('SIGTERM', () => process.exit(0));
