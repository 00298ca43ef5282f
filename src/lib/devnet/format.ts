import { formatAmount } from '../wallet/amount.js';
import type { Participant } from './participant.js';

type Row = Participant & { running?: boolean; height?: number | null; peers?: number | null; balance?: number | null };

/** One line a participant, for people; scripts use --json. */
export function formatParticipants(rows: Row[]): string {
  return rows.map((p) => {
    const state = p.running === undefined ? '' : p.running ? `  height ${p.height}  peers ${p.peers}  ${formatAmount(p.balance ?? 0)} CC` : '  stopped';
    const server = p.serverUrl ? `  files ${p.serverUrl}` : '';
    return `${p.name.padEnd(8)} P2P ${p.port}  HTTP ${p.httpPort}  wallet ${p.walletPort}${server}  ${p.address}  ${p.datadir}${state}`;
  }).join('\n');
}
