/** Joins a connection to a new one both ways; either end failing closes the other, as a refused connection would look. */
import type { Socket } from 'node:net';

export function splice(inbound: Socket, outbound: Socket): void {
  inbound.pipe(outbound).pipe(inbound);
  outbound.on('error', () => inbound.destroy());
  inbound.on('error', () => outbound.destroy());
}
