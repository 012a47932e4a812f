/**
 * Seals token sets before they reach the store and opens them after; the
 * store passes the key it stores under as associated data, so a sealed
 * value copied to another key does not open. `RecordCipher` implements it.
 */
export interface RecordSealer {
  seal(plaintext: string, associatedData: string): string;
  open(
    sealed: string,
    associatedData: string,
  ): { plaintext: string } | { failure: 'unknown-key' | 'corrupt' };
}
