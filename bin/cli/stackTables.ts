import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { stageFor } from '../../lib/stage';
import type { TableId } from '../../shared/stores/dynamo/tables';
import { UsageError } from './UsageError';

/** `Breakwater-Prod-State`: the stack holding a stage's tables (lib/BreakwaterStage.ts names it). */
export function stateStackName(stage: string): string {
  try {
    return `${stageFor(stage).stackPrefix}-State`;
  } catch (error) {
    throw new UsageError(`--stage: ${(error as Error).message}`);
  }
}

/** `keys` → `KeysTableName`: the state stack's output naming the table (lib/StateStack.ts OUTPUTS.tableName). */
export const tableOutputName = (tableId: TableId): string => `${tableId.charAt(0).toUpperCase()}${tableId.slice(1)}TableName`;

/** `Breakwater-Prod-Gateway`: the stack holding a stage's functions and config delivery. */
export function gatewayStackName(stage: string): string {
  return stateStackName(stage).replace(/-State$/, '-Gateway');
}

/** A deployed stack's outputs by name, and the region they were read in (for messages). */
export interface StackOutputs {
  readonly stackName: string;
  readonly region: string;
  readonly values: ReadonlyMap<string, string>;
}

/**
 * The outputs of one of a stage's stacks. A stage that is not deployed (in this account and
 * region) is the caller's mistake: a UsageError naming the stack and the region looked in.
 */
export async function stackOutputs(cloudFormation: CloudFormationClient, stage: string, stackName: string): Promise<StackOutputs> {
  const region = await cloudFormation.config.region().catch(() => 'the default region');
  let outputs;
  try {
    outputs = (await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks?.[0]?.Outputs;
  } catch (error) {
    // CloudFormation answers a missing stack with a ValidationError "Stack with id ... does not exist".
    if ((error as Error).name === 'ValidationError' && /does not exist/.test((error as Error).message)) {
      throw new UsageError(`stage "${stage}" is not deployed: no stack ${stackName} in ${region} (check AWS_REGION / AWS_PROFILE)`);
    }
    throw error;
  }
  const values = new Map<string, string>();
  for (const { OutputKey, OutputValue } of outputs ?? []) if (OutputKey && OutputValue) values.set(OutputKey, OutputValue);
  return { stackName, region, values };
}

/**
 * The physical name of a stage's table, read from its state stack's outputs, so operators
 * never copy table names by hand.
 */
export async function tableNameFromStack(cloudFormation: CloudFormationClient, stage: string, tableId: TableId): Promise<string> {
  const { stackName, region, values } = await stackOutputs(cloudFormation, stage, stateStackName(stage));
  const outputName = tableOutputName(tableId);
  const value = values.get(outputName);
  if (!value) throw new UsageError(`stack ${stackName} in ${region} has no ${outputName} output: deploy the stage again with this version`);
  return value;
}
