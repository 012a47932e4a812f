import { createFrontendModule } from '@backstage/frontend-plugin-api';
import { sidebarContent } from './SidebarContent';

export const navModule = createFrontendModule({
  pluginId: 'app',
  extensions: [sidebarContent],
});
