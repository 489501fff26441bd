import * as z from 'zod';
import { GatewayError } from '../../errors';
import { isKeyStoreError, KEY_STORE_ERRORS, keyPolicySchema } from '../../keys';

/** A day: the longest an operator's force or cap lasts, so nothing forced is forgotten for good. */
export const MAX_FORCE_SECONDS = 86_400;
/**
 * The admin door's bodies, each built on its first request (`z.lazy`), not at import: most
 * invocations never reach the admin API, and a cold start should not construct its schemas.
 */
const reason = () => z.string().trim().min(1).max(500);

export const createKeyBody = z.lazy(() =>
  z.strictObject({
    tenant: z.string().min(1),
    name: z.string().min(1).max(200).optional(),
    /** Sets the policy's `role` to `admin`, as `keys create --admin` does. */
    admin: z.boolean().optional(),
    policy: keyPolicySchema.optional(),
    expires_in_seconds: z.number().int().positive().optional(),
  }),
);

export const rotateKeyBody = z.lazy(() =>
  z.strictObject({
    /** How long the old key keeps working. @default 0 */
    grace_seconds: z.number().int().min(0).max(30 * 86_400).optional(),
    expires_in_seconds: z.number().int().positive().optional(),
  }),
);

export const forceBreakerBody = z.lazy(() =>
  z.strictObject({
    target: z.string().min(1),
    state: z.enum(['open', 'closed']),
    reason: reason(),
    expires_in_seconds: z.number().int().positive().max(MAX_FORCE_SECONDS),
  }),
);

export const capTodayBody = z.lazy(() =>
  z.strictObject({
    /** Today's daily cap for the tenant; `null` puts the policy's back. */
    daily_budget_usd: z.number().min(0).max(1_000_000).nullable(),
    reason: reason().optional(),
  }),
);

export const reasonBody = z.lazy(() => z.strictObject({ reason: reason().optional() }));

/**
 * A JSON body checked against its schema: a 400 `invalid_request` naming the field, never a 500.
 * The Lambda's JSON parser has usually parsed it already; an empty body is `{}`.
 */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown, isBase64Encoded = false): z.infer<T> {
  let value = body ?? {};
  if (typeof value === 'string') {
    if (value.trim() === '') value = {};
    else {
      try {
        value = JSON.parse(isBase64Encoded ? Buffer.from(value, 'base64').toString('utf8') : value);
      } catch {
        throw new GatewayError('invalid_request', 'the body must be a JSON object');
      }
    }
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const param = issue.path.join('.');
    throw new GatewayError('invalid_request', `${param ? `\`${param}\`: ` : ''}${issue.message}`, param ? { details: { param } } : {});
  }
  return result.data;
}

/** A key store's refusal in the admin API's terms: 404 for a missing key, 409 for one in the wrong state. */
export function keyStoreFailure(error: unknown): unknown {
  if (isKeyStoreError(error)) {
    if (error.code === KEY_STORE_ERRORS.NOT_FOUND) return new GatewayError('admin_not_found', error.message);
    if (error.code !== KEY_STORE_ERRORS.INVALID_RECORD) return new GatewayError('admin_conflict', error.message);
  }
  if (error instanceof RangeError) return new GatewayError('invalid_request', error.message);
  return error;
}
