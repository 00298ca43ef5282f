/** Why the sector store refused a write; routes.ts maps each code to an HTTP status. */
export type SectorStoreErrorCode = 'over-contract' | 'full' | 'busy' | 'bad-body';

export class SectorStoreError extends Error {
  constructor(
    readonly code: SectorStoreErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SectorStoreError';
  }
}
