import { Aws } from 'aws-cdk-lib';
import { PolicyStatement, type IGrantable } from 'aws-cdk-lib/aws-iam';

/**
 * Lets `grantee` call Bedrock's Converse API, which is authorised as `bedrock:InvokeModel`.
 * Foundation models in any region (a cross-region inference profile routes the call to the
 * model in another region, and both ARNs are checked) and this account's inference profiles.
 * No streaming action: the provider calls Converse, not ConverseStream.
 */
export function grantBedrockInvoke(grantee: IGrantable): void {
  grantee.grantPrincipal.addToPrincipalPolicy(new PolicyStatement({ actions: ['bedrock:InvokeModel'], resources: [...BEDROCK_RESOURCES] }));
}

/** Foundation models, and this account's inference profiles, in any region. */
export const BEDROCK_RESOURCES: readonly string[] = [
  `arn:${Aws.PARTITION}:bedrock:*::foundation-model/*`,
  `arn:${Aws.PARTITION}:bedrock:*:${Aws.ACCOUNT_ID}:inference-profile/*`,
  `arn:${Aws.PARTITION}:bedrock:*:${Aws.ACCOUNT_ID}:application-inference-profile/*`,
];
