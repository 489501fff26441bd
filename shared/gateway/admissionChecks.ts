import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { GatewayError } from '../errors';
import type { Deadline } from '../resilience/deadline';
import { runWithDeadline } from '../resilience/deadlineScope';
import { screenInput } from '../security';
import { DEFAULT_LOOP_DETECTION, llmLoopFingerprint } from '../tools/limits';
import type { LoopGuard } from '../tools/types';
import type { Principal } from './Principal';

/** Input screening: a security event (ids only, never content) and, in `block` mode, a 400. */
export function screenRequest(
  principal: Principal,
  body: Record<string, unknown>,
  deps: { logger: Pick<Logger, 'warn'>; metrics?: Pick<Metrics, 'addMetric'> },
): void {
  const mode = principal.policy.input_screening ?? 'off';
  if (mode === 'off') return;
  const matches = screenInput(body);
  if (matches.length === 0) return;
  deps.logger.warn('security: prompt injection pattern', {
    event: 'input_screening',
    tenant: principal.tenant.name,
    key_prefix: principal.keyPrefix,
    patterns: matches,
    action: mode,
  });
  deps.metrics?.addMetric('InputScreeningMatch', MetricUnit.Count, 1);
  if (mode === 'block') {
    throw new GatewayError('input_rejected', `the request matched input screening patterns: ${matches.join(', ')}`);
  }
}

/**
 * An agent that sends the same tool call and the same tool result back again and again is in a
 * loop: past the threshold the request is refused (429 `loop_detected`) before it costs anything.
 * Most requests do not end in tool results and cost nothing here (no store call, no deadline scope).
 */
export async function refuseLoop(loopGuard: LoopGuard | undefined, principal: Principal, body: Record<string, unknown>, deadline: Deadline): Promise<void> {
  const fingerprint = loopGuard && llmLoopFingerprint(body);
  if (!fingerprint) return;
  await runWithDeadline(deadline, () =>
    loopGuard!.check({
      keyId: principal.keyId,
      tenant: principal.tenant.name,
      keyPrefix: principal.keyPrefix,
      fingerprint,
      ...DEFAULT_LOOP_DETECTION,
    }),
  );
}
