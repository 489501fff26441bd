import * as z from 'zod';
import { GatewayError } from '../errors';
import { chatCompletionRequestSchema } from '../gateway/requestSchemas';
import { validateBody } from '../gateway/validateBody';
import { TASK_PRIORITIES } from './taskStatus';

/**
 * A task's stored request, metadata and bookkeeping must fit one DynamoDB item (400 KB); the
 * rest of the item (result aside) is small, so the submission gets this much.
 */
export const MAX_SUBMISSION_BYTES = 256 * 1024;

/** Metadata is the caller's labels, not a payload: OpenAI's own limit is 16 pairs. */
export const MAX_METADATA_KEYS = 16;
export const MAX_METADATA_BYTES = 4 * 1024;

/**
 * `POST /v1/tasks`' body. Strict at the top level, so a misspelt `priorty` is a 400 rather than
 * a silently normal-priority task; the inner request is the chat completion schema itself.
 */
export const taskSubmissionSchema = z.strictObject({
  request: chatCompletionRequestSchema,
  priority: z.enum([TASK_PRIORITIES.HIGH, TASK_PRIORITIES.NORMAL]).default(TASK_PRIORITIES.NORMAL),
  // Only the shape is checked here; whether the address may be called is the callback
  // sender's decision (it resolves the host and refuses private ranges).
  callback_url: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
    .max(2048)
    .optional(),
  metadata: z
    .record(z.string().min(1).max(64), z.unknown())
    .refine((value) => Object.keys(value).length <= MAX_METADATA_KEYS, `at most ${MAX_METADATA_KEYS} keys`)
    .refine((value) => Buffer.byteLength(JSON.stringify(value)) <= MAX_METADATA_BYTES, `at most ${MAX_METADATA_BYTES} bytes as JSON`)
    .optional(),
});

export type TaskSubmission = z.infer<typeof taskSubmissionSchema>;

/**
 * Checks a submission before anything is stored or enqueued: a bad body is a 400 now, never a
 * task that fails later.
 *
 * @throws GatewayError `invalid_request`, `streaming_unsupported` or `payload_too_large`
 */
export function parseTaskSubmission(body: unknown): TaskSubmission {
  const submission = validateBody(taskSubmissionSchema, body);
  if (submission.request.stream === true) {
    // Nobody is connected to stream to: the result is read later or POSTed to the callback.
    throw new GatewayError('streaming_unsupported', 'a task cannot stream; send request.stream: false or leave it out', {
      details: { param: 'request.stream' },
    });
  }
  const bytes = Buffer.byteLength(JSON.stringify(submission));
  if (bytes > MAX_SUBMISSION_BYTES) {
    throw new GatewayError('payload_too_large', `a task submission may be at most ${MAX_SUBMISSION_BYTES} bytes; this one is ${bytes}`);
  }
  return submission;
}
