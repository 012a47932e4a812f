import {
  coreServices,
  createBackendPlugin,
} from '@backstage/backend-plugin-api';
import { Router } from 'express';
import { renderSessionDemoPage, sessionDemoScript } from './sessionDemoPage';

/**
 * A one-page sign-in demo at /api/session-demo/ for trying the module in a
 * browser before a Backstage frontend exists: sign in through Keycloak
 * (redirect flow), see the identity /refresh returns, sign out.
 */
export default createBackendPlugin({
  pluginId: 'session-demo',
  register(reg) {
    reg.registerInit({
      deps: {
        httpRouter: coreServices.httpRouter,
        config: coreServices.rootConfig,
      },
      async init({ httpRouter, config }) {
        const env =
          config.getOptionalString('auth.environment') ?? 'development';
        const router = Router();
        router.get('/', (_req, res) => {
          res
            .type('html')
            .set('Cache-Control', 'no-store')
            .send(renderSessionDemoPage({ env }));
        });
        router.get('/demo.js', (_req, res) => {
          res
            .type('js')
            .set('Cache-Control', 'no-store')
            .send(sessionDemoScript);
        });
        httpRouter.use(router);
        httpRouter.addAuthPolicy({ path: '/', allow: 'unauthenticated' });
      },
    });
  },
});
