import type { SoakIdpKind } from './SoakIdp';

/**
 * The soak's settings for a run of `minutes` with `browsers`: the module's
 * Keycloak timeout at 2 s, so "3× the timeout" is a 6 s answer, and its
 * Keycloak check interval at 30 s, so every session asks the IdP (and
 * rotates its refresh token) about twice a minute; users pause 5 to 15 s
 * between page loads. Runs shorter than 5 minutes (the CI variant) hold
 * each fault for 10 s and check Keycloak every 15 s, so the same fault
 * kinds fit.
 */
export function soakSettings({
  browsers,
  minutes,
  idp = 'dev',
}: {
  browsers: number;
  minutes: number;
  idp?: SoakIdpKind;
}) {
  const short = minutes < 5;
  return {
    browsers,
    idp,
    durationMs: minutes * 60_000,
    keycloakTimeoutMs: 2_000,
    keycloakCheckInterval: short ? 15 : 30,
    thinkMs: [5_000, 15_000] as [number, number],
    minQuietMs: 5_000,
    settleMs: 10_000,
    faultTimings: {
      slowIdpMs: short ? 10_000 : 30_000,
      idpDownMs: short ? 10_000 : 20_000,
      redisBlackholeMs: 10_000,
      replicaDownMs: short ? 10_000 : 20_000,
    },
  };
}
