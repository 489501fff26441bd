import type { SecretSource } from '../credentials/SecretSource';

/**
 * The secret that signs tenant `tenant`'s callbacks, as named to a {@link SecretSource}
 * (on AWS it lives at `breakwater/callback-signing/<tenant>`; locally in
 * `BREAKWATER_SECRET_CALLBACK_SIGNING_<TENANT>`). One secret per tenant, so a leaked secret
 * lets nobody forge another tenant's results.
 */
export const callbackSigningSecretName = (tenant: string): string => `callback-signing/${tenant}`;

/**
 * The tenant's signing secret: the secret's `signing_secret` field (the stack generates it in
 * that shape), or the whole value when it was stored as a bare string. Undefined when the
 * tenant has none, in which case the caller must not send an unsigned callback.
 */
export async function readCallbackSigningSecret(
  secrets: SecretSource,
  tenant: string,
  options: { forceRefresh?: boolean } = {},
): Promise<string | undefined> {
  const value = await secrets.get(callbackSigningSecretName(tenant), options);
  const secret = value?.['signing_secret'] ?? value?.['api_key'];
  return secret === undefined || secret === '' ? undefined : secret;
}
