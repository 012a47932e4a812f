import {
  coreServices,
  createServiceFactory,
  type DatabaseService,
} from '@backstage/backend-plugin-api';
import { DatabaseManager } from '@backstage/backend-defaults/database';
import { ConfigReader } from '@backstage/config';

type KnexClient = Awaited<ReturnType<DatabaseService['getClient']>>;

/**
 * Backstage's default database service for test backends, except that the
 * clients it handed out are destroyed when the backend stops.
 *
 * Backstage's DatabaseManager deliberately never destroys SQLite clients at
 * shutdown (the default `:memory:` database of startTestBackend included), so
 * each stopped test backend leaves its plugins' knex pools behind: an idle
 * connection and tarn's 1 s reaping setInterval, which is not unref'd. In a
 * backend process that exits, that is harmless; in a Jest worker that runs
 * many files it keeps the worker alive after its last file, and Jest
 * force-exits it ("A worker process has failed to exit gracefully").
 *
 * Pass it in `features` to startTestBackend. `clients` lists what it handed
 * out, for asserting that they are closed.
 */
export function closingDatabaseServiceFactory(clients: KnexClient[] = []) {
  return createServiceFactory({
    service: coreServices.database,
    deps: {
      config: coreServices.rootConfig,
      lifecycle: coreServices.lifecycle,
      logger: coreServices.logger,
      pluginMetadata: coreServices.pluginMetadata,
      rootLifecycle: coreServices.rootLifecycle,
      rootLogger: coreServices.rootLogger,
    },
    async createRootContext({ config, rootLifecycle, rootLogger }) {
      // the same defaults as Backstage's databaseServiceFactory
      const manager = DatabaseManager.fromConfig(
        config.getOptional('backend.database')
          ? config
          : new ConfigReader({
              backend: {
                database: { client: 'better-sqlite3', connection: ':memory:' },
              },
            }),
        { rootLifecycle, rootLogger },
      );
      // Root shutdown hooks run after every plugin's, so no plugin is still
      // using its database.
      rootLifecycle.addShutdownHook(async () => {
        await Promise.all(clients.map(client => client.destroy()));
      });
      return manager;
    },
    async factory({ pluginMetadata, lifecycle, logger }, manager) {
      const service = manager.forPlugin(pluginMetadata.getId(), {
        lifecycle,
        logger,
      });
      return {
        ...service,
        async getClient() {
          const client = await service.getClient();
          if (!clients.includes(client)) {
            clients.push(client);
          }
          return client;
        },
      };
    },
  });
}
