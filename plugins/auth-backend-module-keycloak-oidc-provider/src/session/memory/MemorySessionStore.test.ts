import { describeSessionQueriesContract } from '../../__testUtils__/sessionQueriesContract';
import { describeSessionStoreContract } from '../../__testUtils__/sessionStoreContract';
import { memorySessionStorage } from './memorySessionStorage';

describeSessionStoreContract('MemorySessionStore', async () =>
  memorySessionStorage(),
);
describeSessionQueriesContract('MemorySessionStore', async () =>
  memorySessionStorage(),
);
