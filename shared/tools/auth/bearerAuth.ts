import type { SecretSource } from '../../credentials/SecretSource';
import { credentialIdOf, type ServiceAuth } from './ServiceAuth';
import { readServiceSecret, secretField } from './readSecret';

/** `Authorization: Bearer <token>`; the secret's `token` or `api_key`. */
export function bearerAuth(options: { service: string; secret: string; secrets: SecretSource }): ServiceAuth {
  const id = credentialIdOf('secret', options.secret);
  return {
    forCall: () => ({
      id,
      apply: async (request) => {
        const value = await readServiceSecret(options.secrets, options.secret, options.service);
        request.headers.authorization = `Bearer ${secretField(value, ['token', 'api_key'], options.service)}`;
      },
    }),
  };
}
