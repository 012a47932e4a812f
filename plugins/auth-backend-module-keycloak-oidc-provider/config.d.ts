import { HumanDuration } from '@backstage/types';

export interface Config {
  auth?: {
    session?: {
      /**
       * Where keycloak-oidc keeps login transactions and token sets.
       * `redis` for production (shared by replicas, survives restarts);
       * `memory` for local development. Defaults to `redis` when
       * `auth.session.redis` is set, else `memory`.
       */
      store?: 'redis' | 'memory';
      /**
       * Seconds an access token must still be valid for `/refresh` to answer
       * from the stored tokens without calling Keycloak (default 240; keep it
       * above the frontend's 3-minute refresh window; 0 always calls Keycloak).
       */
      minAccessTokenValidity?: number;
      /**
       * Seconds since Keycloak last confirmed a session (login or refresh
       * grant) within which `/refresh` may still answer from the stored
       * tokens (default 60). Bounds how long a session Keycloak ended
       * (restart, idle timeout, disabled user) keeps getting Backstage
       * tokens when access tokens are long-lived; bursts of refreshes (tabs,
       * reloads, replicas) within it still cost one Keycloak call. 0 always
       * calls Keycloak.
       */
      keycloakCheckInterval?: number;
      /**
       * Seconds within which a `/refresh` that does not call Keycloak
       * reissues the Backstage token from the identity the sign-in resolver
       * last gave the session (its user entity, ownership refs and any
       * claims a custom resolver added) instead of resolving the user
       * again (default: `keycloakCheckInterval`, at most 3600; max 3600). A group
       * membership change in the catalog, or a sign-in resolver change,
       * reaches a signed-in user's Backstage token within this long. A
       * refresh that calls Keycloak always resolves afresh. 0 resolves on
       * every refresh.
       */
      identityCacheTtl?: number;
      /**
       * At most this many sessions per Keycloak user (1 to 1000, default
       * 10); a new login evicts the user's oldest sessions beyond it. The
       * limit also bounds the cost of every per-user Redis script.
       */
      maxSessionsPerUser?: number;
      /**
       * At most this many sign-ins started within the login lifetime (300 s),
       * over all clients and replicas (default 10000). Pending logins are
       * what unauthenticated clients can make the server store (about
       * 650 bytes each in Redis); beyond the budget `/start` answers 503 and
       * stores nothing, so a flood cannot fill Redis and block the refreshes
       * of signed-in users.
       */
      maxPendingLogins?: number;
      /**
       * Under NODE_ENV=production the backend refuses to start with the
       * memory store, a plain-HTTP Keycloak other than localhost, or Redis
       * without TLS over the network. true: start anyway, with a warning per
       * problem.
       */
      dangerouslyAllowInsecureProduction?: boolean;
      /** The session admin API under /api/auth/keycloak-oidc/admin */
      admin?: {
        /**
         * Principals allowed to use it: user entity refs
         * (`user:default/alice`), groups the signed-in user belongs to
         * (`group:default/platform-admins`), or service principal subjects
         * (the `subject` of a static external access token such as
         * `ops-cli`, or `plugin:<pluginId>`). Everyone
         * else gets 403; empty or unset disables the API for everyone.
         */
        allow?: string[];
      };
      /**
       * Token sets are always sealed per session, under a key derived from
       * the session's cookie. These server keys are mixed into every
       * record's key too, so write access to Redis is not enough to plant a
       * session. The first key seals, every key opens: to rotate, prepend a
       * new key and remove the old one once sessions sealed under it have
       * expired (`redis.ttl`); those answer 401 and the user signs in again.
       */
      encryption?: {
        keys: Array<{
          /** Stored with each record; letters, digits, `_` and `-` only */
          id: string;
          /**
           * 32 random bytes: `openssl rand -base64 32` or `openssl rand -hex 32`
           * @visibility secret
           */
          secret: string;
        }>;
      };
      redis?: {
        /** `redis://` or `rediss://` URL; host/port/... below override its parts. */
        url?: string;
        host?: string;
        /** Default 6379 */
        port?: number;
        /** Redis ACL user */
        username?: string;
        /**
         * @visibility secret
         */
        password?: string;
        /** Database index, default 0 */
        db?: number;
        /**
         * Idle session lifetime in seconds (default 86400). Slides on every
         * refresh; never longer than Keycloak's refresh_expires_in.
         */
        ttl?: number;
        /** Key prefix, default `backstage:session:` */
        prefix?: string;
        /** Sentinel addresses; use instead of url/host (seed 000's keys) */
        sentinels?: Array<{ host: string; port?: number }>;
        /** Name of the master the sentinels monitor, e.g. `mymaster` */
        name?: string;
        /** ACL user for the sentinels, if they require one */
        sentinelUsername?: string;
        /**
         * Password for the sentinels, if they require one
         * @visibility secret
         */
        sentinelPassword?: string;
        /** Redis Cluster seed nodes; use instead of url/host */
        cluster?: {
          nodes: Array<{ host: string; port?: number }>;
        };
        /** TLS; each of ca/cert/key is a file path or inline PEM */
        tls?: {
          ca?: string;
          cert?: string;
          /**
           * @visibility secret
           */
          key?: string;
          servername?: string;
          /** Default true */
          rejectUnauthorized?: boolean;
        };
        /** Milliseconds to establish a connection (default 5000) */
        connectTimeout?: number;
        /** Milliseconds before a command fails (default 2000); no command waits for a reconnect */
        commandTimeout?: number;
        /**
         * `replicated`: each session write waits for one replica to
         * acknowledge it (WAIT), so a failover loses no session. Default `none`.
         */
        durability?: 'none' | 'replicated';
      };
    };
    providers?: {
      /** @visibility frontend */
      'keycloak-oidc'?: {
        [authEnv: string]: {
          /** Keycloak realm issuer or its .well-known/openid-configuration URL */
          metadataUrl: string;
          clientId: string;
          /**
           * @visibility secret
           */
          clientSecret: string;
          callbackUrl?: string;
          /** `client_secret_basic` (default) or `client_secret_post` */
          tokenEndpointAuthMethod?: string;
          tokenSignedResponseAlg?: string;
          /** Sent to Keycloak as `prompt`; unset or `auto` sends none */
          prompt?: string;
          additionalScopes?: string | string[];
          /** Timeout of each call to Keycloak, in milliseconds (default 10000) */
          timeout?: number;
          /** Hard cap on a session's lifetime (also the refresh cookie's max age) */
          sessionDuration?: HumanDuration | string;
          /** Where Keycloak sends the browser after sign-out; default app.baseUrl */
          postLogoutRedirectUrl?: string;
          signIn?: {
            resolvers: Array<
              | {
                  resolver: 'emailMatchingUserEntityProfileEmail';
                  allowedDomains?: string[];
                  dangerouslyAllowSignInWithoutUserInCatalog?: boolean;
                }
              | {
                  resolver: 'emailLocalPartMatchingUserEntityName';
                  allowedDomains?: string[];
                  dangerouslyAllowSignInWithoutUserInCatalog?: boolean;
                }
              | {
                  resolver: 'preferredUsernameMatchingUserEntityName';
                  dangerouslyAllowSignInWithoutUserInCatalog?: boolean;
                }
              | {
                  resolver: 'keycloakIdMatchingUserEntityAnnotation';
                  dangerouslyAllowSignInWithoutUserInCatalog?: boolean;
                }
            >;
          };
        };
      };
    };
  };
}
