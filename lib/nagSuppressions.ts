import { Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import type { ConfigNeeds } from './configNeeds.js';
import type { OperatorPolicy } from './OperatorPolicy.js';
import type { ProviderSecrets } from './ProviderSecrets.js';
import { CUSTOMER_DATA_TABLES, type StateTables } from './StateTables.js';
import type { TaskQueues } from './TaskQueues.js';

/**
 * cdk-nag (AwsSolutions and Serverless) findings Breakwater accepts, each with the reason, acknowledged on the
 * narrowest construct that has them. Anything not listed here fails `cdk synth` and the tests.
 */
const acknowledge = (scope: IConstruct, id: string, reason: string): void => Validations.of(scope).acknowledge({ id, reason });

const MANAGED_POLICY = (name: string) => `AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/${name}]`;

export function suppressStateFindings(state: {
  tables: StateTables;
  secrets: ProviderSecrets;
  queues: TaskQueues;
  alarmTopic: IConstruct;
}): void {
  for (const { deadLetterQueue } of [state.queues.high, state.queues.normal]) {
    acknowledge(
      deadLetterQueue,
      'Serverless-SQSRedrivePolicy',
      'A dead-letter queue is the end of the line: its messages stay 14 days for `breakwater dlq` to redrive, and the DLQ alarm pages on the first one; a DLQ of the DLQ would hide them.',
    );
  }
  acknowledge(
    state.alarmTopic,
    'Serverless-SNSRedrivePolicy',
    'The only subscription is the on-call email; an undeliverable alarm email would sit in a queue nobody reads, while the alarm itself stays in ALARM in CloudWatch and on the dashboard.',
  );
  for (const [tableId, table] of Object.entries(state.tables.tables)) {
    if (CUSTOMER_DATA_TABLES.has(tableId)) continue;
    acknowledge(
      table,
      'AwsSolutions-DDB3',
      `"${tableId}" holds no customer data: state that rebuilds itself (breakers, cache) or expires within a day (idempotency, rate windows); a restore would bring back stale state`,
    );
  }
  acknowledge(
    state.secrets,
    'AwsSolutions-SMG4',
    'Provider API keys are issued by the provider and rotated in its console, then set with put-secret-value; callback signing secrets are rotated with the tenant, who must configure the new value. Neither can be rotated by a Lambda alone.',
  );
}

export interface GatewayFindingsScope {
  readonly gatewayFunction: IConstruct;
  readonly workerFunction: IConstruct;
  readonly api: IConstruct;
  readonly release: IConstruct;
  readonly secrets: ProviderSecrets;
  readonly needs: ConfigNeeds;
  /** What the functions may invoke on Bedrock (lib/bedrockAccess.ts): its wildcards are acknowledged. */
  readonly bedrockResources: readonly string[];
  readonly operatorPolicy: OperatorPolicy;
}

/**
 * A resource as cdk-nag names it in a finding id: tokens resolved in `scope`'s stack, a Ref as
 * `<Name>`, a GetAtt as `<Id.Attr>`, a Join joined. Literal where the stage's env is known
 * (`arn:aws:...:eu-west-1:...`), placeholders where it is not, as the template has it.
 */
function nagRendering(scope: IConstruct, value: string): string {
  const render = (resolved: unknown): string => {
    if (typeof resolved === 'string') return resolved;
    const object = resolved as Record<string, unknown>;
    if (typeof object['Ref'] === 'string') return `<${object['Ref']}>`;
    const getAtt = object['Fn::GetAtt'];
    if (Array.isArray(getAtt)) return `<${getAtt.join('.')}>`;
    const join = object['Fn::Join'];
    if (Array.isArray(join)) return (join[1] as unknown[]).map(render).join(String(join[0]));
    return JSON.stringify(resolved);
  };
  return render(Stack.of(scope).resolve(value));
}

export function suppressGatewayFindings(scope: GatewayFindingsScope): void {
  for (const stackArn of scope.operatorPolicy.stackArns) {
    acknowledge(
      scope.operatorPolicy,
      `AwsSolutions-IAM5[Resource::${nagRendering(scope.operatorPolicy, stackArn)}]`,
      "DescribeStacks on the stage's own two stacks by name: CloudFormation appends a stack id, unknown until deployed and new after a re-create.",
    );
  }
  for (const fn of [scope.gatewayFunction, scope.workerFunction]) {
    acknowledge(
      fn,
      MANAGED_POLICY('AWSLambdaBasicExecutionRole'),
      "Lambda's standard logging policy; the function logs only to its own log group, created by the stack.",
    );
    acknowledge(
      fn,
      'AwsSolutions-IAM5[Resource::*]',
      'Only X-Ray PutTraceSegments and PutTelemetryRecords, which support no resource-level permissions.',
    );
    acknowledge(
      fn,
      'Serverless-LambdaDLQ',
      'Never invoked asynchronously: API Gateway invokes the gateway synchronously and SQS event source mappings invoke the worker synchronously; failed tasks go to the task queues\' own dead-letter queues.',
    );
    for (const resource of scope.bedrockResources.filter((arn) => arn.includes('*'))) {
      acknowledge(
        fn,
        `AwsSolutions-IAM5[Resource::${nagRendering(fn, resource)}]`,
        "Bedrock models the config names, in every region their cross-region inference profile routes to; every model only where a target passes the client's model through.",
      );
    }
  }
  acknowledge(
    scope.workerFunction,
    `AwsSolutions-IAM5[Resource::${nagRendering(scope.workerFunction, scope.secrets.callbackSigningArnPattern())}]`,
    "Tenants' callback signing secrets, including those created by hand for tenants that live only in the keys table: a name prefix, read-only.",
  );
  acknowledge(
    scope.workerFunction,
    'Serverless-LambdaEventSourceMappingDestination',
    "Lambda supports on-failure destinations only for stream and Kafka sources, not SQS: a task that keeps failing moves to its queue's dead-letter queue (maxReceiveCount), reported per item.",
  );
  acknowledge(
    scope.api,
    'AwsSolutions-APIG2',
    'Requests are validated by the function against the OpenAI schemas, with OpenAI-shaped 400s that API Gateway validation cannot produce.',
  );
  acknowledge(
    scope.api,
    'AwsSolutions-APIG4',
    'Callers authenticate with virtual keys (Authorization: Bearer) that the function checks against the keys table; an API Gateway authorizer would add latency and a second source of truth.',
  );
  acknowledge(scope.api, 'AwsSolutions-COG4', 'Callers are machines holding virtual keys, not Cognito users (see APIG4).');
  acknowledge(
    scope.api,
    MANAGED_POLICY('AmazonAPIGatewayPushToCloudWatchLogs'),
    "API Gateway's account-level logging role takes exactly this AWS-managed policy (opt out with -c apiGatewayCloudWatchRole=false).",
  );
  acknowledge(
    scope.release,
    MANAGED_POLICY('AWSCodeDeployRoleForLambdaLimited'),
    "CodeDeploy's own role for Lambda traffic shifting: alias updates and the rollback alarms only.",
  );
}
