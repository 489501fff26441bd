import type { SecretSource } from '../../credentials/SecretSource';
import { credentialIdOf, type ServiceAuth } from './ServiceAuth';
import { readServiceSecret, secretField } from './readSecret';

export interface ApiKeyAuthOptions {
  service: string;
  secret: string;
  in: 'header' | 'query';
  /** Header or query parameter name. */
  name: string;
  secrets: SecretSource;
}

/** An API key in a header (`x-api-key: ...`) or a query parameter (`?key=...`); the secret's `api_key` or `token`. */
export function apiKeyAuth(options: ApiKeyAuthOptions): ServiceAuth {
  const id = credentialIdOf('secret', options.secret);
  const name = options.name;
  return {
    forCall: () => ({
      id,
      apply: async (request) => {
        const key = secretField(await readServiceSecret(options.secrets, options.secret, options.service), ['api_key', 'token'], options.service);
        if (options.in === 'header') request.headers[name.toLowerCase()] = key;
        else request.url.search = withQueryParameter(request.url.search, name, key);
      },
    }),
  };
}

/**
 * The query with `name` set to `value`, every other pair left exactly as the client encoded it
 * (URLSearchParams would re-encode them all: `%20` to `+`, which some APIs read differently).
 * A client's own `name` parameter is dropped, so it cannot stand in for the injected key.
 */
export function withQueryParameter(search: string, name: string, value: string): string {
  const pairs = search.replace(/^\?/, '').split('&').filter((pair) => pair !== '' && decodedName(pair) !== name);
  pairs.push(`${encodeURIComponent(name)}=${encodeURIComponent(value)}`);
  return `?${pairs.join('&')}`;
}

function decodedName(pair: string): string {
  const raw = pair.split('=')[0]!.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}
