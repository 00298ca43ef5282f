/**
 * The store tells its node which sectors it put on each contract: the set the
 * renter's daemon expects each host to hold, against which it checks the host's
 * roots and signs commitment revisions (docs/store.md, "Sector sets"). Sent
 * after each store command, as `PUT /ext/negotiator/contracts/<id>/sectors
 * { ids }`; a node that cannot take it now (stopped, an older one without the
 * route) costs the command nothing: the set is sent whole again next time.
 */
import type { NodeClient } from '../node/node-client.js';
import type { HostEntry } from './hosts.js';

/**
 * Posts each host's set, named by host key in `sets` (the store's backend
 * names), for that host's contract. Never throws; returns the contracts whose
 * set the node took.
 */
export async function postSectorSets(client: NodeClient, hosts: HostEntry[], sets: Map<string, string[]>): Promise<string[]> {
  const taken = await Promise.all(
    hosts.map(async (h) => {
      try {
        await client.node('PUT', `/ext/negotiator/contracts/${h.contractId}/sectors`, { ids: sets.get(h.hostKey) ?? [] });
        return h.contractId;
      } catch {
        return null;
      }
    }),
  );
  return taken.filter((id): id is string => id !== null);
}
