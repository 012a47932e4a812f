import type {
  BackstageSignInResult,
  TokenParams,
} from '@backstage/plugin-auth-node';
import { decodeJwt } from 'jose';

/**
 * What the sign-in resolver made of a session's user: the claims it asked
 * the Backstage token to carry (`sub`, the user entity; `ent`, its
 * ownership refs; and any a custom resolver added), as of `resolvedAt`.
 * Reissuing a token from them is what the resolver would have done, minus
 * the catalog lookup.
 */
export interface ResolvedIdentity {
  claims: TokenParams['claims'];
  /** epoch ms */
  resolvedAt: number;
}

// what every Backstage token gets from the token issuer, not the resolver
const ISSUED_CLAIMS = new Set([
  'iss',
  'aud',
  'iat',
  'exp',
  'uip',
  'nbf',
  'jti',
]);

/**
 * The identity behind a resolver's sign-in result. The token's claims say
 * what the resolver asked for; its `identity`, when given, has the
 * ownership refs a token configured to omit them lacks.
 */
export function identityOf(
  signIn: BackstageSignInResult,
  resolvedAt: number,
): ResolvedIdentity | undefined {
  let payload;
  try {
    payload = decodeJwt(signIn.token);
  } catch {
    return undefined;
  }
  const claims: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(payload)) {
    if (!ISSUED_CLAIMS.has(name)) claims[name] = value;
  }
  const sub = signIn.identity?.userEntityRef ?? payload.sub;
  if (typeof sub !== 'string') {
    return undefined;
  }
  const ent = signIn.identity?.ownershipEntityRefs ?? payload.ent;
  return {
    claims: {
      ...claims,
      sub,
      ...(Array.isArray(ent) && { ent: ent.map(String) }),
    },
    resolvedAt,
  };
}

/**
 * Whether a refresh may issue the Backstage token from a stored identity
 * instead of running the resolver: only within `maxAgeSeconds` of its
 * resolution (0: never).
 */
export function isReusable(
  identity: ResolvedIdentity | undefined,
  now: number,
  maxAgeSeconds: number,
): identity is ResolvedIdentity {
  return (
    identity !== undefined &&
    maxAgeSeconds > 0 &&
    identity.resolvedAt <= now &&
    identity.resolvedAt >= now - maxAgeSeconds * 1000
  );
}
