import {
  createFrontendPlugin,
  PageBlueprint,
} from '@backstage/frontend-plugin-api';

const sessionPage = PageBlueprint.make({
  params: {
    path: '/',
    title: 'Your Keycloak session',
    loader: () => import('./SessionPage').then(m => <m.SessionPage />),
  },
});

/** The home page: who is signed in and when the session last refreshed. */
export const sessionPlugin = createFrontendPlugin({
  pluginId: 'session',
  title: 'Session',
  extensions: [sessionPage],
});
