/**
 * CloudCoin's own relay policy on top of bcoin's. Consensus is untouched; only
 * standardness differs: contract and rating records travel in one OP_RETURN
 * output, which needs more room than Bitcoin's 80 bytes.
 *
 * bcoin reads these limits from its policy module at call time, so setting them
 * once, before any node or transaction is made, applies them everywhere.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const policy = require('bcoin/lib/protocol/policy.js');

/** Largest data payload of one OP_RETURN output, in bytes. */
export const MAX_DATA_CARRIER = 1024;

policy.MAX_OP_RETURN = MAX_DATA_CARRIER;
// The whole script: OP_RETURN, a PUSHDATA2 opcode with its 2-byte length, then the data.
policy.MAX_OP_RETURN_BYTES = MAX_DATA_CARRIER + 4;
