import { MAX_KEY_CACHE_TTL_MS } from '../../shared/keys';

export const MAIN_USAGE = `Usage: breakwater <command> [options]

Commands:
  keys      create, list, revoke and rotate virtual keys
  dlq       redrive a dead-letter queue of tasks
  approvals list, approve and reject tool calls held for a person

Run "breakwater <command> --help" for details.`;

export const KEYS_USAGE = `Usage:
  breakwater keys create --tenant <tenant> [--name <name>] [--expires-in <30d>] [--policy '<json>'] [--admin] [--config <file>]
  breakwater keys list [--tenant <tenant>] [--json]
  breakwater keys revoke <key or display prefix>
  breakwater keys rotate <key or display prefix> --grace <1h> [--expires-in <30d>]

Options for every subcommand:
  --table <name>   the keys table (default: $BREAKWATER_TABLE_KEYS, else breakwater-keys)
  --stage <name>   the keys table of a deployed stage, from its Breakwater-<Stage>-State stack's outputs
  -h, --help       show this help

Durations: 90s, 15m, 1h, 30d, 2w, or combined (1h30m); --grace also takes 0.
--policy takes the tenant fields of the config file, e.g. '{"rpm_limit":60,"allowed_models":["gpt-4o-mini"]}'.
--admin makes an admin key (policy role "admin"): the operator console and /v1/admin/... accept it.
create refuses a tenant the gateway's config lacks (its key would be refused): the config is
--config, else with --stage the one the stage serves with (its AppConfig version, or the bundled
one's tenants from the Breakwater-<Stage>-Gateway stack's outputs), else $BREAKWATER_CONFIG,
else ./breakwater.config.json.
rotate gives the new key the old key's expiry (unless --expires-in says otherwise).

The store: against "npm start", set AWS_ENDPOINT_URL_DYNAMODB to the endpoint it prints;
against AWS, the usual AWS_PROFILE / AWS_REGION and the stack's table name.
create and rotate print the new key once, as the last line of their output (alone on stdout).
A revoked key stops working everywhere within ${MAX_KEY_CACHE_TTL_MS / 1000} s.`;
