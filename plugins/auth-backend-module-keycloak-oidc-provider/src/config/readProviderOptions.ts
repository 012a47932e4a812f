import type { Config } from '@backstage/config';
import { readDurationFromConfig } from '@backstage/config';
import { durationToMilliseconds } from '@backstage/types';
import { InvalidConfigError } from './InvalidConfigError';

/** Options of one `auth.providers.keycloak-oidc.<env>` block. */
export interface KeycloakProviderOptions {
  metadataUrl: string;
  clientId: string;
  clientSecret: string;
  callbackUrl: string;
  /** `undefined` sends no prompt (Keycloak decides); `auto` means the same */
  prompt?: string;
  tokenEndpointAuthMethod: 'client_secret_basic' | 'client_secret_post';
  tokenSignedResponseAlg?: string;
  /** Per-request timeout for calls to Keycloak */
  timeoutMs: number;
  /** Where Keycloak sends the browser after sign-out; defaults to app.baseUrl */
  postLogoutRedirectUrl?: string;
  /** Hard cap on a session's lifetime, if configured */
  sessionDurationMs?: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const PATH = 'auth.providers.keycloak-oidc.<environment>';

/**
 * Reads one environment's provider block. Uses the same keys as Backstage's
 * `oidc` provider so migrating is a rename; `scope` is refused the same way.
 * `callbackUrl` is the one Backstage's route handlers resolved (the
 * `callbackUrl` key or their default), so both agree on it.
 */
export function readProviderOptions(
  config: Config,
  callbackUrl: string,
): KeycloakProviderOptions {
  if (config.has('scope')) {
    throw new InvalidConfigError(
      `${PATH}.scope`,
      "the keycloak-oidc provider does not support 'scope'; use 'additionalScopes' instead",
    );
  }
  const method =
    config.getOptionalString('tokenEndpointAuthMethod') ??
    'client_secret_basic';
  if (method !== 'client_secret_basic' && method !== 'client_secret_post') {
    throw new InvalidConfigError(
      `${PATH}.tokenEndpointAuthMethod`,
      `'${method}' is not supported: use client_secret_basic or client_secret_post`,
    );
  }
  const prompt = config.getOptionalString('prompt');
  const timeoutMs = config.getOptionalNumber('timeout') ?? DEFAULT_TIMEOUT_MS;
  if (!(timeoutMs > 0)) {
    throw new InvalidConfigError(
      `${PATH}.timeout`,
      `must be > 0 (ms), got ${timeoutMs}`,
    );
  }
  return {
    metadataUrl: config.getString('metadataUrl'),
    clientId: config.getString('clientId'),
    clientSecret: config.getString('clientSecret'),
    callbackUrl,
    prompt: prompt === 'auto' ? undefined : prompt,
    tokenEndpointAuthMethod: method,
    tokenSignedResponseAlg: config.getOptionalString('tokenSignedResponseAlg'),
    timeoutMs,
    postLogoutRedirectUrl: config.getOptionalString('postLogoutRedirectUrl'),
    sessionDurationMs: config.has('sessionDuration')
      ? durationToMilliseconds(
          readDurationFromConfig(config, { key: 'sessionDuration' }),
        )
      : undefined,
  };
}
