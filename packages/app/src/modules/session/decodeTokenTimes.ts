import { decodeJwt } from 'jose';

export interface TokenTimes {
  issuedAt?: Date;
  expiresAt?: Date;
  authTime?: Date;
}

const toDate = (seconds: unknown) =>
  typeof seconds === 'number' ? new Date(seconds * 1000) : undefined;

/**
 * Reads the times in a token the backend gave us, for display only: the
 * backend has verified it, and nothing here trusts these values.
 */
export function decodeTokenTimes(token: string | undefined): TokenTimes {
  if (!token) return {};
  try {
    const claims = decodeJwt(token);
    return {
      issuedAt: toDate(claims.iat),
      expiresAt: toDate(claims.exp),
      authTime: toDate(claims.auth_time),
    };
  } catch {
    return {};
  }
}
