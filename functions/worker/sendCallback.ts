import type { Logger } from '@aws-lambda-powertools/logger';
import { deliverCallback, readCallbackSigningSecret } from '../../shared/callbacks';
import type { CompiledConfig } from '../../shared/config';
import type { SecretSource } from '../../shared/credentials';
import type { Clock, RandomSource } from '../../shared/resilience';
import { toTaskView, type Task } from '../../shared/tasks';

/** After a task's final status: POST it, signed with the tenant's secret, to its `callback_url`. */
export function sendCallbackWith(deps: {
  config: CompiledConfig;
  secrets: SecretSource;
  logger: Logger;
  clock: Clock;
  random: RandomSource;
}): (task: Task) => Promise<void> {
  return async (task) => {
    if (!task.callbackUrl) return;
    const signingSecret = await readCallbackSigningSecret(deps.secrets, task.tenant);
    // Never unsigned: a receiver could not tell our result from anyone's.
    if (!signingSecret) {
      deps.logger.warn('callback not sent: no signing secret for the tenant', { task_id: task.id, tenant: task.tenant });
      return;
    }
    const delivery = await deliverCallback({
      url: task.callbackUrl,
      body: toTaskView(task),
      tenant: task.tenant,
      signingSecret,
      allowPrivate: deps.config.tenants.get(task.tenant)?.policy.callback_allow_private ?? false,
      clock: deps.clock,
      random: deps.random,
    });
    deps.logger[delivery.delivered ? 'info' : 'warn']('task callback', {
      task_id: task.id,
      tenant: task.tenant,
      delivered: delivery.delivered,
      attempts: delivery.attempts,
      status: delivery.lastStatus,
      error: delivery.error,
    });
  };
}
