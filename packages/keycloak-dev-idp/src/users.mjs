// @ts-check
/**
 * The realm's users. Fixed `sub` values play the role of Keycloak user ids,
 * so catalog entities can carry them in the `keycloak.org/id` annotation.
 *
 * @typedef {{ sub: string, username: string, password: string, email: string,
 *   givenName: string, familyName: string }} DevUser
 */

/** @type {DevUser[]} */
export const defaultUsers = [
  {
    sub: '5b0d5c52-3a2e-4f4c-9c1e-0a11ce000001',
    username: 'alice',
    password: 'alice',
    email: 'alice@example.com',
    givenName: 'Alice',
    familyName: 'Adams',
  },
  {
    sub: '6c1e6d63-4b3f-4a5d-8d2f-0b0b00000002',
    username: 'bob',
    password: 'bob',
    email: 'bob@example.com',
    givenName: 'Bob',
    familyName: 'Brown',
  },
  {
    sub: '7d2f7e74-5c40-4b6e-9e30-0ca401000003',
    username: 'carol',
    password: 'carol',
    email: 'carol@example.com',
    givenName: 'Carol',
    familyName: 'Chen',
  },
];

/**
 * The claims Keycloak puts in tokens and userinfo for a user.
 * @param {DevUser} user
 */
export function claimsOf(user) {
  return {
    sub: user.sub,
    preferred_username: user.username,
    email: user.email,
    email_verified: true,
    name: `${user.givenName} ${user.familyName}`,
    given_name: user.givenName,
    family_name: user.familyName,
  };
}
