/**
 * The Negotiator's public surface. Its core library needs no running node:
 * P2P packets (src/lib/net/packets.ts), the OfferPool, the Negotiator and its
 * Negotiation state machine, the escrow builders, the on-chain records, the
 * registry indexer and reputation, proof windows and commitment revisions;
 * docs/protocol.md describes the formats and rules. The half wired to a node lives in node/ (the NegotiatorService,
 * its HTTP routes, the node extension and the NodeAdapter it reaches the node
 * through): other domains import only its JSON types from here.
 */
export { decode, encode, isCloudCoinCommand, MAX_SIZE, types, type AnyPacket, type PacketType } from '../net/packets.js';
export { BanScore, ProtocolError, isProtocolError } from '../net/errors.js';
export { dispatch, type Delivery } from './dispatch.js';
export { OfferPool, type AddResult, type OfferPoolOptions } from './offerpool.js';
export { Negotiation, type InputSigner, type NegotiationInfo, type NegotiationState, type ProposedTerms } from './negotiation.js';
export { Negotiator, type FundingWallet, type HostOptions, type NegotiatorOptions, type Outcome } from './negotiator.js';
export { HostPolicy, renterDecision, MAX_START_DELAY, type Decision, type HostLimits, type Load, type RenterLimits } from './policy.js';
export {
  COLLATERAL_DELAY, FundingOutput, REFUND_DELAY, assembleFunding, cooperativeWitness, escrowOutputScript, escrowScript, locksEscrow,
  ownerRefundHeight, refundHeightOf, refundWitness, signEscrowInput, spendEscrow, type EscrowKind,
} from './escrow.js';
export {
  MIN_PAYOUT, SETTLEMENT_FEE, buildSettlement, completeSettlement, payoutScript, settlementAmounts, settlementOutputs,
  signSettlement, verifySettlementSig, type SettlementAmounts, type SettlementKind, type SettlementState, type SettlementVariant,
} from './settlement.js';
export { ContractRecord, OutcomeKind, OutcomeRecord, RatingRecord, decodeRecord, signTerms } from './records.js';
export { Registry, type BlockSummary, type Role, type Tip } from './registry.js';
export {
  ContractEntry, RatingEntry, type ContractInfo, type ContractOutcome, type ContractState, type RatingInfo, type SpendBy,
} from './entries.js';
export { autoRating, type RatingRole } from './autorating.js';
export { reputationFromRegistry, reputationOf, type Fulfilment, type Reputation } from './reputation.js';
export { IDENTITY_FILE, loadIdentity } from './identity.js';
export { ProofWindows, challengeOf, challengeSeed, type Challenge } from './windows.js';
export { REVISION_DOMAIN, REVISION_SIZE, Revision, type RevisionFields } from './revision.js';
export { proofWindowOf } from '../chain/proof-window.js';
export type { RegistryDB } from './undo.js';
export type { ContractDetail, ContractListItem } from './node/service.js';
export type { FulfilmentInfo } from './node/contract-fulfilment.js';
export type { HostSettings, OfferInfo, OfferRequest, OfferTerms } from './node/offerbook.js';
export type { NegotiateRequest, NegotiateResult, NegotiationOutcome, PendingInfo } from './node/peernegotiations.js';
