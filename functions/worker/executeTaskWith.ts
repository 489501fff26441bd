import type { CompiledConfig } from '../../shared/config';
import { GatewayError } from '../../shared/errors';
import { mergePolicies, RESPONSE_HEADERS, type CompletionService } from '../../shared/gateway';
import { Deadline, requestBudgetMs, type Clock } from '../../shared/resilience';
import type { ExecuteTask } from '../../shared/tasks';
import type { CompletionFacts } from '../../shared/telemetry/requestMetrics';

/**
 * A task runs the same completion as `POST /v1/chat/completions` (limits, spend, breakers,
 * retries, fallbacks, credentials), on the route named at submit (else its tenant's own), inside
 * the worker's deadline.
 * Errors are thrown unchanged: their code, status and `retry-after` decide retry or failure.
 */
export function executeTaskWith(
  completions: CompletionService,
  config: CompiledConfig,
  clock: Clock,
  /** What the completion's audit line says when it settles: the task's spend and tokens metrics. @default none */
  onSettled?: (facts: CompletionFacts) => void,
): ExecuteTask {
  return async (task, { lambdaContext }) => {
    const tenant = config.tenants.get(task.tenant);
    // Permanent: the tenant was removed from the config after the task was queued.
    if (!tenant) throw new GatewayError('invalid_api_key', `tenant "${task.tenant}" is no longer configured`);
    const routeName = task.route ?? tenant.route;
    // Permanent too: the route named at submit was removed from the config since.
    if (!config.routes.has(routeName)) throw new GatewayError('unknown_route', `route "${routeName}" is no longer configured`);
    const deadline = Deadline.after(
      clock,
      requestBudgetMs({
        lambdaRemainingMs: lambdaContext.getRemainingTimeInMillis(),
        marginMs: config.settings.lambda_margin_ms,
        maxRequestMs: config.settings.max_request_ms,
      }),
    );
    const outcome = await completions.complete({
      // The worker never sees the agent's key: the key's policy as it was at submit time travels
      // with the task, so its limits and caps apply here too (tasks without one: the tenant's).
      principal: {
        tenant,
        keyPrefix: task.keyPrefix ?? 'task',
        keyId: task.keyId ?? `tenant:${tenant.name}`,
        policy: task.keyPolicy ? mergePolicies(tenant.policy, task.keyPolicy) : tenant.policy,
        keyPolicy: task.keyPolicy,
      },
      routeName,
      operation: 'chat',
      body: task.request,
      deadline,
      endUser: task.request.user,
      onSettled,
    });
    const cost = Number(outcome.headers[RESPONSE_HEADERS.COST]);
    return { body: outcome.body, costUsd: Number.isFinite(cost) ? cost : undefined };
  };
}
