import { existsSync } from 'node:fs';
import { isAbsolute, relative, sep } from 'node:path';
import { Stack, type Duration } from 'aws-cdk-lib';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, SourceMapMode, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { LOCK_FILE_PATH, REPO_ROOT } from './paths.js';

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

export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

/** What the gateway and the worker functions have in common; each wraps this with its own defaults. */
export interface BreakwaterNodejsFunctionProps {
  /** Absolute path of the handler entry file. */
  readonly entry: string;
  /** Absolute path of the routing config copied into the bundle. */
  readonly configPath: string;
  /** `POWERTOOLS_SERVICE_NAME`, e.g. 'breakwater-gateway'. */
  readonly serviceName: string;
  readonly description: string;
  readonly memorySize: number;
  readonly timeout: Duration;
  /** Default: ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** Default: INFO */
  readonly logLevel?: LogLevel;
  /** Extra environment variables (merged over the defaults). */
  readonly environment?: Record<string, string>;
  /** See GatewayFunctionProps.bundleAwsSdk. Default: false */
  readonly bundleAwsSdk?: boolean;
}

/**
 * Fails synthesis early, with a message that says what to do, when a file the bundle needs is
 * missing. Only when esbuild actually runs: tests that skip bundling synthesize without it.
 */
export function requireWhenBundling(scope: Construct, path: string, message: string): void {
  if (Stack.of(scope).bundlingRequired && !existsSync(path)) throw new Error(message);
}

/**
 * The esbuild settings every Breakwater function shares: an ESM bundle for Node 22, minified,
 * with source maps, the runtime's AWS SDK left out, and the routing config copied next to it.
 */
export function breakwaterBundling(configPath: string, bundleAwsSdk = false): BundlingOptions {
  return {
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
    ...(bundleAwsSdk ? { bundleAwsSDK: true } : { externalModules: ['@aws-sdk/*'] }),
    commandHooks: {
      beforeBundling: () => [],
      beforeInstall: () => [],
      afterBundling: (inputDir: string, outputDir: string) => [
        copyCommand(configSource(inputDir, configPath), `${outputDir}/${BUNDLED_CONFIG_FILE}`),
      ],
    },
  };
}

/**
 * Creates `LogGroup` and `Function` as children of `scope` (ids kept stable: renaming them
 * would replace deployed resources): an ESM bundle (esbuild), arm64, Node 22, X-Ray active
 * tracing, its own log group.
 */
export function createBreakwaterNodejsFunction(
  scope: Construct,
  props: BreakwaterNodejsFunctionProps,
): { function: NodejsFunction; logGroup: LogGroup } {
  const logGroup = new LogGroup(scope, 'LogGroup', {
    retention: props.logRetention ?? RetentionDays.ONE_MONTH,
    // Default removal policy (RETAIN): logs outlive a stack deletion.
  });

  const fn = new NodejsFunction(scope, 'Function', {
    description: props.description,
    entry: props.entry,
    handler: 'handler',
    projectRoot: REPO_ROOT,
    depsLockFilePath: LOCK_FILE_PATH,
    runtime: Runtime.NODEJS_22_X,
    architecture: Architecture.ARM_64,
    memorySize: props.memorySize,
    timeout: props.timeout,
    tracing: Tracing.ACTIVE,
    logGroup,
    environment: {
      POWERTOOLS_SERVICE_NAME: props.serviceName,
      POWERTOOLS_LOG_LEVEL: props.logLevel ?? 'INFO',
      BREAKWATER_CONFIG: `${LAMBDA_TASK_ROOT}/${BUNDLED_CONFIG_FILE}`,
      NODE_OPTIONS: '--enable-source-maps',
      ...props.environment,
    },
    bundling: breakwaterBundling(props.configPath, props.bundleAwsSdk),
  });
  return { function: fn, logGroup };
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
