import SvgIcon, { type SvgIconProps } from '@material-ui/core/SvgIcon';

/**
 * A hexagon with a pair of chevrons, after Keycloak's mark; drawn in the
 * current colour so it follows the theme like Material icons do.
 *
 * @public
 */
export function KeycloakIcon(props: SvgIconProps) {
  return (
    <SvgIcon {...props} viewBox="0 0 24 24">
      <path d="M7 3h10l5 9-5 9H7l-5-9 5-9zm1.2 2L4.3 12l3.9 7h7.6l3.9-7-3.9-7H8.2z" />
      <path d="M10.6 7.5 8 12l2.6 4.5h-1.8L6.2 12l2.6-4.5h1.8zm2.8 0h1.8l2.6 4.5-2.6 4.5h-1.8L16 12l-2.6-4.5z" />
    </SvgIcon>
  );
}
