import type { Logger } from '@aws-lambda-powertools/logger';
import { ChangeMessageVisibilityCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { MiddlewareObj, Request } from '@middy/core';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { systemClock, systemRandom, type Clock, type RandomSource } from '../resilience/clock';
import { redeliveryOf, type Redelivery } from './redelivery';
import {
  backoffVisibilitySeconds,
  DEFAULT_REDELIVERY_BACKOFF,
  delayVisibilitySeconds,
  MAX_MESSAGE_DELAY_SECONDS,
  type RedeliveryBackoffOptions,
} from './redeliveryDelay';
import { DEFERRALS_ATTRIBUTE, deferralsOf, queueUrlResolver, receiveCountOf, toSendAttributes } from './sqsRecord';

export interface JitteredRedeliveryOptions {
  sqs: Pick<SQSClient, 'send'>;
  /** The URLs of the queues this function consumes, matched to records by queue name. */
  queueUrls: readonly string[];
  /** @default {@link DEFAULT_REDELIVERY_BACKOFF} (5 s base, 15 min cap) */
  backoff?: Partial<RedeliveryBackoffOptions>;
  /** @default Math.random */
  random?: RandomSource;
  /** Dates the receive, for the 12 h visibility ceiling. @default the system clock */
  clock?: Clock;
  logger?: Pick<Logger, 'debug' | 'warn'>;
  /** Called once per failed record with what was done about it (metrics, tests). */
  onRedelivery?: (action: RedeliveryAction) => void;
}

/** What the middleware did with one failed record. */
export interface RedeliveryAction {
  messageId: string;
  kind: Redelivery['kind'];
  /** The visibility timeout set, or the delay the message was re-sent with. */
  seconds?: number;
  /** True when a deferral was re-sent, so the record was turned into a success. */
  deferred?: boolean;
}

const RECEIVED_AT_KEY = 'breakwaterReceivedAt';

type Settled = PromiseSettledResult<unknown>;

/**
 * Spreads redeliveries out. Runs after a handler that returns one settled result per record
 * (Middy's sqs-partial-batch-failure convention, which must be `.use`d before this so its
 * `after` runs after this one's). For every rejected record it sets the message's visibility
 * timeout according to the failure's {@link Redelivery} instruction, with ChangeMessageVisibility:
 * without it, every failure of a batch would come back together when the queue's fixed
 * visibility timeout ends, and hit a recovering provider in lockstep.
 *
 * A deferral is re-sent with `DelaySeconds` and its record turned into a success (deleted).
 * Any SQS call failing is logged and left: the message then simply comes back after its
 * current visibility timeout, which is still correct, only less well spread.
 */
export function jitteredRedelivery(options: JitteredRedeliveryOptions): MiddlewareObj<SQSEvent, unknown, Error, Context> {
  const backoff = { ...DEFAULT_REDELIVERY_BACKOFF, ...options.backoff };
  const random = options.random ?? systemRandom;
  const clock = options.clock ?? systemClock;
  const urlFor = queueUrlResolver(options.queueUrls);
  const logger = options.logger;

  const visibility = async (record: SQSRecord, seconds: number) => {
    await options.sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: urlFor(record.eventSourceARN),
        ReceiptHandle: record.receiptHandle,
        VisibilityTimeout: seconds,
      }),
    );
  };

  const act = async (record: SQSRecord, redelivery: Redelivery, elapsedSeconds: number): Promise<RedeliveryAction> => {
    const { messageId } = record;
    switch (redelivery.kind) {
      case 'untouched':
        return { messageId, kind: 'untouched' };
      case 'backoff': {
        const seconds = backoffVisibilitySeconds(receiveCountOf(record), backoff, random, elapsedSeconds);
        await visibility(record, seconds);
        return { messageId, kind: 'backoff', seconds };
      }
      case 'delay': {
        const seconds = delayVisibilitySeconds(redelivery.delayMs, elapsedSeconds);
        await visibility(record, seconds);
        return { messageId, kind: 'delay', seconds };
      }
      case 'defer': {
        const seconds = Math.min(MAX_MESSAGE_DELAY_SECONDS, delayVisibilitySeconds(redelivery.delayMs));
        try {
          await options.sqs.send(
            new SendMessageCommand({
              QueueUrl: urlFor(record.eventSourceARN),
              MessageBody: record.body,
              DelaySeconds: seconds,
              MessageAttributes: {
                ...toSendAttributes(record.messageAttributes),
                [DEFERRALS_ATTRIBUTE]: { DataType: 'Number', StringValue: String(deferralsOf(record) + 1) },
              },
            }),
          );
          return { messageId, kind: 'defer', seconds, deferred: true };
        } catch (error) {
          // Not re-sent: fall back to holding this delivery back, which uses up a receive.
          logger?.warn('deferral not sent; delaying the delivery instead', { message_id: messageId, error_name: (error as Error).name });
          const held = delayVisibilitySeconds(redelivery.delayMs, elapsedSeconds);
          await visibility(record, held);
          return { messageId, kind: 'delay', seconds: held };
        }
      }
    }
  };

  return {
    before: (request) => {
      (request.internal as Record<string, unknown>)[RECEIVED_AT_KEY] = clock.now();
    },
    after: async (request: Request<SQSEvent, unknown, Error, Context>) => {
      const results = request.response as Settled[] | undefined;
      const records = request.event.Records ?? [];
      if (!Array.isArray(results)) return;
      const receivedAt = ((request.internal as Record<string, unknown>)[RECEIVED_AT_KEY] as number | undefined) ?? clock.now();
      const elapsedSeconds = (clock.now() - receivedAt) / 1000;

      await Promise.all(
        records.map(async (record, index) => {
          const result = results[index];
          if (result?.status !== 'rejected') return;
          const redelivery = redeliveryOf(result.reason);
          let action: RedeliveryAction;
          try {
            action = await act(record, redelivery, elapsedSeconds);
            if (action.deferred) results[index] = { status: 'fulfilled', value: 'deferred' };
            logger?.debug('redelivery', { message_id: record.messageId, ...action });
          } catch (error) {
            logger?.warn('could not change the message visibility', { message_id: record.messageId, error_name: (error as Error).name });
            action = { messageId: record.messageId, kind: redelivery.kind };
          }
          options.onRedelivery?.(action);
        }),
      );
    },
  };
}
