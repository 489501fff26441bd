import { parseArgs } from 'node:util';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { QUEUE_ENV, redriveDlq } from '../../shared/queue';
import type { CliIo } from './keysCommand';
import { UsageError } from './UsageError';

export const DLQ_USAGE = `Usage:
  breakwater dlq redrive [--dlq <url>] [--to <queue url>]

Moves every message in a dead-letter queue back to its source queue (StartMessageMoveTask on
AWS), or to --to. Where the move task is missing (an emulator, as under npm start) the messages
are copied (receive, send, delete) to --to, which is then required; npm start prints the whole
command. A redriven task runs again: its dead_lettered status is claimable.

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
    const result = values.to === undefined ? await moveTask(sqs, dlqUrl, deps.env) : await redriveDlq({ sqs, dlqUrl, targetUrl: values.to });
    deps.io.out(
      result.mode === 'move_task'
        ? `${dlqUrl}: move task started (${result.taskHandle})`
        : `${dlqUrl}: ${result.moved} message(s) moved back`,
    );
  }
  return 0;
}

/** The error names an SQS endpoint without StartMessageMoveTask answers with (fauxqs: InvalidAction). */
const NO_MOVE_TASK = new Set(['InvalidAction', 'UnsupportedOperation', 'UnknownOperationException']);

/**
 * Without --to, only SQS's move task knows each message's source queue; an emulator lacking it
 * is a usage problem (name the target), not a failure of some store.
 */
async function moveTask(sqs: SQSClient, dlqUrl: string, env: NodeJS.ProcessEnv) {
  try {
    return await redriveDlq({ sqs, dlqUrl, mode: 'move_task' });
  } catch (error) {
    if (!NO_MOVE_TASK.has((error as Error).name)) throw error;
    throw new UsageError(
      `the SQS endpoint ${env.AWS_ENDPOINT_URL_SQS ?? ''} has no message move task (an emulator, as under npm start): ` +
        'pass --to <queue url> to copy the messages there',
      DLQ_USAGE,
    );
  }
}

/**
 * The redrive command `npm start` prints: everything the CLI needs in a fresh shell, the copy's
 * target included (fauxqs has no move task). High-priority tasks come back on the normal queue.
 */
export function localRedriveCommand(queues: { endpoint: string; dlqUrl: string; targetUrl: string }): string {
  return `AWS_ENDPOINT_URL_SQS=${queues.endpoint} npx breakwater dlq redrive --dlq ${queues.dlqUrl} --to ${queues.targetUrl}`;
}
