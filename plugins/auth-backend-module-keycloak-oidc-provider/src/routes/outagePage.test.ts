import { ServiceUnavailableError } from '@backstage/errors';
import {
  KeycloakUnavailableError,
  SessionStoreUnavailableError,
  type OutageDependency,
} from '../errors';
import { escapeHtml, outageDependencyOf, renderOutagePage } from './outagePage';

describe('renderOutagePage', () => {
  it.each<[OutageDependency, string]>([
    ['session-store', 'The session store is unavailable'],
    ['keycloak', 'Keycloak is unreachable'],
  ])('names %s in the title and the heading', (dependency, headline) => {
    const page = renderOutagePage(dependency);
    expect(page).toContain(`<title>${headline}</title>`);
    expect(page).toContain(`<h1>${headline}</h1>`);
    expect(page).toContain(
      '<p>Your session is kept; try signing in again in a moment.</p>',
    );
    expect(page).not.toMatch(/<script/i);
  });

  it('is the same page whatever failed: it takes no text from outside', () => {
    expect(renderOutagePage('keycloak')).toBe(renderOutagePage('keycloak'));
    expect(renderOutagePage.length).toBe(1);
  });
});

describe('escapeHtml', () => {
  it('escapes markup and quotes', () => {
    expect(escapeHtml(`<script>alert("x")</script> & 'y'`)).toBe(
      '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;',
    );
  });
});

describe('outageDependencyOf', () => {
  it('reads the dependency from the error type, not its message', () => {
    expect(
      outageDependencyOf(new SessionStoreUnavailableError('Keycloak said no')),
    ).toBe('session-store');
    expect(outageDependencyOf(new KeycloakUnavailableError('Redis down'))).toBe(
      'keycloak',
    );
    expect(
      outageDependencyOf(
        new ServiceUnavailableError('Session store (Redis) unavailable'),
      ),
    ).toBeUndefined();
    expect(outageDependencyOf(new Error('x'))).toBeUndefined();
    expect(outageDependencyOf('x')).toBeUndefined();
  });
});
