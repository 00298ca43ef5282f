/**
 * A host that is up but never answers: a TCP server on 127.0.0.1 that takes
 * connections and says nothing, closed (with its connections) in the test's
 * teardown. What a hung file server looks like to its clients.
 */
import type { ExecutionContext } from 'ava';
import { createServer, type Socket } from 'node:net';

/** The silent server's http: URL. */
export async function silentServer(t: ExecutionContext): Promise<string> {
  const sockets = new Set<Socket>();
  const silent = createServer((s) => sockets.add(s));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    silent.close();
  });
  const { port } = silent.address() as { port: number };
  return `http://127.0.0.1:${port}/`;
}
