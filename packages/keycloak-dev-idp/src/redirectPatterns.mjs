// @ts-check

/**
 * Keycloak's redirect URI rule: a registered value ending in `*` matches
 * every URI that starts with the rest; anything else must match exactly.
 *
 * @param {string[]} patterns
 * @returns {(uri: string) => boolean}
 */
export function redirectMatcher(patterns) {
  return uri =>
    patterns.some(pattern =>
      pattern.endsWith('*')
        ? uri.startsWith(pattern.slice(0, -1))
        : uri === pattern,
    );
}
