import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { secretEnvVarName } from '../../shared/credentials';

export interface LocalTokenKeyOptions {
  /** The secret's name as the local Secrets Manager sees it (prefix included). */
  secretName: string;
  /** @default `.breakwater/secrets.json` under the working directory */
  secretsFile?: string;
  /** @default process.env */
  env?: NodeJS.ProcessEnv;
}

/**
 * `npm start` only: the data key that seals end users' OAuth tokens, made at first start (32
 * random bytes) and kept in the git-ignored local secrets file, so connections made in one run
 * still open in the next. On AWS the stack creates the secret; nothing here runs there.
 * @returns where the key is: 'env', 'file' (already there), 'created', or 'memory' (the file
 * is not valid JSON, so it is left alone and the key lives in this process's environment).
 */
export async function ensureLocalTokenKey(options: LocalTokenKeyOptions): Promise<'env' | 'file' | 'created' | 'memory'> {
  const env = options.env ?? process.env;
  const envVar = secretEnvVarName(options.secretName);
  if (env[envVar]?.trim()) return 'env';
  const file = path.resolve(options.secretsFile ?? path.join('.breakwater', 'secrets.json'));
  const value = { key_id: `local-${new Date().toISOString().slice(0, 10)}`, key: randomBytes(32).toString('base64') };

  let secrets: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(await readFile(file, 'utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    secrets = parsed as Record<string, unknown>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      env[envVar] = JSON.stringify(value);
      return 'memory';
    }
  }
  if (Object.hasOwn(secrets, options.secretName)) return 'file';
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify({ ...secrets, [options.secretName]: value }, null, 2)}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return 'created';
}
