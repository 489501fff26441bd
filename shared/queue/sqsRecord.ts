import type { MessageAttributeValue } from '@aws-sdk/client-sqs';
import type { SQSMessageAttributes, SQSRecord } from 'aws-lambda';

/** Message attribute counting how often a message was deferred (re-sent with a delay). */
export const DEFERRALS_ATTRIBUTE = 'breakwater-deferrals';

/** SQS's `ApproximateReceiveCount`: 1 on the first delivery. A missing or odd value counts as 1. */
export function receiveCountOf(record: Pick<SQSRecord, 'attributes'>): number {
  const count = Number(record.attributes?.ApproximateReceiveCount);
  return Number.isInteger(count) && count >= 1 ? count : 1;
}

export function deferralsOf(record: Pick<SQSRecord, 'messageAttributes'>): number {
  const count = Number(record.messageAttributes?.[DEFERRALS_ATTRIBUTE]?.stringValue);
  return Number.isInteger(count) && count >= 0 ? count : 0;
}

/** The queue's name from an event's `eventSourceARN` (`arn:aws:sqs:region:account:name`). */
export const queueNameOfArn = (arn: string): string => arn.slice(arn.lastIndexOf(':') + 1);

/** The queue's name from its URL (`https://sqs.region.amazonaws.com/account/name`). */
export const queueNameOfUrl = (url: string): string => url.replace(/\/+$/, '').slice(url.replace(/\/+$/, '').lastIndexOf('/') + 1);

/**
 * Resolves an event's `eventSourceARN` to the queue URL to call: one of `knownUrls` with the same
 * queue name (locally the URL's host is the emulator's, not derivable from the ARN), else the
 * URL AWS gives every queue.
 */
export function queueUrlResolver(knownUrls: readonly string[]): (eventSourceArn: string) => string {
  const byName = new Map(knownUrls.map((url) => [queueNameOfUrl(url), url]));
  return (arn) => {
    const known = byName.get(queueNameOfArn(arn));
    if (known) return known;
    const [, partition, , region, account, name] = arn.split(':');
    const domain = partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com';
    return `https://sqs.${region}.${domain}/${account}/${name}`;
  };
}

/** A Lambda event's message attributes in the shape SendMessage takes. */
export function toSendAttributes(attributes: SQSMessageAttributes | undefined): Record<string, MessageAttributeValue> {
  const out: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(attributes ?? {})) {
    out[name] = {
      DataType: value.dataType,
      ...(value.stringValue !== undefined ? { StringValue: value.stringValue } : {}),
      ...(value.binaryValue !== undefined ? { BinaryValue: Buffer.from(value.binaryValue, 'base64') } : {}),
    };
  }
  return out;
}
