import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { RedeliveryError, type Redelivery } from '../queue/redelivery';
import type { Clock } from '../resilience/clock';
import { planFailure } from './planFailure';
import type { Task, TaskRef } from './Task';
import type { TaskMessage } from './TaskQueue';
import type { TaskSettlement, TaskStore } from './TaskStore';
import { FINISHED_STATUSES } from './taskStatus';
import { isGatewayError } from '../errors/GatewayError';
import { STORES, TASK_METRICS } from '../telemetry/metricNames';
import { storeOfErrorCode } from '../telemetry/requestDimensions';
import { recordStoreUnavailable } from '../telemetry/storeUnavailable';

/** What running a task returns: the chat completion body and, when known, its cost. */
export interface TaskExecution {
  body: unknown;
  costUsd?: number;
}

export interface ExecuteTaskContext {
  /** For the deadline: the engine keeps its usual margin before the function's timeout. */
  lambdaContext: Context;
  receiveCount: number;
}

/** Runs a task's request through the gateway engine (routing, breakers, budgets, credentials). */
export type ExecuteTask = (task: Task, context: ExecuteTaskContext) => Promise<TaskExecution>;

/** One delivery of a task message. */
export interface TaskDelivery {
  message: TaskMessage;
  messageId: string;
  receiveCount: number;
  deferrals: number;
  lambdaContext: Context;
}

/** How a delivery ended when it was not failed back to the queue. */
export const TASK_OUTCOMES = {
  SUCCEEDED: 'succeeded',
  FAILED: 'failed',
  /** The task was finished (or cancelled) already: a duplicate or late delivery. */
  SKIPPED: 'skipped',
  /** No such task: the message outlived it. Nothing to do, so the message is dropped. */
  MISSING: 'missing',
} as const;
export type TaskOutcome = (typeof TASK_OUTCOMES)[keyof typeof TASK_OUTCOMES];

export interface TaskRunnerOptions {
  store: TaskStore;
  execute: ExecuteTask;
  clock: Clock;
  logger: Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;
  /** @default 5 — must equal the queue's redrive policy */
  maxReceiveCount?: number;
  /**
   * Deferrals (re-sends for a `Retry-After`) before a wait starts to use up receives.
   * @default 24 — with 30 s breaker cooldowns, twelve minutes of outage before it counts
   */
  maxDeferrals?: number;
  /**
   * Added to the invocation's remaining time to make the claim's lease: a live worker never
   * loses its claim (the invocation ends before the lease does), while a dead one's lease has
   * expired by the time the queue's visibility timeout (6 × the function timeout) returns the
   * message. The margin absorbs clock differences between containers.
   * @default 2_000
   */
  leaseMarginMs?: number;
  /** Called after a task reaches succeeded, failed or dead_lettered (callbacks); errors are logged. */
  onFinished?: (task: Task) => Promise<void>;
  /** TasksCompleted, TasksFailed, DeadLetterMoves and StoreUnavailable. @default none recorded */
  metrics?: Pick<Metrics, 'addMetric' | 'singleMetric'>;
}

/**
 * A stored result must leave room in its 400 KB DynamoDB item for the request it answers; a
 * larger one fails the task rather than fail its write forever.
 */
export const MAX_RESULT_BYTES = 120 * 1024;

/** Waits between tries of a failed settle: 250 ms, doubling, at most 2 s. */
const SETTLE_RETRY_BASE_MS = 250;
const SETTLE_RETRY_MAX_MS = 2_000;
/**
 * No try of a failed settle starts with less than this left of the invocation: one store call's
 * bound (2 s) and the batch's return before the timeout (1 s), so the record is reported before
 * the invocation ends.
 */
const SETTLE_RESERVE_MS = 3_000;

/**
 * Runs one delivered task exactly once, whatever SQS does:
 * 1. a conditional claim (queued | dead_lettered | running with an expired lease → running,
 *    with a lease) picks one delivery among concurrent duplicates; the others are held back
 *    until the lease ends and then find the task finished;
 * 2. a finished task is not claimable: a duplicate or late delivery is skipped;
 * 3. the result is written only while the claim is still held, so a worker that lost its lease
 *    cannot overwrite the result of the worker that took over.
 * A worker dying mid-task leaves a lease that expires; the message's next delivery re-runs it.
 *
 * Resolves when the delivery is done with (the message may be deleted); rejects with a
 * {@link RedeliveryError} saying how the message should come back.
 */
export class TaskRunner {
  private readonly maxReceiveCount: number;
  private readonly maxDeferrals: number;
  private readonly leaseMarginMs: number;

  constructor(private readonly options: TaskRunnerOptions) {
    this.maxReceiveCount = options.maxReceiveCount ?? 5;
    this.maxDeferrals = options.maxDeferrals ?? 24;
    this.leaseMarginMs = options.leaseMarginMs ?? 2_000;
  }

  /** A task store call that threw: the store was unreachable (a lost race is a result, not a throw). */
  private async countingUnavailable<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (this.options.metrics) recordStoreUnavailable(this.options.metrics, STORES.TASKS);
      throw error;
    }
  }

  /** A final status is counted once, by the delivery that wrote it; a dead-lettered task is also a DLQ move. */
  private countSettlement(status: TaskSettlement['status']): void {
    const { metrics } = this.options;
    if (!metrics) return;
    if (status === 'succeeded') metrics.addMetric(TASK_METRICS.COMPLETED, MetricUnit.Count, 1);
    if (status === 'failed' || status === 'dead_lettered') metrics.addMetric(TASK_METRICS.FAILED, MetricUnit.Count, 1);
    if (status === 'dead_lettered') metrics.addMetric(TASK_METRICS.DEAD_LETTER_MOVES, MetricUnit.Count, 1);
  }

  async run(delivery: TaskDelivery): Promise<TaskOutcome> {
    const { store, clock, logger } = this.options;
    const ref: TaskRef = { tenant: delivery.message.tenant, id: delivery.message.taskId };
    const log = { task_id: ref.id, tenant: ref.tenant, message_id: delivery.messageId, receive_count: delivery.receiveCount };

    // Claim first, read only when that fails: the common case is one write and no read.
    const now = clock.now();
    const owner = `${delivery.lambdaContext.awsRequestId}/${delivery.messageId}/${randomUUID()}`;
    const leaseUntil = now + delivery.lambdaContext.getRemainingTimeInMillis() + this.leaseMarginMs;
    const claimed = await this.countingUnavailable(() => store.claim(ref, { owner, at: now, leaseUntil }));
    if (!claimed) return this.afterLostRace(ref, log);
    logger.debug('task claimed', { ...log, attempt: claimed.attempts });

    let settlement: TaskSettlement;
    let redelivery: Redelivery | undefined;
    try {
      const execution = await this.options.execute(claimed, { lambdaContext: delivery.lambdaContext, receiveCount: delivery.receiveCount });
      settlement = this.successSettlement(execution);
    } catch (error) {
      // The engine's own stores (spend, idempotency) failing the task: counted as the gateway counts them.
      const unreachable = isGatewayError(error) ? storeOfErrorCode(error.code) : undefined;
      if (unreachable && this.options.metrics) recordStoreUnavailable(this.options.metrics, unreachable);
      const at = clock.now();
      const plan = planFailure(error, {
        receiveCount: delivery.receiveCount,
        maxReceiveCount: this.maxReceiveCount,
        deferrals: delivery.deferrals,
        maxDeferrals: this.maxDeferrals,
        now: at,
      });
      switch (plan.kind) {
        case 'fail':
          settlement = { status: 'failed', at, error: plan.error };
          break;
        case 'dead_letter':
          settlement = { status: 'dead_lettered', at, error: plan.error };
          // Visible again at once, so the next receive (the one past maxReceiveCount) moves it to the DLQ.
          redelivery = { kind: 'delay', delayMs: 0 };
          break;
        case 'retry':
          settlement = { status: 'queued', at, error: plan.error };
          redelivery = plan.redelivery;
          break;
      }
    }

    if (!(await this.countingUnavailable(() => this.settleDurably(ref, owner, settlement, delivery.lambdaContext, log)))) {
      // Our lease ran out and another delivery took the task over: its result is the one kept.
      logger.error('claim lost before the result was written; the lease was shorter than the run', log);
      return this.afterLostRace(ref, log);
    }
    logger.info('task settled', {
      ...log,
      status: settlement.status,
      ...('error' in settlement ? { error_code: settlement.error.code } : {}),
      ...(redelivery ? { redelivery: redelivery.kind } : {}),
    });

    this.countSettlement(settlement.status);
    if (settlement.status !== 'queued') await this.notifyFinished(ref, log);
    if (redelivery) throw new RedeliveryError(`task ${settlement.status === 'queued' ? 'will be retried' : settlement.status}`, redelivery);
    return settlement.status === 'succeeded' ? TASK_OUTCOMES.SUCCEEDED : TASK_OUTCOMES.FAILED;
  }

  private successSettlement(execution: TaskExecution): TaskSettlement {
    const at = this.options.clock.now();
    const bytes = Buffer.byteLength(JSON.stringify(execution.body ?? null));
    if (bytes > MAX_RESULT_BYTES) {
      return {
        status: 'failed',
        at,
        error: { code: 'result_too_large', message: `the result is ${bytes} bytes; a task result may be at most ${MAX_RESULT_BYTES}` },
      };
    }
    return { status: 'succeeded', at, result: execution.body, costUsd: execution.costUsd };
  }

  /**
   * The settle, retried while the invocation has time for another try: the result it records was
   * paid for upstream, and one failed write (a store that blinked) would otherwise leave the task
   * held until the lease ends and then run it, and pay for it, again. Only store errors are
   * retried; `false` (the claim was lost) is an answer.
   */
  private async settleDurably(
    ref: TaskRef,
    owner: string,
    settlement: TaskSettlement,
    context: Pick<Context, 'getRemainingTimeInMillis'>,
    log: Record<string, unknown>,
  ): Promise<boolean> {
    const { store, clock, logger } = this.options;
    for (let attempt = 1; ; attempt++) {
      try {
        return await store.settle(ref, owner, settlement);
      } catch (error) {
        const waitMs = Math.min(SETTLE_RETRY_MAX_MS, SETTLE_RETRY_BASE_MS * 2 ** (attempt - 1));
        if (context.getRemainingTimeInMillis() - waitMs < SETTLE_RESERVE_MS) throw error;
        logger.warn('task result not written; retrying', { ...log, attempt, error_name: (error as Error | undefined)?.name });
        await clock.sleep(waitMs);
      }
    }
  }

  /** Someone else holds the task: come back when their lease ends (the task is finished by then, or theirs died). */
  private heldElsewhere(task: Task, now: number): RedeliveryError {
    const delayMs = Math.max(1_000, (task.leaseUntil ?? now) - now + 1_000);
    return new RedeliveryError('task is running in another invocation', { kind: 'delay', delayMs });
  }

  /** Not claimed (or the claim was lost): the task is gone, finished, or held by someone else. */
  private async afterLostRace(ref: TaskRef, log: Record<string, unknown>): Promise<TaskOutcome> {
    const current = await this.options.store.get(ref);
    if (!current) {
      this.options.logger.warn('task message without a task; dropped', log);
      return TASK_OUTCOMES.MISSING;
    }
    if (FINISHED_STATUSES.has(current.status)) {
      this.options.logger.info('task already finished; delivery skipped', { ...log, status: current.status });
      return TASK_OUTCOMES.SKIPPED;
    }
    this.options.logger.info('task held by another delivery', { ...log, status: current.status });
    throw this.heldElsewhere(current, this.options.clock.now());
  }

  private async notifyFinished(ref: TaskRef, log: Record<string, unknown>): Promise<void> {
    if (!this.options.onFinished) return;
    try {
      const task = await this.options.store.get(ref);
      if (task) await this.options.onFinished(task);
    } catch (error) {
      this.options.logger.warn('onFinished failed', { ...log, error_name: (error as Error).name });
    }
  }
}
