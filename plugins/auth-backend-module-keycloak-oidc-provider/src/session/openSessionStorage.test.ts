import { ConfigReader } from '@backstage/config';
import { CapturingLogger, RedisServer } from '@redis-session/test-support';
import { readSessionStoreOptions } from '../config/readSessionStoreOptions';
import { sampleRecord } from '../__testUtils__/sessionStoreContract';
import { openSessionStorage } from './openSessionStorage';

let server: RedisServer;

beforeAll(async () => {
  server = await RedisServer.start();
});

afterAll(async () => {
  await server.dispose();
});

describe('openSessionStorage with durability: replicated', () => {
  // Found by the soak: after a Sentinel failover, until a replica had
  // synced again, every write's WAIT held the connection for its whole
  // timeout, and the reads queued behind them timed out: 503s for users
  // whose sessions only needed a read.
  it('answers reads while writes wait for a replica that is not there', async () => {
    const storage = await openSessionStorage(
      readSessionStoreOptions(
        new ConfigReader({
          auth: {
            session: {
              store: 'redis',
              redis: {
                url: server.url,
                prefix: 'durable:',
                commandTimeout: 2000,
                durability: 'replicated',
              },
            },
          },
        }),
      ),
      new CapturingLogger(),
    );
    try {
      const { sessions } = storage;
      const raw = server.client();
      const waiting = async () =>
        /cmd=wait/.test(String(await raw.client('LIST')));
      try {
        const write = sessions
          .createSession(sampleRecord(), 60_000)
          .catch(error => error);
        // until Redis holds the write's WAIT (1 s: half the command timeout)
        while (!(await waiting())) {
          await new Promise(r => setTimeout(r, 10));
        }
        expect(
          await sessions.getSession(`${'a'.repeat(16)}.${'b'.repeat(43)}`),
        ).toBeUndefined();
        // the read was answered while the WAIT still held its connection
        expect(await waiting()).toBe(true);
        expect(String(await write)).toMatch(/no replica acknowledged/);
      } finally {
        raw.disconnect();
      }
    } finally {
      await storage.close();
    }
  });
});
