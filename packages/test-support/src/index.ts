/**
 * Test support shared by the module's own tests and packages/e2e-test.
 * Never published; the module has it as a devDependency only.
 */
export { CapturingLogger } from './CapturingLogger';
export { closingDatabaseServiceFactory } from './closingDatabaseServiceFactory';
export { freePort } from './freePort';
export { RedisServer } from './RedisServer';
export { redisCommandsDuring } from './redisCommandCalls';
export { spawnUntilReady, stopChild } from './childProcess';
export {
  markdownTable,
  ms,
  summarize,
  timeRepeated,
  type LatencySummary,
} from './stats';
export { mergeLoads, runLoad, type LoadResult } from './runLoad';
