/**
 * The renter's side, outside the storage engine: the client of the node's
 * Negotiator API (one call per `contract` command), the renter key that signs
 * requests to hosts, the portable export of a store, and the contracted hosts
 * as the engine's Backends; choosing, adding and removing hosts under the
 * renter policy (`store hosts`). The engine itself knows Backends only.
 *
 * @example
 * const client = NodeClient.connect(datadir);
 * const renter = await renterKey(datadir, keys);
 * const { hosts } = await contractedHosts(client, datadir, renter.publicKey);
 * const store = await Store.open({ keys, backends: await hostBackends(hosts, renter.secretKey), stateDir });
 */
export {
  acceptOffer, approve, createOffer, listContracts, listOffers, negotiatorApi, pending, rateContract, refuse, reputation, settleContract, showContract, withdrawOffer,
  type AcceptOptions, type OfferOptions,
} from './negotiator-api.js';
export { contractedHosts, hostBackends, rememberHosts, type HostEntry } from './hosts.js';
export { exportStore, importStore, renterKey } from './renter-key.js';
export { postSectorSets } from './sector-sets.js';
export { chooseHosts, rankOffers, scoreOffer, type ChoiceResult, type HostMarket } from './host-choice.js';
export { markHostRemoved, removedHosts } from './removed-hosts.js';
export { addStoreHost, chooseStoreHosts, listStoreHosts, nodeMarket, removeStoreHost, type StoreHostRow } from './store-hosts.js';
