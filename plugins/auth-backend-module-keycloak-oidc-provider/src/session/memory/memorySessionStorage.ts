import type { SessionStorage } from '../types';
import { MemoryLogoutTokenCache } from './MemoryLogoutTokenCache';
import { MemorySessionStore } from './MemorySessionStore';

/** Storage in this process, for development and single-instance setups. */
export function memorySessionStorage(
  options: { now?: () => number } = {},
): SessionStorage & { sessions: MemorySessionStore } {
  const store = new MemorySessionStore(options);
  return {
    sessions: store,
    queries: store,
    logoutTokens: new MemoryLogoutTokenCache(options.now ?? Date.now),
    close: () => store.close(),
  };
}
