/** What a simulated browser asked for. */
export type RequestKind =
  'page load' | 'second tab' | 'catalog' | 'sign-in' | 'sign-out';

/**
 * How a request ended: its HTTP status, `no answer` (refused, reset, timed
 * out) or, for a sign-in, `callback error` (the callback redirected to the
 * app with `?error=`, which is how Backstage reports a failed sign-in).
 */
export type RequestStatus = number | 'no answer' | 'callback error';

export interface RequestRecord {
  /** when it was sent (ms since the epoch) */
  at: number;
  ms: number;
  kind: RequestKind;
  status: RequestStatus;
}

export const isErrorStatus = (status: RequestStatus) =>
  typeof status !== 'number' || status >= 400;

/** A browser told to sign in again (a 401 from `/refresh`). */
export interface SignOutRecord {
  at: number;
  browser: number;
  /** its IdP session was gone (the IdP restarted since its login) */
  expected: boolean;
  /** the 401 cleared the refresh cookie */
  clean: boolean;
  /** the module found no session behind the cookie (it was lost) */
  sessionMissing: boolean;
}

/** A session that existed before a fault and is gone after it. */
export interface LostSessionRecord {
  at: number;
  browser: number;
}

/** Everything the soak saw, for the report to cut into periods. */
export class SoakRecorder {
  readonly requests: RequestRecord[] = [];
  readonly signOuts: SignOutRecord[] = [];
  readonly lostSessions: LostSessionRecord[] = [];
  /** why sign-ins failed, by message (the first 20 messages) */
  readonly signInFailures = new Map<string, number>();

  request(record: RequestRecord) {
    this.requests.push(record);
  }

  signOut(record: SignOutRecord) {
    this.signOuts.push(record);
  }

  lostSession(record: LostSessionRecord) {
    this.lostSessions.push(record);
  }

  signInFailure(message: string) {
    const count = this.signInFailures.get(message);
    if (count !== undefined || this.signInFailures.size < 20) {
      this.signInFailures.set(message, (count ?? 0) + 1);
    }
  }
}
