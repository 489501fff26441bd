/** Header a tenant's backend sets to name its end user when the body's `user` field is not used. */
export const END_USER_HEADER = 'x-breakwater-user';

/**
 * The end user a request is for: the `x-breakwater-user` header (set by the tenant's own
 * backend), else the body's OpenAI `user` field. Headers are expected lower-cased.
 */
export function endUserOf(body: Readonly<Record<string, unknown>>, headers: Readonly<Record<string, string | undefined>>): string | undefined {
  const header = headers[END_USER_HEADER]?.trim();
  if (header) return header;
  return typeof body.user === 'string' && body.user.trim() !== '' ? body.user.trim() : undefined;
}
