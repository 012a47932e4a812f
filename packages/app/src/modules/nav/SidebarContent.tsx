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

/** The one page plus sign-out, both one click away everywhere. */
export const sidebarContent = NavContentBlueprint.make({
  params: {
    component: () => {
      return (
        <Sidebar>
          <SidebarDivider />
          <SidebarItem icon={HomeIcon} to="/" text="Session" />
          <SidebarSpace />
          <SidebarDivider />
          <SignOutItem />
        </Sidebar>
      );
    },
  },
});
