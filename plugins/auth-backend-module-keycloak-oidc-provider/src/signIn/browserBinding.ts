import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A new secret for the login cookie: 256 random bits. */
export function newLoginSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** What the login transaction keeps of the secret: its SHA-256. */
export function browserBindingOf(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}

/** Whether the login cookie's secret is the one the transaction was made for. */
export function isSameBrowser(
  cookieSecret: string | undefined,
  browserBinding: string | undefined,
): boolean {
  if (!cookieSecret || !browserBinding) {
    return false;
  }
  const expected = Buffer.from(browserBinding);
  const actual = Buffer.from(browserBindingOf(cookieSecret));
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
