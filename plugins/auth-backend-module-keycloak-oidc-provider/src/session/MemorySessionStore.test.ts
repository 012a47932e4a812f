import { MemorySessionStore } from './MemorySessionStore';
import { describeSessionStoreContract } from './sessionStoreContract';

describeSessionStoreContract(
  'MemorySessionStore',
  async () => new MemorySessionStore(),
);
