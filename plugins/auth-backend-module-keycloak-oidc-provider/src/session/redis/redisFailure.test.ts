import { isUnavailableReply } from './redisFailure';

describe('which Redis replies are an outage (503) and which a bug', () => {
  it.each([
    // Redis 7
    "OOM command not allowed when used memory > 'maxmemory'.",
    "READONLY You can't write against a read only replica.",
    "NOPERM User backstage has no permissions to run the 'getdel' command",
    "ERR The user executing the script can't run this command or subcommand script: 6c9e…, on @user_script:2.",
    'LOADING Redis is loading the dataset in memory',
    'CLUSTERDOWN The cluster is down',
    // Redis 6.2: errors that scripts meet come wrapped
    "ERR Error running script (call to f_6c9e…): @user_script:4: @user_script: 4: -OOM command not allowed when used memory > 'maxmemory'.",
    "ERR Error running script (call to f_6c9e…): @user_script:2: @user_script: 2: -READONLY You can't write against a read only replica.",
    "ERR Error running script (call to f_6c9e…): @user_script:1: @user_script: 1: The user executing the script can't run this command or subcommand",
  ])('outage: %s', message => {
    expect(isUnavailableReply(message)).toBe(true);
  });

  it.each([
    'WRONGTYPE Operation against a key holding the wrong kind of value',
    'ERR Error running script (call to f_6c9e…): @user_script:3: user_script:3: attempt to compare nil with number',
    'ERR wrong number of arguments for the HSET command',
  ])('bug: %s', message => {
    expect(isUnavailableReply(message)).toBe(false);
  });
});
