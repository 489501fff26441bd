import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { REPO_ROOT } from '../../lib/paths';

/**
 * A cloud assembly as `cdk synth` writes it (cdk.out): the stacks' templates, and each Lambda
 * function's deployment package, the `asset.<hash>` directory the CLI would zip and upload.
 */

export type CfnValue = unknown;
export interface CfnResource {
  Type: string;
  Properties?: Record<string, CfnValue>;
}
export interface CfnTemplate {
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, { Value: CfnValue; Export?: { Name: CfnValue } }>;
}

export interface CloudAssembly {
  readonly dir: string;
  /** Every stack's template, by stack name. */
  readonly stacks: ReadonlyMap<string, CfnTemplate>;
}

/** One `AWS::Lambda::Function` of the assembly with what the Lambda service would be given. */
export interface AssemblyFunction {
  readonly stackName: string;
  readonly logicalId: string;
  readonly properties: Record<string, CfnValue>;
  /** The directory whose zip is the function's code (`Code.S3Key` → the asset manifest → its source path). */
  readonly assetDir: string;
  /** `Environment.Variables` as the template has them, references unresolved. */
  readonly environment: Record<string, CfnValue>;
}

interface Manifest {
  artifacts: Record<string, { type: string; properties?: { templateFile?: string; file?: string } }>;
}
interface AssetManifest {
  files?: Record<string, { source: { path?: string; packaging?: string } }>;
}

const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;

/**
 * Runs the repo's own CDK app through the CLI, as a deployer's `cdk synth` does (cdk.json's app
 * and context, bin/app.ts's stage and cdk-nag, NodejsFunction running esbuild locally), into
 * `outdir`. Rejects with the CLI's output when it fails, or after `timeoutMs`, having killed the
 * CLI and everything it started.
 * @param timeoutMs how long synthesis may take. @default 240_000
 */
export async function cdkSynth(outdir: string, context: Record<string, string>, timeoutMs = 240_000): Promise<void> {
  const cli = createRequire(join(REPO_ROOT, 'package.json')).resolve('aws-cdk/bin/cdk');
  const args = [cli, 'synth', '--quiet', '--no-notices', '--output', outdir];
  for (const [key, value] of Object.entries(context)) args.push('--context', `${key}=${value}`);
  // Its own process group, so a timeout ends the app and the esbuild runs it spawned too.
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    detached: true,
    env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const killGroup = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // ESRCH: the group is gone already.
    }
  };
  const timer = setTimeout(killGroup, timeoutMs);
  // 'exit', not 'close': a grandchild still holding the CLI's stdout must not keep us waiting.
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (exitCode) => resolve(exitCode));
  }).finally(() => clearTimeout(timer));
  // Whatever the CLI left running (an esbuild service, say) has no one left to serve.
  killGroup();
  child.stdout.destroy();
  child.stderr.destroy();
  if (code !== 0) throw new Error(`cdk synth ${code === null ? `was killed after ${timeoutMs} ms` : `exited with ${code}`}:\n${output}`);
}

export function readCloudAssembly(dir: string): CloudAssembly {
  const manifest = readJson<Manifest>(join(dir, 'manifest.json'));
  const stacks = new Map<string, CfnTemplate>();
  for (const [name, artifact] of Object.entries(manifest.artifacts)) {
    if (artifact.type !== 'aws:cloudformation:stack') continue;
    stacks.set(name, readJson<CfnTemplate>(join(dir, artifact.properties!.templateFile!)));
  }
  return { dir, stacks };
}

/**
 * Every Lambda function of the assembly. The code's S3 key is `<asset hash>.zip`; the asset
 * manifests map that hash to the directory the CLI zips, so the function runs exactly the
 * files that would be uploaded.
 */
export function lambdaFunctions(assembly: CloudAssembly): AssemblyFunction[] {
  const manifest = readJson<Manifest>(join(assembly.dir, 'manifest.json'));
  const assetSources = new Map<string, { path?: string; packaging?: string }>();
  for (const artifact of Object.values(manifest.artifacts)) {
    if (artifact.type !== 'cdk:asset-manifest') continue;
    const files = readJson<AssetManifest>(join(assembly.dir, artifact.properties!.file!)).files ?? {};
    for (const [hash, file] of Object.entries(files)) assetSources.set(hash, file.source);
  }
  const functions: AssemblyFunction[] = [];
  for (const [stackName, template] of assembly.stacks) {
    for (const [logicalId, resource] of Object.entries(template.Resources)) {
      if (resource.Type !== 'AWS::Lambda::Function') continue;
      const properties = resource.Properties ?? {};
      const s3Key = (properties['Code'] as { S3Key?: unknown } | undefined)?.S3Key;
      if (typeof s3Key !== 'string') throw new Error(`${stackName}/${logicalId}: code is not an S3 asset (${JSON.stringify(properties['Code'])})`);
      const source = assetSources.get(s3Key.replace(/\.zip$/, ''));
      if (source?.path === undefined || source.packaging !== 'zip') {
        throw new Error(`${stackName}/${logicalId}: no zipped directory asset for ${s3Key} in the asset manifests`);
      }
      const environment = (properties['Environment'] as { Variables?: Record<string, CfnValue> } | undefined)?.Variables ?? {};
      functions.push({ stackName, logicalId, properties, assetDir: join(assembly.dir, source.path), environment });
    }
  }
  return functions;
}
