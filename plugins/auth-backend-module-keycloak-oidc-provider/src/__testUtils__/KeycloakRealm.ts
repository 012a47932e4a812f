import type { KeycloakServer, RealmRepresentation } from './KeycloakServer';

/** One realm of a KeycloakServer, driven through the Admin REST API. */
export class KeycloakRealm {
  constructor(
    readonly server: KeycloakServer,
    readonly name: string,
  ) {}

  get issuer() {
    return this.server.issuer(this.name);
  }

  async #admin() {
    return this.server.admin();
  }

  async user(username: string) {
    const [user] = await (
      await this.#admin()
    ).users.find({ realm: this.name, username, exact: true });
    if (!user?.id) throw new Error(`No Keycloak user ${username}`);
    return user as typeof user & { id: string };
  }

  /** The id Keycloak assigned to a user (the `sub` of its tokens) */
  async userId(username: string): Promise<string> {
    return (await this.user(username)).id;
  }

  /** The user's live Keycloak sessions */
  async sessionsOf(username: string) {
    const id = await this.userId(username);
    return (await this.#admin()).users.listSessions({ realm: this.name, id });
  }

  /** Admin "Sign out" of all of the user's sessions */
  async signOut(username: string) {
    const id = await this.userId(username);
    await (await this.#admin()).users.logout({ realm: this.name, id });
  }

  async setUserEnabled(username: string, enabled: boolean) {
    const user = await this.user(username);
    await (
      await this.#admin()
    ).users.update({ realm: this.name, id: user.id }, { ...user, enabled });
  }

  async updateRealm(patch: RealmRepresentation) {
    await (await this.#admin()).realms.update({ realm: this.name }, patch);
  }

  async updateBackstageClient(patch: {
    attributes?: Record<string, string>;
    [key: string]: unknown;
  }) {
    const admin = await this.#admin();
    const [client] = await admin.clients.find({
      realm: this.name,
      clientId: 'backstage',
    });
    await admin.clients.update(
      { realm: this.name, id: client.id! },
      {
        ...client,
        ...patch,
        attributes: { ...client.attributes, ...patch.attributes },
      },
    );
  }

  /**
   * Turns "Add to ID token" off for every mapper of the realm's `email` and
   * `profile` client scopes, so those claims come only from userinfo.
   */
  async claimsOnlyAtUserinfo() {
    const admin = await this.#admin();
    const scopes = await admin.clientScopes.find({ realm: this.name });
    for (const scope of scopes.filter(s =>
      ['email', 'profile'].includes(s.name!),
    )) {
      const mappers = await admin.clientScopes.listProtocolMappers({
        realm: this.name,
        id: scope.id!,
      });
      for (const mapper of mappers) {
        await admin.clientScopes.updateProtocolMapper(
          { realm: this.name, id: scope.id!, mapperId: mapper.id! },
          {
            ...mapper,
            config: { ...mapper.config, 'id.token.claim': 'false' },
          },
        );
      }
    }
  }

  /** The realm's saved user events of these types, newest first */
  async events(types: string[]) {
    return (await this.#admin()).realms.findEvents({
      realm: this.name,
      type: types as any,
      max: 1000,
    });
  }

  async clearEvents() {
    await (await this.#admin()).realms.clearEvents({ realm: this.name });
  }
}
