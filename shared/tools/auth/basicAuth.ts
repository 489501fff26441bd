import type { SecretSource } from '../../credentials/SecretSource';
import { defaultSecretRedactor } from '../../redaction/SecretRedactor';
import { credentialIdOf, type ServiceAuth } from './ServiceAuth';
import { readServiceSecret, secretField } from './readSecret';

/** HTTP Basic from the secret's `username` and `password`. */
export function basicAuth(options: { service: string; secret: string; secrets: SecretSource }): ServiceAuth {
  const id = credentialIdOf('secret', options.secret);
  return {
    forCall: () => ({
      id,
      apply: async (request) => {
        const value = await readServiceSecret(options.secrets, options.secret, options.service);
        const username = secretField(value, ['username'], options.service);
        const password = secretField(value, ['password'], options.service);
        const encoded = Buffer.from(`${username}:${password}`, 'utf8').toString('base64');
        // The encoded pair is a credential in its own right (an API may echo the header back).
        defaultSecretRedactor.register(encoded);
        request.headers.authorization = `Basic ${encoded}`;
      },
    }),
  };
}
