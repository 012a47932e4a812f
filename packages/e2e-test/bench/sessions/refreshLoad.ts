import { Agent, request } from 'node:http';
import { runLoad, type LoadResult } from '@redis-session/test-support';

/**
 * One GET over a kept-alive connection: its status and Set-Cookie headers.
 * node:http rather than fetch: the load generator shares the 2 cores with
 * the backend it measures, and fetch costs it several times the CPU per
 * request, which showed up as the fast path's latency.
 */
function get(
  url: URL,
  headers: Record<string, string>,
  agent: Agent,
): Promise<{ status: number; setCookie: string[] }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, agent }, res => {
      res.on('data', () => {});
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          setCookie: res.headers['set-cookie'] ?? [],
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

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
  const url = new URL(`${authUrl}/refresh?env=development`);
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  try {
    return await runLoad({
      concurrency,
      durationMs: options.durationMs,
      warmupMs: options.warmupMs,
      op: async w => {
        const res = await get(
          url,
          {
            'x-requested-with': 'XMLHttpRequest',
            cookie: `${cookieName}=${cookies[w]}`,
          },
          agent,
        );
        if (res.status !== 200) {
          throw new Error(`refresh answered ${res.status}`);
        }
        for (const header of res.setCookie) {
          const match = new RegExp(`^${cookieName}=([^;]+)`).exec(header);
          if (match) cookies[w] = match[1];
        }
      },
    });
  } finally {
    agent.destroy();
  }
}
