import * as z from 'zod';
import { servicePermissionSchema } from '../tools/serviceConfig';

/**
 * What one virtual key may do. The field names are the ones a tenant uses in the config file,
 * so a key's policy reads like a tenant block and can narrow it. Every field is optional: an
 * absent field leaves the tenant's own setting in force.
 */

// Built on first use (z.lazy, or a function called inside one): building zod schemas at import
// costs cold-start CPU.
const names = () => z.array(z.string().min(1));
const usd = () => z.number().min(0);
/** Secrets Manager's own name alphabet: a value that is not a name (a pasted key) fails here. */
const secretName = () =>
  z
    .string()
    .min(1)
    .max(512)
    .regex(/^[A-Za-z0-9/_+=.@-]+$/, 'a secret name (letters, digits and /_+=.@-), never the secret itself');

export const INPUT_SCREENING_MODES = ['off', 'flag', 'block'] as const;

export const keyPolicySchema = z.lazy(() =>
  z.strictObject({
    /** `admin`: the key may use the admin routes (deciding approvals). Given to a key by the operator, never inherited by others. */
    role: z.enum(['admin']).optional(),
    /** Routes the key may pick with `x-breakwater-route`. */
    allowed_routes: names().optional(),
    allowed_models: names().optional(),
    allowed_providers: names().optional(),
    /** Tool proxy services the key may call; absent: every configured service. */
    allowed_services: names().optional(),
    /** Tool proxy methods the key may use on any service; `["GET", "HEAD"]` is a read-only key. */
    allowed_methods: names().optional(),
    /** MCP tools the key may list and call: names or globs (`github__*`); absent: every tool. */
    allowed_tools: names().optional(),
    /** Per service, methods and path patterns (`*` one segment, `**` any) the key may call. */
    service_permissions: z.record(z.string().min(1), servicePermissionSchema).optional(),
    /** Requests per minute, across the fleet. */
    rpm_limit: z.number().int().positive().optional(),
    /** Tokens (prompt + completion) per minute, across the fleet. */
    tpm_limit: z.number().int().positive().optional(),
    input_screening: z.enum(INPUT_SCREENING_MODES).optional(),
    daily_budget_usd: usd().optional(),
    monthly_budget_usd: usd().optional(),
    max_request_cost_usd: usd().optional(),
    /** Tool calls (`/v1/tools` and MCP `tools/call`) per UTC day, across the fleet; a key's own is counted apart from its tenant's. */
    daily_tool_calls: z.number().int().positive().optional(),
    /** Tokens per end user (the request's `user`) per hour. */
    user_hourly_token_limit: z.number().int().positive().optional(),
    /** When the spend store is unreachable: serve (true) or refuse (false, the default). */
    budget_fail_open: z.boolean().optional(),
    /** Task callbacks may go to private, loopback or link-local addresses (never metadata endpoints). */
    callback_allow_private: z.boolean().optional(),
    /** Bring-your-own-key: provider name → the secret holding this key's own credential. */
    credential_overrides: z.record(z.string().min(1), secretName()).optional(),
  }),
);

export type KeyPolicy = z.infer<typeof keyPolicySchema>;
