// @ts-check

/**
 * Keycloak's redirect URI rule: a registered value ending in `*` matches
 * every URI that starts with the rest; anything else must match exactly.
 *
 * The URI is parsed and compared in its normalized form, never as the
 * string the client sent: `http://localhost:7007@evil.example/` starts
 * with `http://localhost:7007` but goes to evil.example. URIs with user
 * info or a scheme other than http(s) never match, and a prefix that ends
 * inside the host or port must be followed by the path (so
 * `http://localhost:3000*` does not match port 30001).
 *
 * @param {string[]} patterns
 * @returns {(uri: string) => boolean}
 */
export function redirectMatcher(patterns) {
  return uri => {
    let url;
    try {
      url = new URL(uri);
    } catch {
      return false;
    }
    if (url.username || url.password) return false;
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
    const normalized = url.href;
    return patterns.some(pattern => {
      if (!pattern.endsWith('*')) {
        try {
          return normalized === new URL(pattern).href;
        } catch {
          return false;
        }
      }
      const prefix = pattern.slice(0, -1);
      if (!normalized.startsWith(prefix)) return false;
      const rest = normalized.slice(prefix.length);
      return /[/?#:]$/.test(prefix) || rest === '' || /^[/?#]/.test(rest);
    });
  };
}
