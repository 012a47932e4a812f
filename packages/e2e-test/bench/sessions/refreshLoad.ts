import { runLoad, type LoadResult } from '@redis-session/test-support';

/**
 * `/refresh` of one provider under load: worker `w` is one browser with its
 * own session cookie (the frontend's refresh call: GET with
 * X-Requested-With). A refresh cookie the backend re-sets (upstream's
 * rotated refresh token) replaces the worker's cookie, as a browser would.
 */
export async function refreshLoad(options: {
  authUrl: string;
  providerId: string;
  cookies: string[];
  concurrency: number;
  durationMs: number;
  warmupMs: number;
}): Promise<LoadResult> {
  const { authUrl, providerId, concurrency } = options;
  if (options.cookies.length < concurrency) {
    throw new Error(
      `${concurrency} clients need ${concurrency} sessions, have ${options.cookies.length}`,
    );
  }
  const cookieName = `${providerId}-refresh-token`;
  const cookies = [...options.cookies];
  return runLoad({
    concurrency,
    durationMs: options.durationMs,
    warmupMs: options.warmupMs,
    op: async w => {
      const res = await fetch(`${authUrl}/refresh?env=development`, {
        headers: {
          'x-requested-with': 'XMLHttpRequest',
          cookie: `${cookieName}=${cookies[w]}`,
        },
      });
      await res.arrayBuffer();
      if (res.status !== 200) {
        throw new Error(`refresh answered ${res.status}`);
      }
      for (const header of res.headers.getSetCookie()) {
        const match = new RegExp(`^${cookieName}=([^;]+)`).exec(header);
        if (match) cookies[w] = match[1];
      }
    },
  });
}
