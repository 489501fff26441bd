import { CfnWebACL, CfnWebACLAssociation } from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';

/**
 * Requests one client IP may send in five minutes before WAF blocks it for a while: 2000 is
 * ~6.7 rps sustained, far above one agent's pace and far below what would hurt the fleet.
 * Tenants' own limits (rpm, tpm, budgets) are enforced by the gateway; this stops a flood
 * before it costs a Lambda invocation.
 */
export const DEFAULT_WAF_RATE_LIMIT_PER_5_MIN = 2000;

/**
 * The AWS common rule set's rules that a chat API cannot live with, counted instead of blocking:
 * SizeRestrictions_BODY blocks bodies over 8 KB, and prompts with context are routinely larger.
 */
export const COUNTED_COMMON_RULES = ['SizeRestrictions_BODY'] as const;

export interface GatewayWebAclProps {
  /** ARN of the API Gateway stage to protect. */
  readonly stageArn: string;
  /** @default {@link DEFAULT_WAF_RATE_LIMIT_PER_5_MIN} */
  readonly rateLimitPer5Min?: number;
  /** CloudWatch metric name prefix of the ACL's rules. */
  readonly metricPrefix: string;
}

/**
 * WAFv2 web ACL on the API stage: a per-IP rate-based rule first (cheapest, stops floods), then
 * the AWS managed common rule set (with {@link COUNTED_COMMON_RULES} counted) and known bad
 * inputs. Every rule emits CloudWatch metrics and sampled requests.
 */
export class GatewayWebAcl extends Construct {
  readonly webAcl: CfnWebACL;

  constructor(scope: Construct, id: string, props: GatewayWebAclProps) {
    super(scope, id);
    const visibility = (name: string): CfnWebACL.VisibilityConfigProperty => ({
      cloudWatchMetricsEnabled: true,
      sampledRequestsEnabled: true,
      metricName: `${props.metricPrefix}-${name}`,
    });
    const managed = (priority: number, name: string, counted: readonly string[] = []): CfnWebACL.RuleProperty => ({
      name: `AWS-${name}`,
      priority,
      overrideAction: { none: {} },
      statement: {
        managedRuleGroupStatement: {
          vendorName: 'AWS',
          name,
          ruleActionOverrides: counted.map((rule) => ({ name: rule, actionToUse: { count: {} } })),
        },
      },
      visibilityConfig: visibility(name),
    });

    this.webAcl = new CfnWebACL(this, 'WebAcl', {
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      visibilityConfig: visibility('WebAcl'),
      rules: [
        {
          name: 'RateLimitPerIp',
          priority: 0,
          action: { block: {} },
          statement: {
            rateBasedStatement: {
              limit: props.rateLimitPer5Min ?? DEFAULT_WAF_RATE_LIMIT_PER_5_MIN,
              evaluationWindowSec: 300,
              aggregateKeyType: 'IP',
            },
          },
          visibilityConfig: visibility('RateLimitPerIp'),
        },
        managed(1, 'AWSManagedRulesCommonRuleSet', COUNTED_COMMON_RULES),
        managed(2, 'AWSManagedRulesKnownBadInputsRuleSet'),
      ],
    });
    new CfnWebACLAssociation(this, 'Association', { resourceArn: props.stageArn, webAclArn: this.webAcl.attrArn });
  }
}
