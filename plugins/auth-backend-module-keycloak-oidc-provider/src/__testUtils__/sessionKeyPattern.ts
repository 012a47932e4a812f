/**
 * The `KEYS`/`SCAN` pattern of session hashes under a prefix: one per
 * signed-in browser, without the user indexes, pointers or refresh locks
 * (the key id after `:s:` is exactly 43 characters).
 */
export const sessionKeyPattern = (prefix = 'test:session:') =>
  `${prefix}{u:*}:s:${'?'.repeat(43)}`;
