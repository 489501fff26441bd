/**
 * Where provider credentials come from. A secret is a small JSON object of string fields
 * (`{"api_key": "..."}`; OAuth tokens later need more than one field).
 */
export type SecretValue = Readonly<Record<string, string>>;

export interface SecretSource {
  /**
   * The secret's current value, or undefined when it does not exist.
   * `forceRefresh` bypasses any cache (used after an upstream 401 to pick up a rotation).
   */
  get(name: string, options?: { forceRefresh?: boolean }): Promise<SecretValue | undefined>;
}

/** The env var that holds secret `name` locally: upper-cased, other characters as `_`. */
export const secretEnvVarName = (name: string): string =>
  `BREAKWATER_SECRET_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;

/** A secret stored as JSON is used as is; a bare string is taken to be the API key. */
export function parseSecretString(raw: string): SecretValue {
  const trimmed = raw.trim();
  if (trimmed.startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(trimmed);
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
        return Object.fromEntries(
          Object.entries(parsed).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
        );
      }
    } catch {
      // Not JSON after all: fall through and treat the whole value as the key.
    }
  }
  return { api_key: trimmed };
}
