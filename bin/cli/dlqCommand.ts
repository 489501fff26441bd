import { parseArgs } from 'node:util';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { QUEUE_ENV, redriveDlq } from '../../shared/queue';
import type { CliIo } from './keysCommand';
import { UsageError } from './UsageError';

export const DLQ_USAGE = `Usage:
  breakwater dlq redrive [--dlq <url>] [--to <queue url>]

Moves every message in a dead-letter queue back to its source queue (StartMessageMoveTask on
AWS; a receive/send/delete loop where that is missing, as locally). A redriven task runs again:
its dead_lettered status is claimable.

Queues: --dlq, else $${QUEUE_ENV.DLQ_URL} (set by npm start), else both
$BREAKWATER_QUEUE_DLQ_HIGH_URL and $BREAKWATER_QUEUE_DLQ_NORMAL_URL (the stack's outputs
DeadLetterQueueHighUrl and DeadLetterQueueNormalUrl). The SQS endpoint follows
AWS_ENDPOINT_URL_SQS; region and profile come from the environment.`;

/** `breakwater dlq redrive`. */
export async function dlqCommand(argv: readonly string[], deps: { io: CliIo; env: NodeJS.ProcessEnv; sqs: () => SQSClient }): Promise<number> {
  const [subcommand, ...rest] = argv;
  if (subcommand === '--help' || subcommand === '-h') {
    deps.io.out(DLQ_USAGE);
    return 0;
  }
  if (subcommand !== 'redrive') throw new UsageError(`unknown dlq command "${subcommand ?? ''}"`, DLQ_USAGE);
  let values;
  try {
    ({ values } = parseArgs({ args: [...rest], options: { dlq: { type: 'string' }, to: { type: 'string' } }, strict: true }));
  } catch (error) {
    throw new UsageError((error as Error).message, DLQ_USAGE);
  }
  const { env } = deps;
  const dlqs = values.dlq
    ? [values.dlq]
    : env[QUEUE_ENV.DLQ_URL]
      ? [env[QUEUE_ENV.DLQ_URL]!]
      : [env.BREAKWATER_QUEUE_DLQ_HIGH_URL, env.BREAKWATER_QUEUE_DLQ_NORMAL_URL].filter((url): url is string => !!url);
  if (dlqs.length === 0) throw new UsageError('no dead-letter queue: pass --dlq or set the queue URL variables', DLQ_USAGE);

  const sqs = deps.sqs();
  for (const dlqUrl of dlqs) {
    const result = await redriveDlq({ sqs, dlqUrl, targetUrl: values.to });
    deps.io.out(
      result.mode === 'move_task'
        ? `${dlqUrl}: move task started (${result.taskHandle})`
        : `${dlqUrl}: ${result.moved} message(s) moved back`,
    );
  }
  return 0;
}
