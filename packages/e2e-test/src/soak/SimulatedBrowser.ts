import { createHash } from 'node:crypto';
import { Browser } from '../fixtures/Browser';
import {
  logout,
  refresh,
  refreshCookieName,
  signInWithPassword,
} from '../fixtures/signIn';
import type { SoakDeployment } from './SoakDeployment';
import { SOAK_PREFIX } from './SoakDeployment';
import type { RequestKind, RequestStatus, SoakRecorder } from './SoakRecorder';
import type { SoakUser } from './soakUsers';

export interface BrowserBehaviour {
  /** pause between page loads, ms (uniformly drawn) */
  thinkMs: [number, number];
  /** chance per page load that a second tab refreshes at the same time */
  secondTabChance: number;
  /** chance per page load that the user signs out and in again instead */
  signOutChance: number;
}

/** Answers that mean "down for now, keep the session": the frontend retries. */
const isOutage = (status: RequestStatus) =>
  status === 'no answer' || status === 502 || status === 503 || status === 504;

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));
const between = ([min, max]: [number, number]) =>
  min + Math.random() * (max - min);

/** The Redis key of a session, from its cookie (README, "Data in Redis"). */
export function sessionKeyOf(handle: string) {
  const keyId = createHash('sha256').update(handle).digest('base64url');
  return `${SOAK_PREFIX}{u:${handle.slice(0, 16)}}:s:${keyId}`;
}

/**
 * One user's browser, as the app's frontend drives the backend: it signs
 * in through the IdP's login page, then until stopped loads a page
 * (`/refresh`), calls the catalog with its Backstage token, now and then
 * with a second tab refreshing at the same moment, and now and then signs
 * out and in again. An outage (no answer, 502, 503, 504) keeps the session
 * and retries after 2 s doubling to 30 s, as the frontend package does; a
 * 401 is the "Login Required" the user would see: recorded, then a new
 * sign-in.
 */
export class SimulatedBrowser {
  #browser = new Browser();
  #token?: string;
  /** the refresh cookie it holds (undefined while signed out) */
  handle?: string;
  /** the deployment's IdP epoch at its last sign-in */
  loginEpoch = -1;
  /** signing out or in: its session is changing on purpose */
  busy = false;
  stopped = false;

  constructor(
    readonly id: number,
    private readonly user: SoakUser,
    private readonly deployment: SoakDeployment,
    private readonly recorder: SoakRecorder,
    private readonly behaviour: BrowserBehaviour,
  ) {}

  async run() {
    await this.#signIn();
    let outageRetryMs = 0;
    while (!this.stopped) {
      await sleep(
        outageRetryMs
          ? outageRetryMs * between([0.8, 1.2])
          : between(this.behaviour.thinkMs),
      );
      if (this.stopped) break;
      if (Math.random() < this.behaviour.signOutChance) {
        await this.#signOutAndIn();
        continue;
      }
      const status = await this.#pageLoad();
      if (status === 401) {
        await this.#signIn();
        outageRetryMs = 0;
        continue;
      }
      outageRetryMs = isOutage(status)
        ? Math.min(30_000, outageRetryMs ? outageRetryMs * 2 : 2_000)
        : 0;
      // the app keeps working on the token it has, outage or not
      const calls = 1 + Math.floor(Math.random() * 3);
      for (let i = 0; i < calls && this.#token && !this.stopped; i++) {
        await this.#catalogCall();
      }
    }
  }

  async #pageLoad(): Promise<RequestStatus> {
    const secondTab = Math.random() < this.behaviour.secondTabChance;
    const answers = await Promise.all([
      this.#refresh('page load'),
      ...(secondTab ? [this.#refresh('second tab')] : []),
    ]);
    const signedOut = answers.find(a => a.status === 401);
    if (signedOut) {
      this.#recordSignOut(signedOut.res!, signedOut.body);
      return 401;
    }
    const ok = answers.find(a => a.status === 200);
    if (ok) {
      this.#token = ok.token;
      return 200;
    }
    return answers[0].status;
  }

  async #refresh(kind: RequestKind) {
    const { status, res, body } = await this.#timed(kind, () =>
      refresh(this.#browser, this.deployment.authUrl),
    );
    const token =
      status === 200
        ? (body as { backstageIdentity?: { token?: string } })
            ?.backstageIdentity?.token
        : undefined;
    return { status, res, body, token };
  }

  async #catalogCall() {
    await this.#timed('catalog', () =>
      fetch(
        `${this.deployment.publicUrl}/api/catalog/entities/by-name/user/default/${this.user.name}`,
        { headers: { authorization: `Bearer ${this.#token}` } },
      ),
    );
  }

  /**
   * The "Login Required" the user would see. Its session is given up at
   * once (before anything else can look at it); the module's message tells
   * a session Keycloak ended from one that was not there any more.
   */
  #recordSignOut(res: Response, body: unknown) {
    const message =
      (body as { error?: { message?: string } } | undefined)?.error?.message ??
      '';
    this.handle = undefined;
    this.#token = undefined;
    this.recorder.signOut({
      at: Date.now(),
      browser: this.id,
      expected: this.loginEpoch < this.deployment.idpEpoch,
      clean: res.headers
        .getSetCookie()
        .some(c => c.startsWith(`${refreshCookieName()}=;`)),
      sessionMissing: /Session not found or expired/.test(message),
    });
  }

  async #signOutAndIn() {
    this.busy = true;
    try {
      await this.#timed('sign-out', () =>
        logout(this.#browser, this.deployment.authUrl),
      );
      this.handle = undefined;
      this.#token = undefined;
      await this.#signIn();
    } finally {
      this.busy = false;
    }
  }

  /** Signs in, trying again (2 s doubling to 30 s) while it fails. */
  async #signIn() {
    this.busy = true;
    let retryMs = 2_000;
    try {
      while (!this.stopped) {
        const epoch = this.deployment.idpEpoch;
        const started = Date.now();
        try {
          this.handle = await signInWithPassword(
            this.#browser,
            this.deployment.authUrl,
            this.user.name,
            this.user.password,
          );
          this.loginEpoch = epoch;
          this.#record('sign-in', started, 200);
          return;
        } catch (error) {
          const message = String(error);
          this.recorder.signInFailure(signInFailureText(message));
          this.#record('sign-in', started, signInFailureStatus(message));
        }
        await sleep(retryMs * between([0.8, 1.2]));
        retryMs = Math.min(30_000, retryMs * 2);
      }
    } finally {
      this.busy = false;
    }
  }

  async #timed(kind: RequestKind, send: () => Promise<Response>) {
    const started = Date.now();
    try {
      const res = await send();
      const body: unknown = await res.json().catch(() => undefined);
      this.#record(kind, started, res.status);
      return { status: res.status, res, body };
    } catch {
      this.#record(kind, started, 'no answer');
      return {
        status: 'no answer' as const,
        res: undefined,
        body: undefined,
      };
    }
  }

  #record(kind: RequestKind, started: number, status: RequestStatus) {
    this.recorder.request({
      at: started,
      ms: Date.now() - started,
      kind,
      status,
    });
  }
}

/**
 * How a failed sign-in ended, from the sign-in helper's message: a callback
 * that redirected to the app with `?error=` (Backstage's way of reporting a
 * failed sign-in), the HTTP status it stopped at, or no answer.
 */
function signInFailureStatus(message: string): RequestStatus {
  if (/Callback failed: 302 \S*[?&]error=/.test(message)) {
    return 'callback error';
  }
  const status = /\b(?:got|failed:) ([1-5]\d\d)\b/.exec(message)?.[1];
  return status ? Number(status) : 'no answer';
}

/** The failure without what varies per request (ports, states, ids). */
function signInFailureText(message: string): string {
  let text = message.replace(/\+/g, ' ');
  try {
    text = decodeURIComponent(text);
  } catch {
    // not URI-encoded after all: keep it as it is
  }
  return text.replace(/https?:\/\/[^\s"']+/g, '<url>').slice(0, 200);
}
