const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

/**
 * What browsers do in a working day, compressed: each user loads a page
 * (one `/refresh`) after a think time, and on some page loads a second tab
 * refreshes at the same moment. Returns how many refreshes were answered
 * and how many failed.
 */
export async function pageLoadMix(options: {
  authUrl: string;
  providerId: string;
  /** one per user */
  cookies: string[];
  durationMs: number;
  /** think time between a user's page loads, ms */
  thinkMs: [number, number];
  /** chance that a page load comes with a second tab's refresh */
  secondTab: number;
}): Promise<{ refreshes: number; errors: number }> {
  const cookieName = `${options.providerId}-refresh-token`;
  const cookies = [...options.cookies];
  let refreshes = 0;
  let errors = 0;
  const refresh = async (user: number) => {
    const res = await fetch(`${options.authUrl}/refresh?env=development`, {
      headers: {
        'x-requested-with': 'XMLHttpRequest',
        cookie: `${cookieName}=${cookies[user]}`,
      },
    });
    await res.arrayBuffer();
    if (res.status === 200) refreshes++;
    else errors++;
    for (const header of res.headers.getSetCookie()) {
      const match = new RegExp(`^${cookieName}=([^;]+)`).exec(header);
      if (match) cookies[user] = match[1];
    }
  };
  const [minThink, maxThink] = options.thinkMs;
  const until = Date.now() + options.durationMs;
  await Promise.all(
    cookies.map(async (_, user) => {
      // users do not start in step
      await sleep(Math.random() * maxThink);
      while (Date.now() < until) {
        await Promise.all([
          refresh(user),
          ...(Math.random() < options.secondTab ? [refresh(user)] : []),
        ]);
        await sleep(minThink + Math.random() * (maxThink - minThink));
      }
    }),
  );
  return { refreshes, errors };
}
