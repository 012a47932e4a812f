import type { Entity } from '@backstage/catalog-model';
import { RedisServer } from '@redis-session/test-support';
import { aroundCatalog } from '../fixtures/aroundCatalog';
import { Browser } from '../fixtures/Browser';
import { DevIdp } from '../fixtures/DevIdp';
import {
  startKeycloakTestBackend,
  type KeycloakTestBackend,
} from '../fixtures/KeycloakTestBackend';
import { readChunked } from '../fixtures/openSealedRecord';
import { sessionKeyPattern } from '../fixtures/sessionKeyPattern';
import { refresh, signIn } from '../fixtures/signIn';

jest.setTimeout(60_000);

// long enough for a sign-in and two refreshes on a busy 2-core machine
const IDENTITY_CACHE_SECONDS = 6;
const ALICE = 'user:default/alice';

/**
 * A refresh answered from the stored tokens reissues the Backstage token
 * from the identity the resolver gave within `identityCacheTtl`, instead
 * of looking the user up in the catalog again: a group membership change
 * reaches the token once that window has passed, and at once on a refresh
 * that calls Keycloak.
 */
describe('the resolved identity, reused within identityCacheTtl', () => {
  let idp: DevIdp;
  let redisServer: RedisServer;
  let backend: KeycloakTestBackend;
  let group = 'group:default/team-a';
  let catalogCalls = 0;

  beforeAll(async () => {
    [idp, redisServer] = await Promise.all([
      DevIdp.start(),
      RedisServer.start(),
    ]);
    // the catalog as the resolver sees it: alice is a member of `group`
    // (the relation the catalog's processing makes of spec.memberOf)
    const withMembership = (entity: Entity | undefined) =>
      entity?.metadata?.name === 'alice'
        ? {
            ...entity,
            relations: [{ type: 'memberOf', targetRef: group }],
          }
        : entity;
    backend = await startKeycloakTestBackend({
      issuer: idp.issuer,
      users: ['alice'],
      session: {
        store: 'redis',
        redis: { url: redisServer.url, prefix: 'test:session:' },
        // the dev IdP's access tokens live 300 s: refreshes are answered
        // from the store for the whole test unless told otherwise
        minAccessTokenValidity: 240,
        keycloakCheckInterval: 60,
        identityCacheTtl: IDENTITY_CACHE_SECONDS,
      },
      wrapCatalog: catalog =>
        aroundCatalog(catalog, async call => {
          catalogCalls++;
          const result = await call();
          return result && Array.isArray(result.items)
            ? { ...result, items: result.items.map(withMembership) }
            : withMembership(result);
        }),
    });
  });

  afterAll(async () => {
    await backend?.stop();
    await idp?.stop();
    await redisServer?.dispose();
  });

  /** The ownership refs of the Backstage token a refresh answers with */
  async function ownershipAfterRefresh(browser: Browser) {
    const res = await refresh(browser, backend.authUrl);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.backstageIdentity.identity.userEntityRef).toBe(ALICE);
    return body.backstageIdentity.identity.ownershipEntityRefs as string[];
  }

  it('reaches the token within the window, and at once when Keycloak is asked', async () => {
    const browser = new Browser();
    await signIn(browser, backend.authUrl, 'alice');
    const resolvedAt = Date.now();
    expect(await ownershipAfterRefresh(browser)).toEqual([
      ALICE,
      'group:default/team-a',
    ]);

    // alice moves to team-b; within the window the token still says team-a,
    // and the catalog is not asked
    group = 'group:default/team-b';
    const callsBefore = catalogCalls;
    expect(await ownershipAfterRefresh(browser)).toEqual([
      ALICE,
      'group:default/team-a',
    ]);
    expect(catalogCalls).toBe(callsBefore);
    const elapsed = Date.now() - resolvedAt;

    // once the window has passed, the next refresh resolves again
    await new Promise(r =>
      setTimeout(r, Math.max(0, IDENTITY_CACHE_SECONDS * 1000 - elapsed + 200)),
    );
    expect(await ownershipAfterRefresh(browser)).toEqual([
      ALICE,
      'group:default/team-b',
    ]);
    expect(catalogCalls).toBeGreaterThan(callsBefore);

    // a refresh that calls Keycloak (last confirmation made old) resolves
    // afresh, whatever the window
    group = 'group:default/team-c';
    const redis = redisServer.client();
    try {
      const [key] = await redis.keys(sessionKeyPattern('test:session:'));
      await redis.hset(key, 'r', 0);
      const grantsBefore = (await idp.stats()).refreshGrants;
      expect(await ownershipAfterRefresh(browser)).toEqual([
        ALICE,
        'group:default/team-c',
      ]);
      expect((await idp.stats()).refreshGrants).toBe(grantsBefore + 1);
      // stored with the tokens, sealed like them (whoever can write to
      // Redis cannot choose a user's groups): the next refresh reuses it
      const sealed = await readChunked(redis, key, 'i');
      expect(sealed[0]).toBe(3);
      expect(sealed.toString('latin1')).not.toContain('team-c');
      const calls = catalogCalls;
      expect(await ownershipAfterRefresh(browser)).toEqual([
        ALICE,
        'group:default/team-c',
      ]);
      expect(catalogCalls).toBe(calls);
    } finally {
      redis.disconnect();
    }
  });
});
