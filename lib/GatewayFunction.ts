import { existsSync } from 'node:fs';
import { isAbsolute, relative, sep } from 'node:path';
import { Duration, Stack } from 'aws-cdk-lib';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import {
  DEFAULT_CONFIG_PATH,
  DEFAULT_GATEWAY_ENTRY,
  LOCK_FILE_PATH,
  REPO_ROOT,
  fromRepoRoot,
} from './paths.js';

/** Where the routing config lands inside the deployment package (/var/task). */
export const BUNDLED_CONFIG_FILE = 'breakwater.config.json';
/** Lambda extracts the deployment package to /var/task. */
export const LAMBDA_TASK_ROOT = '/var/task';

/**
 * ESM bundles have no `require`; some CommonJS dependencies (X-Ray SDK, etc.)
 * call it at runtime, so recreate it from import.meta.url.
 */
const ESM_REQUIRE_BANNER =
  "import { createRequire } from 'module'; const require = createRequire(import.meta.url);";

export interface GatewayFunctionProps {
  /** Handler entry file. Default: <repo>/functions/gateway/handler.ts */
  readonly entry?: string;
  /**
   * Routing config copied into the bundle as /var/task/breakwater.config.json.
   * Relative paths resolve against the repo root, not the cwd.
   * Default: <repo>/breakwater.config.json
   */
  readonly configPath?: string;
  /** Default: 1024 */
  readonly memorySize?: number;
  /**
   * Default: 30 s. API Gateway's integration timeout is 29 s and the gateway's
   * own deadline defaults to 27 s, so the function always answers first.
   */
  readonly timeout?: Duration;
  /** Default: ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** Default: INFO */
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /** Extra environment variables (merged over the defaults). */
  readonly environment?: Record<string, string>;
  /**
   * Bundle the AWS SDK v3 instead of using the copy in the Lambda runtime.
   * Default: false (the runtime's @aws-sdk/* is used: smaller bundle, faster cold start;
   * @smithy/* helpers are still bundled).
   */
  readonly bundleAwsSdk?: boolean;
}

/** The gateway Lambda: ESM bundle (esbuild), arm64, Node 22, X-Ray active tracing. */
export class GatewayFunction extends Construct {
  readonly function: NodejsFunction;
  readonly logGroup: LogGroup;
  readonly configPath: string;

  constructor(scope: Construct, id: string, props: GatewayFunctionProps = {}) {
    super(scope, id);

    const entry = fromRepoRoot(props.entry ?? DEFAULT_GATEWAY_ENTRY);
    const configPath = fromRepoRoot(props.configPath ?? DEFAULT_CONFIG_PATH);
    this.configPath = configPath;

    // Only demand the config when esbuild actually runs (tests skip bundling).
    if (Stack.of(this).bundlingRequired && !existsSync(configPath)) {
      throw new Error(
        `Breakwater routing config not found at ${configPath}; it is copied into the Lambda bundle. ` +
          'Create it or pass the configPath stack prop.',
      );
    }

    this.logGroup = new LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      // Default removal policy (RETAIN): logs outlive a stack deletion.
    });

    this.function = new NodejsFunction(this, 'Function', {
      description: 'Breakwater: OpenAI-compatible resilient LLM gateway',
      entry,
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: LOCK_FILE_PATH,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 1024,
      timeout: props.timeout ?? Duration.seconds(30),
      tracing: Tracing.ACTIVE,
      logGroup: this.logGroup,
      environment: {
        POWERTOOLS_SERVICE_NAME: 'breakwater-gateway',
        POWERTOOLS_LOG_LEVEL: props.logLevel ?? 'INFO',
        BREAKWATER_CONFIG: `${LAMBDA_TASK_ROOT}/${BUNDLED_CONFIG_FILE}`,
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
      bundling: {
        format: OutputFormat.ESM,
        mainFields: ['module', 'main'],
        banner: ESM_REQUIRE_BANNER,
        target: 'node22',
        minify: true,
        sourceMap: true,
        sourceMapMode: SourceMapMode.DEFAULT,
        sourcesContent: false,
        // Keep only @aws-sdk/* external (the runtime ships it). @smithy/* is bundled:
        // the X-Ray SDK behind Powertools Tracer requires
        // @smithy/service-error-classification, and bundling it pins the version
        // we test with instead of whatever the runtime happens to carry.
        ...(props.bundleAwsSdk ? { bundleAwsSDK: true } : { externalModules: ['@aws-sdk/*'] }),
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (inputDir: string, outputDir: string) => [
            copyCommand(configSource(inputDir, configPath), `${outputDir}/${BUNDLED_CONFIG_FILE}`),
          ],
        },
      },
    });
  }
}

/**
 * Path of the config as seen by the bundling step. Inside the project root it is
 * addressed relative to inputDir so that Docker bundling (/asset-input) works too;
 * outside it, the absolute host path is used (local bundling only).
 */
function configSource(inputDir: string, configPath: string): string {
  const rel = relative(REPO_ROOT, configPath);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return configPath;
  return `${inputDir}/${rel.split(sep).join('/')}`;
}

/** POSIX shell (local bundling on Linux/macOS, or inside the Docker bundling image). */
function copyCommand(from: string, to: string): string {
  return `cp ${shellQuote(from)} ${shellQuote(to)}`;
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
