import {
  Sidebar,
  SidebarDivider,
  SidebarItem,
  SidebarSpace,
} from '@backstage/core-components';
import { identityApiRef, useApi } from '@backstage/frontend-plugin-api';
import { NavContentBlueprint } from '@backstage/plugin-app-react';
import ExitToAppIcon from '@material-ui/icons/ExitToApp';
import HomeIcon from '@material-ui/icons/Home';
import SettingsIcon from '@material-ui/icons/Settings';

function SignOutItem() {
  const identityApi = useApi(identityApiRef);
  return (
    <SidebarItem
      icon={ExitToAppIcon}
      text="Sign out"
      onClick={() => identityApi.signOut()}
    />
  );
}

/**
 * The session page, Settings (where Authentication Providers lists
 * Keycloak) and sign-out, each one click away everywhere.
 */
export const sidebarContent = NavContentBlueprint.make({
  params: {
    component: () => {
      return (
        <Sidebar>
          <SidebarDivider />
          <SidebarItem icon={HomeIcon} to="/" text="Session" />
          <SidebarSpace />
          <SidebarDivider />
          <SidebarItem icon={SettingsIcon} to="/settings" text="Settings" />
          <SignOutItem />
        </Sidebar>
      );
    },
  },
});
