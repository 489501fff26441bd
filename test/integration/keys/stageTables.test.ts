import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { AppConfigDataClient, GetLatestConfigurationCommand, StartConfigurationSessionCommand } from '@aws-sdk/client-appconfigdata';
import { CloudFormationClient, DescribeStacksCommand, type Output } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { runCli } from '../../../bin/cli/runCli';
import { tableOutputName } from '../../../bin/cli/stackTables';
import { GATEWAY_OUTPUTS } from '../../../lib/gatewayOutputs';
import { OUTPUTS } from '../../../lib/StateStack';
import { DynamoKeyStore } from '../../../shared/keys';
import { startDynamoLocal, type DynamoLocal } from '../../support/dynamoLocal';

const CONFIG_PATH = join(mkdtempSync(join(tmpdir(), 'breakwater-cli-stage-')), 'breakwater.config.json');
writeFileSync(
  CONFIG_PATH,
  JSON.stringify({
    providers: { sim: { type: 'simulated' } },
    routes: { main: { targets: [{ provider: 'sim' }], strategy: { mode: 'single' } } },
    tenants: { acme: { route: 'main' } },
  }),
);

describe('breakwater keys / approvals --stage (tables from the stage stack outputs, DynamoDB Local)', () => {
  let dynamo: DynamoLocal;
  const cloudFormation = mockClient(CloudFormationClient);
  const appConfigData = mockClient(AppConfigDataClient);
  /** The stage's gateway stack answers with these outputs. */
  const gatewayOutputs = (Outputs: Output[]) =>
    cloudFormation
      .on(DescribeStacksCommand, { StackName: 'Breakwater-Prod-Gateway' })
      .resolves({ Stacks: [{ StackName: 'Breakwater-Prod-Gateway', CreationTime: new Date(0), StackStatus: 'UPDATE_COMPLETE', Outputs }] });

  before(async () => {
    dynamo = await startDynamoLocal();
  });
  after(async () => {
    cloudFormation.restore();
    appConfigData.restore();
    await dynamo?.stop();
  });
  beforeEach(() => {
    cloudFormation.reset();
    appConfigData.reset();
    cloudFormation.on(DescribeStacksCommand, { StackName: 'Breakwater-Prod-State' }).resolves({
      Stacks: [
        {
          StackName: 'Breakwater-Prod-State',
          CreationTime: new Date(0),
          StackStatus: 'UPDATE_COMPLETE',
          Outputs: [
            { OutputKey: 'KeysTableName', OutputValue: dynamo.tables.keys },
            { OutputKey: 'ApprovalsTableName', OutputValue: dynamo.tables.approvals },
          ],
        },
      ],
    });
    // The bundled config's tenants, as the gateway stack outputs them.
    gatewayOutputs([{ OutputKey: 'ConfigTenants', OutputValue: 'acme,globex' }]);
  });
  afterEach(() => cloudFormation.reset());

  /** The CLI in process, with nothing naming a table: only the stack outputs can. */
  async function cli(...args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
    const out: string[] = [];
    const err: string[] = [];
    const env = { AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint, AWS_REGION: 'eu-west-1', BREAKWATER_CONFIG: CONFIG_PATH };
    const code = await runCli(args, { env, io: { out: (line) => out.push(line), err: (line) => err.push(line) } });
    return { code, out, err };
  }

  it('reads the output names the state stack writes', () => {
    assert.equal(tableOutputName('keys'), OUTPUTS.tableName('keys'));
    assert.equal(tableOutputName('approvals'), OUTPUTS.tableName('approvals'));
  });

  it('reads the output names the gateway stack writes', () => {
    assert.equal(GATEWAY_OUTPUTS.CONFIG_TENANTS, 'ConfigTenants');
  });

  it('keys create --stage prod writes to the table named by Breakwater-Prod-State\'s KeysTableName', async () => {
    const { code, out, err } = await cli('keys', 'create', '--tenant', 'acme', '--stage', 'prod');
    assert.equal(code, 0, err.join('\n'));
    assert.deepEqual(
      cloudFormation.commandCalls(DescribeStacksCommand).map((call) => call.args[0].input),
      [{ StackName: 'Breakwater-Prod-Gateway' }, { StackName: 'Breakwater-Prod-State' }],
    );
    const store = new DynamoKeyStore({ doc: dynamo.doc, tableName: dynamo.tables.keys });
    const records = await store.list('acme');
    assert.equal(records.length, 1);
    assert.ok(out.at(-1)!.startsWith(records[0]!.prefix));
  });

  describe('keys create --stage refuses a tenant the deployed config does not have', () => {
    async function keysIn(): Promise<number> {
      return (await new DynamoKeyStore({ doc: dynamo.doc, tableName: dynamo.tables.keys }).list()).length;
    }

    it('checks the tenants the stage was deployed with, not the local file', async () => {
      const before = await keysIn();
      // globex is deployed but not in the local file; a local-only tenant is refused.
      const deployedOnly = await cli('keys', 'create', '--tenant', 'globex', '--stage', 'prod');
      assert.equal(deployedOnly.code, 0, deployedOnly.err.join('\n'));
      gatewayOutputs([{ OutputKey: 'ConfigTenants', OutputValue: 'globex' }]);
      const localOnly = await cli('keys', 'create', '--tenant', 'acme', '--stage', 'prod');
      assert.equal(localOnly.code, 2);
      assert.match(localOnly.err.join('\n'), /tenant "acme" is not in the config deployed with Breakwater-Prod-Gateway \(eu-west-1\) \(tenants there: "globex"\)/);
      assert.equal(await keysIn(), before + 1, 'the refused key was never written');
    });

    it('reads the AppConfig version the stage serves when it delivers its config through AppConfig', async () => {
      gatewayOutputs([
        { OutputKey: 'AppConfigApplicationId', OutputValue: 'app1' },
        { OutputKey: 'AppConfigEnvironmentId', OutputValue: 'env1' },
        { OutputKey: 'AppConfigProfileId', OutputValue: 'prof1' },
      ]);
      appConfigData
        .on(StartConfigurationSessionCommand, { ApplicationIdentifier: 'app1', EnvironmentIdentifier: 'env1', ConfigurationProfileIdentifier: 'prof1' })
        .resolves({ InitialConfigurationToken: 'token-1' });
      const pushed = {
        providers: { sim: { type: 'simulated' } },
        routes: { main: { targets: [{ provider: 'sim' }], strategy: { mode: 'single' } } },
        tenants: { initech: { route: 'main' } },
      };
      appConfigData
        .on(GetLatestConfigurationCommand, { ConfigurationToken: 'token-1' })
        // As the SDK gives it: bytes with the blob adapter's transformToString.
        .resolves({ Configuration: Object.assign(new TextEncoder().encode(JSON.stringify(pushed)), { transformToString: () => JSON.stringify(pushed) }), NextPollConfigurationToken: 'token-2' });

      const added = await cli('keys', 'create', '--tenant', 'initech', '--stage', 'prod');
      assert.equal(added.code, 0, added.err.join('\n'));
      const gone = await cli('keys', 'create', '--tenant', 'acme', '--stage', 'prod');
      assert.equal(gone.code, 2);
      assert.match(gone.err.join('\n'), /tenant "acme" is not in the AppConfig config of Breakwater-Prod-Gateway/);
    });

    it('takes --config over the deployed config, and says what to do without the output', async () => {
      gatewayOutputs([]);
      const missing = await cli('keys', 'create', '--tenant', 'acme', '--stage', 'prod');
      assert.equal(missing.code, 2);
      assert.match(missing.err.join('\n'), /Breakwater-Prod-Gateway in eu-west-1 has no ConfigTenants output.*or pass --config <file>/);
      const explicit = await cli('keys', 'create', '--tenant', 'acme', '--stage', 'prod', '--config', CONFIG_PATH);
      assert.equal(explicit.code, 0, explicit.err.join('\n'));
    });
  });

  it('approvals list --stage prod reads the table named by ApprovalsTableName', async () => {
    const { code, out, err } = await cli('approvals', 'list', '--stage', 'prod', '--json');
    assert.equal(code, 0, err.join('\n'));
    assert.deepEqual(out, ['[]']);
    assert.deepEqual(
      cloudFormation.commandCalls(DescribeStacksCommand).map((call) => call.args[0].input),
      [{ StackName: 'Breakwater-Prod-State' }],
    );
  });

  it('a stage that is not deployed: a usage error naming the stack and the region', async () => {
    cloudFormation
      .on(DescribeStacksCommand, { StackName: 'Breakwater-Staging-State' })
      .rejects(Object.assign(new Error('Stack with id Breakwater-Staging-State does not exist'), { name: 'ValidationError' }));
    const { code, err } = await cli('keys', 'list', '--stage', 'staging');
    assert.equal(code, 2);
    assert.match(err.join('\n'), /stage "staging" is not deployed: no stack Breakwater-Staging-State in eu-west-1/);
  });

  it('a stack without the output, a bad stage name, or --table with --stage: usage errors, no store touched', async () => {
    cloudFormation.on(DescribeStacksCommand, { StackName: 'Breakwater-Old-State' }).resolves({ Stacks: [{ StackName: 'Breakwater-Old-State', CreationTime: new Date(0), StackStatus: 'CREATE_COMPLETE', Outputs: [] }] });
    const old = await cli('approvals', 'list', '--stage', 'old');
    assert.equal(old.code, 2);
    assert.match(old.err.join('\n'), /stack Breakwater-Old-State in eu-west-1 has no ApprovalsTableName output/);

    const bad = await cli('keys', 'list', '--stage', 'Prod!');
    assert.equal(bad.code, 2);
    assert.match(bad.err.join('\n'), /--stage: stage "Prod!" must be 1-20 characters/);

    const both = await cli('keys', 'list', '--stage', 'prod', '--table', 'x');
    assert.equal(both.code, 2);
    assert.match(both.err.join('\n'), /pass --table or --stage, not both/);
    const bothApprovals = await cli('approvals', 'list', '--stage', 'prod', '--table', 'x');
    assert.equal(bothApprovals.code, 2);
    assert.match(bothApprovals.err.join('\n'), /pass --table or --stage, not both/);
  });
});
