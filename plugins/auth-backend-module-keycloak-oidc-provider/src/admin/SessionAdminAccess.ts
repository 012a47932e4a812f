import type {
  HttpAuthService,
  UserInfoService,
} from '@backstage/backend-plugin-api';
import { NotAllowedError } from '@backstage/errors';
import type { Request } from 'express';

/**
 * Decides who may use the session admin API: a signed-in user named in
 * `auth.session.admin.allow` or belonging to a group named there, or a
 * service principal whose subject is named there (a static token's
 * `subject`, or `plugin:<pluginId>`). No credentials is a 401
 * (from httpAuth); anyone else is a 403.
 */
export class SessionAdminAccess {
  constructor(
    private readonly deps: {
      httpAuth: HttpAuthService;
      userInfo: UserInfoService;
      /** lower-cased refs and subjects */
      allow: string[];
    },
  ) {}

  /** Resolves to who is acting, for the audit log line; throws otherwise. */
  async authorize(req: Request): Promise<string> {
    const { httpAuth, userInfo, allow } = this.deps;
    const credentials = await httpAuth.credentials(req, {
      allow: ['user', 'service'],
    });
    const principal = credentials.principal as {
      type: 'user' | 'service';
      userEntityRef?: string;
      subject?: string;
    };
    const allowed = new Set(allow);
    if (principal.type === 'service') {
      const subject = principal.subject ?? '';
      if (allowed.has(subject.toLocaleLowerCase('en-US'))) {
        return subject;
      }
      throw new NotAllowedError(
        `Service '${subject}' may not manage sessions; add it to auth.session.admin.allow`,
      );
    }
    const userRef = principal.userEntityRef!;
    const { ownershipEntityRefs } = await userInfo.getUserInfo(
      credentials as Parameters<UserInfoService['getUserInfo']>[0],
    );
    const refs = [userRef, ...ownershipEntityRefs];
    if (refs.some(ref => allowed.has(ref.toLocaleLowerCase('en-US')))) {
      return userRef;
    }
    throw new NotAllowedError(
      `${userRef} may not manage sessions; add the user or one of its groups to auth.session.admin.allow`,
    );
  }
}
