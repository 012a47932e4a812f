import type { LogoutTokenReplayCache } from '../types';
/** Logout token ids seen by this process. */
export class MemoryLogoutTokenCache implements LogoutTokenReplayCache {
  readonly #seen = new Map<string, number>();

  constructor(private readonly now: () => number) {}

  async markSeen(jti: string, ttlMs: number): Promise<boolean> {
    const at = this.now();
    for (const [seen, expiresAt] of this.#seen) {
      if (expiresAt <= at) this.#seen.delete(seen);
    }
    if (this.#seen.has(jti)) {
      return false;
    }
    this.#seen.set(jti, at + ttlMs);
    return true;
  }
}
