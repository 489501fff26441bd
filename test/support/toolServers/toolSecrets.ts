import type { SecretSource, SecretValue } from '../../../shared/credentials';

/** Fake credentials of the tool tests' services: never real, all `sk-test-...`. */
export const TOOL_SECRETS = {
  'tools/apikey': { api_key: 'sk-test-tool-apikey-0001-abcdef' },
  'tools/querykey': { api_key: 'sk-test-tool-querykey-0001-abcdef' },
  'tools/bearer': { token: 'sk-test-tool-bearer-0001-abcdef' },
  'tools/basic': { username: 'svc-user', password: 'sk-test-tool-basic-pass-0001' },
  'tools/cc': { client_id: 'client-0001', client_secret: 'sk-test-tool-client-secret-0001' },
} as const satisfies Record<string, SecretValue>;

/** Every secret value above, for "never reaches the client or a log" scans. */
export const TOOL_SECRET_VALUES: string[] = Object.values(TOOL_SECRETS).flatMap((secret) =>
  Object.entries(secret)
    .filter(([field]) => field !== 'username' && field !== 'client_id')
    .map(([, value]) => value),
);

/** A secret source over {@link TOOL_SECRETS}, counting reads. */
export function toolSecretSource(): SecretSource & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    get: async (name) => {
      reads.push(name);
      return (TOOL_SECRETS as Record<string, SecretValue>)[name];
    },
  };
}
