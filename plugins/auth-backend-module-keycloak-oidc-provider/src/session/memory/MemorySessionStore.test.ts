import { describeSessionQueriesContract } from '../sessionQueriesContract';
import { describeSessionStoreContract } from '../sessionStoreContract';
import { memorySessionStorage } from './memorySessionStorage';

describeSessionStoreContract('MemorySessionStore', async () =>
  memorySessionStorage(),
);
describeSessionQueriesContract('MemorySessionStore', async () =>
  memorySessionStorage(),
);
