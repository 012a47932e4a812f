import {
  NotAllowedError,
  NotFoundError,
  ResponseError,
} from '@backstage/errors';
import { isResolverOutage } from './resolverOutage';

const withCode = (message: string, code: string) =>
  Object.assign(new Error(message), { code });

async function responseError(status: number) {
  return ResponseError.fromResponse(
    new Response('{}', {
      status,
      statusText: 'status',
      headers: { 'content-type': 'application/json' },
    }) as never,
  );
}

describe('isResolverOutage', () => {
  it.each([
    [
      'fetch failed, connection refused',
      new TypeError('fetch failed', {
        cause: withCode('connect', 'ECONNREFUSED'),
      }),
    ],
    ['a reset socket', withCode('socket hang up', 'ECONNRESET')],
    [
      'undici giving up on headers',
      withCode('Headers Timeout Error', 'UND_ERR_HEADERS_TIMEOUT'),
    ],
    [
      'a timeout signal',
      Object.assign(new Error('aborted'), { name: 'TimeoutError' }),
    ],
    [
      'an outage wrapped in a resolver error',
      new Error('Failed to sign in', { cause: withCode('x', 'ETIMEDOUT') }),
    ],
    [
      "PostgreSQL shutting down under the auth plugin's database",
      withCode('terminating connection due to administrator command', '57P01'),
    ],
    [
      'no PostgreSQL connection to be had',
      withCode('connection failure', '08006'),
    ],
    [
      "knex's pool timing out",
      Object.assign(new Error('Knex: Timeout acquiring a connection'), {
        name: 'KnexTimeoutError',
      }),
    ],
  ])('is an outage: %s', (_, error) => {
    expect(isResolverOutage(error)).toBe(true);
  });

  it.each([503, 500, 429])(
    'is an outage: the catalog answered %i',
    async status => {
      expect(isResolverOutage(await responseError(status))).toBe(true);
    },
  );

  it.each([
    ['not in the catalog', new NotFoundError('User not found')],
    ['not allowed', new NotAllowedError('Not a member of the allowed domain')],
    [
      'a custom resolver refusing',
      new Error('Login failed; user not in group'),
    ],
    ['a non-error', 'refused'],
    [
      'a refusal whose cause was an outage (a fail-closed resolver)',
      new NotAllowedError(
        'Cannot check the group',
        withCode('x', 'ECONNREFUSED'),
      ),
    ],
  ])('is a verdict: %s', (_, error) => {
    expect(isResolverOutage(error)).toBe(false);
  });

  it('is a verdict: the catalog answered 404', async () => {
    expect(isResolverOutage(await responseError(404))).toBe(false);
  });
});
