import * as z from 'zod';
import { circuitBreakerConfigSchema } from '../breaker/config';
import { restToolSchema } from '../mcp/restToolConfig';

/**
 * `services.<name>` in the config: a third-party API the tool proxy calls for agents
 * (`ANY /v1/tools/<name>/<path>`), with the credential Breakwater injects and the resilience
 * around it. Credentials are always secret names (Secrets Manager, like providers'), never values.
 */

// Every schema here is built on first use (z.lazy, or a function called inside one): building
// zod schemas at import costs cold-start CPU.
const positiveMs = () => z.number().int().positive();
const secretName = () =>
  z
    .string()
    .min(1)
    .max(512)
    .regex(/^[A-Za-z0-9/_+=.@-]+$/, 'a secret name (letters, digits and /_+=.@-), never the secret itself');
const httpMethod = () => z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
/** OAuth client authentication at the token endpoint (RFC 7591 names): HTTP Basic or form fields. */
const tokenEndpointAuthMethod = () => z.enum(['client_secret_basic', 'client_secret_post']);

/** The secret holds the key itself; it goes in a header (default `x-api-key`) or a query parameter. */
const apiKeyAuth = () =>
  z.strictObject({
    type: z.literal('api_key'),
    secret: secretName(),
    in: z.enum(['header', 'query']).default('header'),
    /** Header or query parameter name. @default 'x-api-key' */
    name: z.string().min(1).default('x-api-key'),
  });

/** The secret holds a token sent as `Authorization: Bearer <token>`. */
const bearerAuth = () => z.strictObject({ type: z.literal('bearer'), secret: secretName() });

/** The secret holds JSON `{"username": ..., "password": ...}`, sent as HTTP Basic. */
const basicAuth = () => z.strictObject({ type: z.literal('basic'), secret: secretName() });

/** OAuth 2.0 client credentials (a service account): the secret holds `{"client_id", "client_secret"}`. */
const clientCredentialsAuth = () =>
  z.strictObject({
    type: z.literal('oauth_client_credentials'),
    secret: secretName(),
    token_url: z.url(),
    scopes: z.array(z.string().min(1)).default([]),
    /** Extra token-request parameters some providers want (`audience`, `resource`). */
    token_params: z.record(z.string(), z.string()).optional(),
    /** How the client authenticates to `token_url`. @default 'client_secret_basic' (RFC 6749 §2.3.1: every server supports it) */
    token_endpoint_auth_method: tokenEndpointAuthMethod().optional(),
  });

/**
 * OAuth 2.0 on behalf of an end user (authorization code with PKCE). The secret holds the app's
 * `{"client_id", "client_secret"}`; each user's tokens live in the connections table.
 */
const oauthUserAuth = () =>
  z.strictObject({
    type: z.literal('oauth_user'),
    secret: secretName(),
    authorize_url: z.url(),
    token_url: z.url(),
    /** Where a refresh token is revoked on `DELETE /v1/connections/...` (RFC 7009), when the provider has one. */
    revoke_url: z.url().optional(),
    /** Scopes requested on connect; a call needing others is refused. */
    scopes: z.array(z.string().min(1)).default([]),
    /** Extra authorize-URL parameters (`access_type=offline`, `prompt=consent`). */
    authorize_params: z.record(z.string(), z.string()).optional(),
    /** How the client authenticates to `token_url` and `revoke_url`. @default 'client_secret_post' (what Google, GitHub, Slack... accept) */
    token_endpoint_auth_method: tokenEndpointAuthMethod().optional(),
  });

/** AWS SigV4 with the function's own IAM role: no stored secret at all. */
const sigv4Auth = () =>
  z.strictObject({
    type: z.literal('sigv4'),
    /** The signing name (`execute-api`, `lambda`, `es`...). */
    service: z.string().min(1),
    /** @default the function's own region (AWS_REGION) */
    region: z.string().min(1).optional(),
  });

/** A public API: nothing injected. */
const noAuth = () => z.strictObject({ type: z.literal('none') });

export const serviceAuthSchema = z.lazy(() =>
  z.discriminatedUnion('type', [
    apiKeyAuth(),
    bearerAuth(),
    basicAuth(),
    clientCredentialsAuth(),
    oauthUserAuth(),
    sigv4Auth(),
    noAuth(),
  ]),
);
export type ServiceAuthConfig = z.infer<typeof serviceAuthSchema>;
export type ServiceAuthType = ServiceAuthConfig['type'];

/** One operation a person must approve before it runs (`POST /v1/refunds`, over an amount). */
export const highStakesSchema = z.lazy(() =>
  z.strictObject({
    method: httpMethod(),
    /** A path pattern relative to the service: `*` matches one segment, `**` any number. */
    path: z.string().min(1),
    /** A JSON body field (dot path) whose number decides: held only when it is at least `threshold`. */
    amount_field: z.string().min(1).optional(),
    threshold: z.number().optional(),
    /** How long an approval waits for a decision. @default 86_400_000 (one day) */
    expires_after_ms: positiveMs().optional(),
  }),
);
export type HighStakesRule = z.infer<typeof highStakesSchema>;

export const serviceSchema = z.lazy(() =>
  z.strictObject({
    /** Every call goes under this URL; nothing else is ever called with the credential. */
    base_url: z.url(),
    /**
     * Accept `%2F` inside a path segment (GitLab `projects/group%2Fproject`, npm `@scope%2fname`),
     * relayed still encoded; every other traversal form stays refused (see shared/tools/safePath.ts).
     * @default false
     */
    allow_encoded_slashes: z.boolean().optional(),
    auth: serviceAuthSchema.default({ type: 'none' }),
    /** Per-attempt timeout. @default 10_000 */
    timeout: positiveMs().optional(),
    retry: z
      .strictObject({
        /** Retries after the first call, for methods (and keyed POSTs) where a retry is safe. @default 2 */
        attempts: z.number().int().min(0).max(10).optional(),
        base_delay_ms: positiveMs().optional(),
        max_delay_ms: positiveMs().optional(),
        /** A Retry-After longer than this is not waited out. @default 20_000 */
        max_retry_after_ms: positiveMs().optional(),
      })
      .optional(),
    circuit_breaker: circuitBreakerConfigSchema.optional(),
    /** A fleet-wide token bucket per service and credential, tightened by the API's own rate-limit headers. */
    rate_limit: z
      .strictObject({
        requests_per_second: z.number().positive(),
        /** @default requests_per_second */
        burst: z.number().int().positive().optional(),
      })
      .optional(),
    /** GETs only: the last good answer, served when the breaker is open. */
    cache: z
      .strictObject({
        /** How old a stale answer may be and still be served. @default 86_400 */
        max_stale_seconds: z.number().int().positive().optional(),
      })
      .optional(),
    high_stakes: z.array(highStakesSchema).default([]),
    /** Operations of this service exposed as MCP tools on `/mcp` (see shared/mcp/mcpConfig.ts). */
    tools: z.array(restToolSchema).default([]),
    /** The same key making the same call more than `max_repeats` times in `window_ms` is a loop. */
    loop_detection: z
      .strictObject({
        max_repeats: z.number().int().positive().default(10),
        window_ms: positiveMs().default(60_000),
      })
      .optional(),
  }),
);
export type ServiceConfig = z.infer<typeof serviceSchema>;

/** Per service, what a key may call: methods and path patterns (`*` one segment, `**` any). */
export const servicePermissionSchema = z.lazy(() =>
  z.strictObject({
    methods: z.array(httpMethod()).optional(),
    paths: z.array(z.string().min(1)).optional(),
  }),
);
export type ServicePermission = z.infer<typeof servicePermissionSchema>;
