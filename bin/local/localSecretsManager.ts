import { createHash, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { secretEnvVarName } from '../../shared/credentials';

export interface LocalSecretsManagerOptions {
  /** @default 0 (a free port) */
  port?: number;
  /** Where `BREAKWATER_SECRET_*` values are read, on every call; they win over the file. @default process.env */
  env?: NodeJS.ProcessEnv;
  /**
   * A JSON object of secrets by name (`{"openai": {"api_key": "..."}}`, or a bare string),
   * read on every call so a rotation is tried by editing the file. Git-ignored.
   * @default `.breakwater/secrets.json` under the working directory
   */
  secretsFile?: string;
}

export interface LocalSecretsManager {
  /** Give it to a `SecretsManagerClient` as `endpoint`, or export it as `AWS_ENDPOINT_URL_SECRETS_MANAGER`. */
  endpoint: string;
  close(): Promise<void>;
}

const JSON_1_1 = 'application/x-amz-json-1.1';
const GET_SECRET_VALUE = 'secretsmanager.GetSecretValue';
const ARN_PREFIX = 'arn:aws:secretsmanager:local:000000000000:secret:';

/** An error answered the way Secrets Manager answers it, so the SDK raises the same exception class. */
class WireError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** A secret's string as Secrets Manager would store it: JSON for an object, the bare text otherwise. */
async function findSecretString(name: string, env: NodeJS.ProcessEnv, secretsFile: string): Promise<string | undefined> {
  const fromEnv = env[secretEnvVarName(name)];
  if (fromEnv !== undefined && fromEnv.trim() !== '') return fromEnv;

  let text: string;
  try {
    text = await readFile(secretsFile, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new WireError('InternalServiceError', `cannot read ${secretsFile}`, 500);
  }
  let secrets: unknown;
  try {
    secrets = JSON.parse(text);
  } catch {
    // The parser's message can quote the file, values included: say only where the problem is.
    throw new WireError('InternalServiceError', `${secretsFile} is not valid JSON`, 500);
  }
  if (typeof secrets !== 'object' || secrets === null || Array.isArray(secrets)) {
    throw new WireError('InternalServiceError', `${secretsFile} must hold a JSON object of secrets by name`, 500);
  }
  if (!Object.hasOwn(secrets, name)) return undefined;
  const value: unknown = (secrets as Record<string, unknown>)[name];
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return JSON.stringify(value);
  throw new WireError('InternalServiceError', `secret "${name}" in ${secretsFile} must be a string or an object`, 500);
}

async function getSecretValue(body: string, env: NodeJS.ProcessEnv, secretsFile: string): Promise<Record<string, unknown>> {
  let secretId: unknown;
  try {
    secretId = (JSON.parse(body) as { SecretId?: unknown }).SecretId;
  } catch {
    throw new WireError('InvalidRequestException', 'the request body is not JSON');
  }
  if (typeof secretId !== 'string' || secretId === '') {
    throw new WireError('InvalidParameterException', 'SecretId is required');
  }
  const name = secretId.startsWith(ARN_PREFIX) ? secretId.slice(ARN_PREFIX.length) : secretId;
  const secretString = await findSecretString(name, env, secretsFile);
  if (secretString === undefined) {
    throw new WireError(
      'ResourceNotFoundException',
      `Secrets Manager can't find the specified secret "${name}": set ${secretEnvVarName(name)} or add it to ${secretsFile}`,
    );
  }
  return {
    ARN: ARN_PREFIX + name,
    Name: name,
    SecretString: secretString,
    // A new value is a new version, as after a real rotation.
    VersionId: createHash('sha256').update(secretString).digest('hex').slice(0, 32),
    VersionStages: ['AWSCURRENT'],
    CreatedDate: Math.floor(Date.now() / 1000),
  };
}

function send(res: http.ServerResponse, status: number, payload: unknown, errorType?: string): void {
  res.writeHead(status, {
    'content-type': JSON_1_1,
    'x-amzn-requestid': randomUUID(),
    ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
  });
  res.end(JSON.stringify(payload));
}

/**
 * A tiny stand-in for Secrets Manager's `GetSecretValue` (AWS JSON 1.1) on 127.0.0.1, so the
 * real SDK client and Powertools run unchanged locally. It never logs: its bodies hold secrets.
 */
export async function startLocalSecretsManager(options: LocalSecretsManagerOptions = {}): Promise<LocalSecretsManager> {
  const env = options.env ?? process.env;
  const secretsFile = path.resolve(options.secretsFile ?? path.join('.breakwater', 'secrets.json'));

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const target = req.headers['x-amz-target'];
      const answer =
        req.method !== 'POST' || target !== GET_SECRET_VALUE
          ? Promise.reject(
              new WireError('UnknownOperationException', `only ${GET_SECRET_VALUE} is served locally, not ${String(target)}`),
            )
          : getSecretValue(Buffer.concat(chunks).toString('utf8'), env, secretsFile);
      answer.then(
        (payload) => send(res, 200, payload),
        (error: unknown) => {
          const wire = error instanceof WireError ? error : new WireError('InternalServiceError', 'internal error', 500);
          send(res, wire.status, { __type: wire.type, message: wire.message }, wire.type);
        },
      );
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        // The SDK keeps connections alive; drop them so close() does not wait for their idle timeout.
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
