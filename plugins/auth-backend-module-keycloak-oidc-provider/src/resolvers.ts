import {
  commonSignInResolvers,
  createSignInResolverFactory,
  type SignInInfo,
} from '@backstage/plugin-auth-node';
import { z } from 'zod/v3';
import type { KeycloakAuthResult } from './authResult';

/**
 * The annotation Backstage's Keycloak catalog module puts on user entities.
 *
 * @public
 */
export const KEYCLOAK_ID_ANNOTATION = 'keycloak.org/id';

const fallbackOption = z
  .object({
    dangerouslyAllowSignInWithoutUserInCatalog: z.boolean().optional(),
  })
  .optional();

function claimsOf(info: SignInInfo<KeycloakAuthResult>) {
  return info.result.fullProfile.claims;
}

/**
 * Sign-in resolvers for the keycloak-oidc provider. Claims come from the ID
 * token that openid-client verified (signature, issuer, audience, nonce).
 *
 * @public
 */
export namespace keycloakSignInResolvers {
  /** Matches the user's email to `spec.profile.email` of a User entity. */
  export const emailMatchingUserEntityProfileEmail =
    commonSignInResolvers.emailMatchingUserEntityProfileEmail;

  /** Matches the local part of the email to a User entity's name. */
  export const emailLocalPartMatchingUserEntityName =
    commonSignInResolvers.emailLocalPartMatchingUserEntityName;

  /** Matches Keycloak's `preferred_username` to a User entity's name. */
  export const preferredUsernameMatchingUserEntityName =
    createSignInResolverFactory({
      optionsSchema: fallbackOption,
      create(options = {}) {
        return async (info: SignInInfo<KeycloakAuthResult>, ctx) => {
          const username = claimsOf(info).preferred_username;
          if (!username) {
            throw new Error(
              'Login failed, the Keycloak ID token has no preferred_username claim',
            );
          }
          return ctx.signInWithCatalogUser(
            { entityRef: { name: username } },
            {
              dangerousEntityRefFallback:
                options?.dangerouslyAllowSignInWithoutUserInCatalog
                  ? { entityRef: { name: username } }
                  : undefined,
            },
          );
        };
      },
    });

  /**
   * Matches the Keycloak user id (`sub` of the verified ID token) to the
   * `keycloak.org/id` annotation that the Keycloak catalog module sets.
   * Survives renames and email changes, unlike name/email matching.
   */
  export const keycloakIdMatchingUserEntityAnnotation =
    createSignInResolverFactory({
      optionsSchema: fallbackOption,
      create(options = {}) {
        return async (info: SignInInfo<KeycloakAuthResult>, ctx) => {
          const { sub, preferred_username: username } = claimsOf(info);
          return ctx.signInWithCatalogUser(
            { annotations: { [KEYCLOAK_ID_ANNOTATION]: sub } },
            {
              dangerousEntityRefFallback:
                options?.dangerouslyAllowSignInWithoutUserInCatalog
                  ? { entityRef: { name: username ?? sub } }
                  : undefined,
            },
          );
        };
      },
    });
}
