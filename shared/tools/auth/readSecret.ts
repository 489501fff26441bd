import type { SecretSource, SecretValue } from '../../credentials/SecretSource';
import { GatewayError } from '../../errors';
import { defaultSecretRedactor, type SecretRedactor } from '../../redaction/SecretRedactor';

/**
 * A service's secret, with the fields a kind needs. Every field is registered with the redactor
 * before it is used, so an API that echoes the credential (in an error page, a header) has it cut
 * out of the answer and of every log line. The secret's name is not put in the error: it is the
 * operator's, not the agent's business.
 */
export async function readServiceSecret(
  secrets: SecretSource,
  name: string,
  service: string,
  options: { forceRefresh?: boolean; redactor?: SecretRedactor } = {},
): Promise<SecretValue> {
  let value: SecretValue | undefined;
  try {
    value = await secrets.get(name, { forceRefresh: options.forceRefresh });
  } catch (cause) {
    throw new GatewayError('service_failed', `the credential of service "${service}" cannot be read now; try again shortly`, {
      cause,
      headers: { 'retry-after': '1' },
    });
  }
  if (!value) throw new GatewayError('service_failed', `service "${service}" has no credential stored; ask the operator`);
  const redactor = options.redactor ?? defaultSecretRedactor;
  for (const field of Object.values(value)) redactor.register(field);
  return value;
}

/** The first of `fields` the secret holds, or a 502 naming what is missing (never the value). */
export function secretField(value: SecretValue, fields: readonly string[], service: string): string {
  for (const field of fields) {
    const found = value[field];
    if (typeof found === 'string' && found !== '') return found;
  }
  throw new GatewayError('service_failed', `the credential of service "${service}" lacks ${fields.map((f) => `\`${f}\``).join(' or ')}`);
}
