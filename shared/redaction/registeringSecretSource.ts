import type { SecretSource } from '../credentials/SecretSource';
import type { SecretRedactor } from './SecretRedactor';

/**
 * A secret source that registers every value it hands out with the redactor before anyone can
 * use it: provider keys and BYOK credentials (`credential_overrides` name secrets read through
 * the same source) are then cut out of every answer and log line. Every field of a secret
 * counts: a secret holds credentials, and a short non-secret field (a region) is below the
 * redactor's minimum length anyway.
 */
export function registeringSecretSource(source: SecretSource, redactor: SecretRedactor): SecretSource {
  return {
    async get(name, options) {
      const value = await source.get(name, options);
      if (value) for (const field of Object.values(value)) redactor.register(field);
      return value;
    },
  };
}
