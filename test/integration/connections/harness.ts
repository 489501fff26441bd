import { randomBytes } from 'node:crypto';
import type { SecretSource, SecretValue } from '../../../shared/credentials';
import type { Connections } from '../../../shared/tools/connections';
import { serviceSchema, type ServiceConfig } from '../../../shared/tools/serviceConfig';
import type { MockOAuthServer } from '../../support/oauthServer';

export const APP_SECRET = 'calendar-oauth-app';
export const KEY_SECRET = 'tool-token-key';
export const SCOPES = ['calendar.read', 'calendar.write'];

/** A fresh 32-byte data key, base64. */
export const dataKey = (): string => randomBytes(32).toString('base64');

/** An in-memory secret source the test can rotate: `set` replaces a secret at once. */
export function testSecrets(initial: Record<string, SecretValue>): SecretSource & { set(name: string, value: SecretValue): void } {
  const secrets = new Map(Object.entries(initial));
  return {
    get: async (name) => secrets.get(name),
    set: (name, value) => secrets.set(name, value),
  };
}

/** The OAuth app's secret and a data key, plus the e2e upstream's key. */
export const secretsFor = (oauth: MockOAuthServer, keyId = 'k1', key = dataKey()) =>
  testSecrets({
    [APP_SECRET]: { client_id: oauth.clientId, client_secret: oauth.clientSecret },
    [KEY_SECRET]: { key_id: keyId, key },
    upstream: { api_key: 'sk-test-upstream-0001' },
  });

/** `services.calendar`: an `oauth_user` service on the mock provider, its API under `/api`. */
export const calendarService = (oauth: MockOAuthServer) => ({
  base_url: oauth.apiUrl,
  auth: {
    type: 'oauth_user' as const,
    secret: APP_SECRET,
    authorize_url: oauth.authorizeUrl,
    token_url: oauth.tokenUrl,
    revoke_url: oauth.revokeUrl,
    scopes: SCOPES,
    authorize_params: { access_type: 'offline', prompt: 'consent' },
  },
});

/** The config's services as compiled: calendar (oauth_user) and weather (no auth). */
export const servicesMap = (oauth: MockOAuthServer): ReadonlyMap<string, ServiceConfig> =>
  new Map([
    ['calendar', serviceSchema.parse(calendarService(oauth))],
    ['weather', serviceSchema.parse({ base_url: 'http://127.0.0.1:1' })],
  ]);

/** The user consents at the provider: its redirect back, as the browser would follow it. */
export async function consent(authorizationUrl: string): Promise<URL> {
  const answer = await fetch(authorizationUrl, { redirect: 'manual' });
  const location = answer.headers.get('location');
  if (answer.status !== 302 || !location) throw new Error(`the provider answered ${answer.status} without a redirect`);
  return new URL(location);
}

/** A whole connect through the service directly (no gateway): start, consent, callback. */
export async function connect(connections: Connections, ref: { tenant: string; user: string; service: string }) {
  const started = await connections.start({ ...ref, redirectUri: 'http://127.0.0.1:9/v1/connections/callback' });
  const back = await consent(started.authorization_url);
  return connections.complete({
    state: back.searchParams.get('state') ?? undefined,
    code: back.searchParams.get('code') ?? undefined,
    error: back.searchParams.get('error') ?? undefined,
  });
}
