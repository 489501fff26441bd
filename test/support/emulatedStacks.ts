import { CreateTableCommand, UpdateTimeToLiveCommand, type CreateTableCommandInput, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { CfnValue, CloudAssembly } from './cloudAssembly';

/**
 * A cloud assembly's stateful resources stood up on the local emulators, as a deploy would
 * create them: each `AWS::DynamoDB::Table` with the template's own name, keys and indexes, each
 * `AWS::SQS::Queue` with its attributes and redrive policy; secrets are only named (the local
 * Secrets Manager serves whatever the test gives it). Then any template value (a function's
 * environment variable) resolves to the emulators' names, URLs and ARNs, following `Ref`,
 * `Fn::GetAtt`, cross-stack outputs and imports. A reference nothing here stands for throws,
 * so a function is never run on an environment nobody tried.
 */
export interface EmulatedStacks {
  /** `value` with every reference replaced by the emulators' counterpart. */
  resolve(value: CfnValue, stackName: string): string;
  /** The `Name` of every `AWS::SecretsManager::Secret` in the assembly. */
  readonly secretNames: readonly string[];
}

export interface EmulatedStacksOptions {
  dynamo: DynamoDBClient;
  sqs: SQSClient;
  /** `AWS::Region` (and the region in ARNs). @default 'us-east-1' */
  region?: string;
  /** `AWS::AccountId`. @default '000000000000' */
  account?: string;
}

interface Physical {
  /** What `Ref` gives. */
  ref: string;
  /** What `Fn::GetAtt` gives, by attribute. */
  attributes: Record<string, string>;
}

const QUEUE_ATTRIBUTES = ['DelaySeconds', 'MaximumMessageSize', 'MessageRetentionPeriod', 'ReceiveMessageWaitTimeSeconds', 'VisibilityTimeout', 'FifoQueue', 'ContentBasedDeduplication'];

export async function deployToEmulators(assembly: CloudAssembly, options: EmulatedStacksOptions): Promise<EmulatedStacks> {
  const region = options.region ?? 'us-east-1';
  const account = options.account ?? '000000000000';
  const physical = new Map<string, Physical>();
  const idOf = (stackName: string, logicalId: string) => `${stackName}/${logicalId}`;
  const secretNames: string[] = [];

  const fail = (value: CfnValue, stackName: string): never => {
    throw new Error(`${stackName}: nothing local stands for ${JSON.stringify(value)}; teach test/support/emulatedStacks.ts`);
  };

  const resolve = (value: CfnValue, stackName: string): string => {
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return fail(value, stackName);
    const entries = Object.entries(value) as Array<[string, unknown]>;
    if (entries.length !== 1) return fail(value, stackName);
    const [fn, argument] = entries[0]!;
    switch (fn) {
      case 'Ref': {
        const pseudo: Record<string, string> = { 'AWS::Region': region, 'AWS::AccountId': account, 'AWS::Partition': 'aws', 'AWS::URLSuffix': 'amazonaws.com', 'AWS::StackName': stackName };
        return pseudo[argument as string] ?? physical.get(idOf(stackName, argument as string))?.ref ?? fail(value, stackName);
      }
      case 'Fn::GetAtt': {
        const [logicalId, attribute] = argument as [string, string];
        return physical.get(idOf(stackName, logicalId))?.attributes[attribute] ?? fail(value, stackName);
      }
      case 'Fn::GetStackOutput': {
        // A weak cross-stack reference (cdk.json's defaultCrossStackReferences): the producer's output.
        const { StackName, OutputName } = argument as { StackName: string; OutputName: string };
        const output = assembly.stacks.get(StackName)?.Outputs?.[OutputName];
        return output ? resolve(output.Value, StackName) : fail(value, stackName);
      }
      case 'Fn::ImportValue': {
        const name = resolve(argument, stackName);
        for (const [producer, template] of assembly.stacks) {
          for (const output of Object.values(template.Outputs ?? {})) {
            if (output.Export && resolve(output.Export.Name, producer) === name) return resolve(output.Value, producer);
          }
        }
        return fail(value, stackName);
      }
      case 'Fn::Join': {
        const [separator, parts] = argument as [string, CfnValue[]];
        return parts.map((part) => resolve(part, stackName)).join(separator);
      }
      default:
        return fail(value, stackName);
    }
  };

  // Tables first (nothing they reference), then queues, each after the dead-letter queue it names.
  const queues = new Map<string, Promise<Physical>>();
  const createQueue = (stackName: string, logicalId: string): Promise<Physical> => {
    const key = idOf(stackName, logicalId);
    const existing = queues.get(key);
    if (existing) return existing;
    const created = (async () => {
      const properties = assembly.stacks.get(stackName)!.Resources[logicalId]!.Properties ?? {};
      const attributes: Record<string, string> = {};
      for (const name of QUEUE_ATTRIBUTES) if (properties[name] !== undefined) attributes[name] = resolve(properties[name], stackName);
      const redrive = properties['RedrivePolicy'] as { deadLetterTargetArn?: { 'Fn::GetAtt'?: [string, string] }; maxReceiveCount?: number } | undefined;
      if (redrive) {
        const target = redrive.deadLetterTargetArn?.['Fn::GetAtt'];
        if (!target || target[1] !== 'Arn') fail(redrive, stackName);
        const deadLetter = await createQueue(stackName, target![0]);
        attributes['RedrivePolicy'] = JSON.stringify({ deadLetterTargetArn: deadLetter.attributes['Arn'], maxReceiveCount: redrive.maxReceiveCount });
      }
      const name = typeof properties['QueueName'] === 'string' ? properties['QueueName'] : `${stackName}-${logicalId}`.slice(-80);
      const { QueueUrl } = await options.sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
      const { Attributes } = await options.sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
      const queue = { ref: QueueUrl!, attributes: { Arn: Attributes!.QueueArn!, QueueName: name, QueueUrl: QueueUrl! } };
      physical.set(key, queue);
      return queue;
    })();
    queues.set(key, created);
    return created;
  };

  const creations: Array<Promise<unknown>> = [];
  for (const [stackName, template] of assembly.stacks) {
    for (const [logicalId, resource] of Object.entries(template.Resources)) {
      const properties = resource.Properties ?? {};
      if (resource.Type === 'AWS::DynamoDB::Table') {
        const name = typeof properties['TableName'] === 'string' ? properties['TableName'] : `${stackName}-${logicalId}`;
        physical.set(idOf(stackName, logicalId), { ref: name, attributes: { Arn: `arn:aws:dynamodb:${region}:${account}:table/${name}` } });
        creations.push(createTable(options.dynamo, name, properties));
      } else if (resource.Type === 'AWS::SQS::Queue') {
        creations.push(createQueue(stackName, logicalId));
      } else if (resource.Type === 'AWS::SecretsManager::Secret' && typeof properties['Name'] === 'string') {
        const name = properties['Name'];
        secretNames.push(name);
        physical.set(idOf(stackName, logicalId), { ref: `arn:aws:secretsmanager:${region}:${account}:secret:${name}-AbCdEf`, attributes: {} });
      }
    }
  }
  await Promise.all(creations);
  return { resolve, secretNames };
}

/** The template's table on the emulator: its keys, indexes, billing mode and TTL; nothing else matters locally. */
async function createTable(client: DynamoDBClient, name: string, properties: Record<string, CfnValue>): Promise<void> {
  const { AttributeDefinitions, KeySchema, GlobalSecondaryIndexes, LocalSecondaryIndexes, BillingMode, ProvisionedThroughput } = properties as Record<string, never>;
  const input: CreateTableCommandInput = { TableName: name, AttributeDefinitions, KeySchema, BillingMode: BillingMode ?? 'PROVISIONED' };
  if (GlobalSecondaryIndexes) input.GlobalSecondaryIndexes = GlobalSecondaryIndexes;
  if (LocalSecondaryIndexes) input.LocalSecondaryIndexes = LocalSecondaryIndexes;
  if (ProvisionedThroughput) input.ProvisionedThroughput = ProvisionedThroughput;
  await client.send(new CreateTableCommand(input));
  const ttl = properties['TimeToLiveSpecification'] as { AttributeName: string; Enabled: boolean } | undefined;
  if (ttl?.Enabled) await client.send(new UpdateTimeToLiveCommand({ TableName: name, TimeToLiveSpecification: ttl }));
}
