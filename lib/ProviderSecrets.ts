import { Annotations, ArnFormat, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Effect, PolicyStatement, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { ConfigNeeds } from './configNeeds.js';

/** Deployed secret names are `<prefix><credential>`; the functions get the prefix as BREAKWATER_SECRET_PREFIX. */
export const DEFAULT_SECRET_PREFIX = 'breakwater/';
/** Mirrors shared/callbacks' `callbackSigningSecretName`: `callback-signing/<tenant>`. */
export const CALLBACK_SIGNING_SECRET_PATH = 'callback-signing/';
/** Mirrors shared/tools/connections: the data key users' OAuth tokens are encrypted under. */
export const TOOL_TOKEN_KEY_SECRET = 'tool-token-key';
/** Secrets Manager's name alphabet. */
const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]+$/;

export interface ProviderSecretsProps {
  readonly needs: ConfigNeeds;
  /** Default: {@link DEFAULT_SECRET_PREFIX} */
  readonly prefix?: string;
}

/**
 * One Secrets Manager secret per provider credential the config names, and one callback
 * signing secret per tenant in the config.
 *
 * CloudFormation cannot create a secret without a value, so a credential secret starts as
 * `{"placeholder": "<random>"}`: it has no `api_key`, so the gateway reports the target
 * unavailable ("credential is not set") and falls back, instead of sending a made-up key
 * upstream. Set the real value with
 * `aws secretsmanager put-secret-value --secret-id breakwater/<credential> --secret-string '{"api_key":"..."}'`.
 * Every secret is retained when the stack goes: credentials hold keys someone pasted by hand,
 * signing secrets are configured at the tenants' receivers.
 */
export class ProviderSecrets extends Construct {
  readonly prefix: string;
  /** Credential name (as in the config) → its secret. */
  readonly credentials: ReadonlyMap<string, Secret>;
  /** Tenant → its generated callback signing secret. */
  readonly callbackSigning: ReadonlyMap<string, Secret>;
  /** The data key of users' OAuth tokens, when a tool service connects on behalf of users. */
  readonly toolTokenKey?: Secret;

  constructor(scope: Construct, id: string, props: ProviderSecretsProps) {
    super(scope, id);
    this.prefix = props.prefix ?? DEFAULT_SECRET_PREFIX;
    if (this.prefix !== '' && !SECRET_NAME.test(this.prefix)) {
      throw new Error(`secret prefix "${this.prefix}" is not a valid Secrets Manager name prefix`);
    }

    const credentials = new Map<string, Secret>();
    for (const name of props.needs.credentials) {
      credentials.set(
        name,
        new Secret(this, `Credential:${constructSafe(name)}`, {
          secretName: `${this.prefix}${name}`,
          description: `Breakwater provider credential "${name}". Set it with: aws secretsmanager put-secret-value --secret-id ${this.prefix}${name} --secret-string '{"api_key":"..."}'`,
          generateSecretString: { secretStringTemplate: '{}', generateStringKey: 'placeholder', excludePunctuation: true },
          removalPolicy: RemovalPolicy.RETAIN,
        }),
      );
    }
    this.credentials = credentials;

    const callbackSigning = new Map<string, Secret>();
    for (const tenant of props.needs.tenants) {
      const name = `${this.prefix}${CALLBACK_SIGNING_SECRET_PATH}${tenant}`;
      if (!SECRET_NAME.test(name)) {
        Annotations.of(this).addWarningV2(
          'breakwater:callback-signing-secret-name',
          `tenant "${tenant}" cannot name a secret; create its callback signing secret by hand`,
        );
        continue;
      }
      callbackSigning.set(
        tenant,
        // A real random value is exactly what an HMAC key needs: the tenant reads it once to
        // configure its receiver, and rotates it with put-secret-value.
        new Secret(this, `CallbackSigning:${constructSafe(tenant)}`, {
          secretName: name,
          description: `Breakwater: signs tenant "${tenant}"'s task callbacks (x-breakwater-signature, HMAC-SHA256).`,
          generateSecretString: {
            secretStringTemplate: '{}',
            generateStringKey: 'signing_secret',
            excludePunctuation: true,
            passwordLength: 64,
          },
          // Tenants configured their receivers with it; and a deleted secret's name stays taken
          // for its recovery window, which would fail the next deploy of the stage.
          removalPolicy: RemovalPolicy.RETAIN,
        }),
      );
    }
    this.callbackSigning = callbackSigning;

    if (props.needs.userConnections) {
      // 64 random characters under `key` (hashed to the AES-256 key by the gateway); `key_id`
      // is kept with each encrypted item, so a later key can be added without losing the old.
      this.toolTokenKey = new Secret(this, 'ToolTokenKey', {
        secretName: `${this.prefix}${TOOL_TOKEN_KEY_SECRET}`,
        description: "Breakwater: the data key users' OAuth tokens are encrypted under (AES-256-GCM).",
        generateSecretString: { secretStringTemplate: '{"key_id":"v1"}', generateStringKey: 'key', passwordLength: 64, excludePunctuation: true },
        // Losing it loses every stored connection: users would all have to connect again.
        removalPolicy: RemovalPolicy.RETAIN,
      });
    }
  }

  /** Read access (GetSecretValue, DescribeSecret) to every provider credential secret. */
  grantCredentialsRead(grantee: IGrantable): void {
    for (const secret of this.credentials.values()) secret.grantRead(grantee);
  }

  /** Read access to the token data key (only the gateway, which serves connections and tool calls, needs it). */
  grantToolTokenKeyRead(grantee: IGrantable): void {
    this.toolTokenKey?.grantRead(grantee);
  }

  /**
   * Read access to every tenant's callback signing secret: those created here and those made
   * by hand later for tenants that live only in the keys table, hence a name-prefix grant.
   */
  grantCallbackSigningRead(grantee: IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
        resources: [this.callbackSigningArnPattern()],
      }),
    );
  }

  /** Every callback signing secret's ARN, by name prefix: `...:secret:<prefix>callback-signing/*`. */
  callbackSigningArnPattern(): string {
    return Stack.of(this).formatArn({
      service: 'secretsmanager',
      resource: 'secret',
      resourceName: `${this.prefix}${CALLBACK_SIGNING_SECRET_PATH}*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
  }
}

/** Construct ids cannot contain '/', which secret names can. */
function constructSafe(name: string): string {
  return name.replace(/%/g, '%25').replace(/\//g, '%2F');
}
