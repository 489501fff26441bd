import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { OPERATOR_ACTIONS } from '../../lib/OperatorPolicy.js';
import { GATEWAY_OUTPUTS } from '../../lib/gatewayOutputs.js';
import { OUTPUTS } from '../../lib/StateStack.js';
import { actionsOf, onlyResource, referencedIds, resourcesOf, synth, useSynthesizedStack, writeConfig, type CfnTemplate, type Statement } from './synthStack.js';

const stack = useSynthesizedStack();

/** The logical id an output points at (`Ref: id` or `Fn::GetAtt: [id, ...]`). */
function outputTarget(name: string): string {
  const ids = [...referencedIds(stack.json.Outputs?.[name]?.Value)];
  assert.equal(ids.length, 1, `output ${name} references ${ids.join(', ') || 'nothing'}`);
  return ids[0]!;
}

function policy(json: CfnTemplate = stack.json): { id: string; statements: Statement[] } {
  const [id, resource] = onlyResource(json, 'AWS::IAM::ManagedPolicy');
  return { id, statements: (resource.Properties?.['PolicyDocument'] as { Statement: Statement[] }).Statement };
}

/** Every action the policy allows on resources referencing `resourceId`, sorted. */
function actionsOn(resourceId: string): string[] {
  const actions = policy()
    .statements.filter((s) => resourcesOf(s).some((r) => referencedIds(r).has(resourceId)))
    .flatMap(actionsOf);
  return [...new Set(actions)].sort();
}

describe('operator managed policy', () => {
  it('is exported as the OperatorPolicyArn output', () => {
    assert.equal(outputTarget(GATEWAY_OUTPUTS.OPERATOR_POLICY_ARN), policy().id);
  });

  it('allows exactly the actions the keys, approvals and dlq commands send, only with Allow', () => {
    const all = policy().statements.flatMap(actionsOf);
    assert.ok(policy().statements.every((s) => s.Effect === 'Allow'));
    const { readConfig: _onlyWithAppConfig, ...always } = OPERATOR_ACTIONS;
    assert.deepEqual([...new Set(all)].sort(), [...new Set(Object.values(always).flat())].sort());
    // Pinned, so a change to the list is a reviewed change: no wildcards, no table admin, no BatchWrite.
    assert.deepEqual([...new Set(all)].sort(), [
      'cloudformation:DescribeStacks',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      'dynamodb:Scan',
      'dynamodb:UpdateItem',
      'sqs:DeleteMessage',
      'sqs:GetQueueAttributes',
      'sqs:ReceiveMessage',
      'sqs:SendMessage',
      'sqs:StartMessageMoveTask',
    ]);
  });

  it('scopes each action to its table or queue', () => {
    const keys = outputTarget(OUTPUTS.tableName('keys'));
    const approvals = outputTarget(OUTPUTS.tableName('approvals'));
    assert.deepEqual(actionsOn(keys), ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Scan', 'dynamodb:UpdateItem']);
    assert.deepEqual(actionsOn(approvals), ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem']);
    const query = policy().statements.find((s) => actionsOf(s).includes('dynamodb:Query'))!;
    assert.match(JSON.stringify(query.Resource), /\/index\/by-status/, 'Query only on the by-status index');
    for (const dlq of [OUTPUTS.DLQ_HIGH_ARN, OUTPUTS.DLQ_NORMAL_ARN]) {
      assert.deepEqual(actionsOn(outputTarget(dlq)), ['sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage', 'sqs:StartMessageMoveTask']);
    }
    for (const queue of [OUTPUTS.QUEUE_HIGH_ARN, OUTPUTS.QUEUE_NORMAL_ARN]) {
      assert.deepEqual(actionsOn(outputTarget(queue)), ['sqs:GetQueueAttributes', 'sqs:SendMessage']);
    }
    // No other table: the operator never touches spend, tasks, connections...
    const tables = new Set(policy().statements.flatMap((s) => resourcesOf(s).flatMap((r) => [...referencedIds(r)])));
    const tableIds = [...tables].filter((id) => stack.json.Resources[id]?.Type === 'AWS::DynamoDB::Table');
    assert.deepEqual(tableIds.sort(), [keys, approvals].sort());
  });

  it('has no wildcard resource but DescribeStacks on the stage\'s two stacks', () => {
    for (const statement of policy().statements) {
      assert.ok(resourcesOf(statement).length > 0);
      for (const resource of resourcesOf(statement)) {
        const text = JSON.stringify(resource);
        if (!text.includes('*')) continue;
        assert.deepEqual(actionsOf(statement), ['cloudformation:DescribeStacks'], `wildcard ${text}`);
        assert.match(text, /:stack\/(BreakwaterState|Breakwater)\/\*"/, `DescribeStacks only on the stage's stacks: ${text}`);
      }
    }
    const describe = policy().statements.filter((s) => actionsOf(s).includes('cloudformation:DescribeStacks'));
    assert.equal(describe.length, 1);
    assert.equal(resourcesOf(describe[0]!).length, 2, 'the state stack (tables) and the gateway stack (tenants)');
  });

  it('without AppConfig reads no config: the bundled tenants are an output', () => {
    assert.ok(!policy().statements.flatMap(actionsOf).some((a) => a.startsWith('appconfig:')));
    assert.equal(stack.json.Outputs?.[GATEWAY_OUTPUTS.CONFIG_TENANTS]?.Value, 'demo');
  });

  it('with AppConfig reads exactly the configuration the functions read, and outputs no tenants', () => {
    const config = {
      providers: { openai: { type: 'openai', credential: 'openai' } },
      routes: { default: { strategy: { mode: 'single' }, targets: [{ provider: 'openai' }] } },
      tenants: { acme: { route: 'default' }, globex: { route: 'default' } },
    };
    const { json } = synth(stack.scratch, { appConfig: true, apiStageName: 'dev', configPath: writeConfig(stack.scratch, 'operator-appconfig.json', config) });
    const read = policy(json).statements.filter((s) => actionsOf(s).some((a) => a.startsWith('appconfig:')));
    assert.equal(read.length, 1);
    assert.deepEqual(actionsOf(read[0]!), ['appconfig:GetLatestConfiguration', 'appconfig:StartConfigurationSession']);
    const [profileId] = onlyResource(json, 'AWS::AppConfig::ConfigurationProfile');
    const [environmentId] = onlyResource(json, 'AWS::AppConfig::Environment');
    const ids = referencedIds(read[0]!.Resource);
    assert.ok(ids.has(profileId) && ids.has(environmentId), JSON.stringify(read[0]!.Resource));
    assert.ok(!JSON.stringify(read[0]!.Resource).includes('*'));
    assert.equal(json.Outputs?.[GATEWAY_OUTPUTS.CONFIG_TENANTS], undefined);
    assert.ok(json.Outputs?.[GATEWAY_OUTPUTS.APPCONFIG_PROFILE_ID]);
  });
});
