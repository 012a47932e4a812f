import { memorySessionStorage } from './memorySessionStorage';
import { describeSessionStoreContract } from '../sessionStoreContract';

describeSessionStoreContract('MemorySessionStore', async () =>
  memorySessionStorage(),
);
