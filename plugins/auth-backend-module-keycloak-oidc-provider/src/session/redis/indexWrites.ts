import type { SideWrite } from './RedisExecutor';
import type { RedisKeyLayout } from './redisKeyLayout';

/**
 * The writes that keep a session's indexes in other slots in step with its
 * expiry: the set of live sessions (ZADD XX when `existing`, so a refresh
 * racing a deletion does not count the session again) and the `sid` and
 * entity pointers (extended, never re-added: a set shared by several
 * sessions lives as long as the longest).
 */
export function slideIndexes(
  layout: RedisKeyLayout,
  session: { id: string; sidId?: string | null; entityRef?: string | null },
  ttlMs: number,
  now: number,
): SideWrite[] {
  const writes: SideWrite[] = [
    p => p.trackActive(layout.active(), now, now + ttlMs, session.id, 'XX'),
  ];
  if (session.sidId) {
    const key = layout.sidPointer(session.sidId);
    writes.push(p => p.pointer(key, '', ttlMs));
  }
  if (session.entityRef) {
    const key = layout.entityPointer(session.entityRef);
    writes.push(p => p.pointer(key, '', ttlMs));
  }
  return writes;
}
