/**
 * The env vars that tell a function to read its routing config from AWS AppConfig instead of
 * the bundled file. The stack sets all three only when AppConfig delivery is on
 * (`-c appConfig=true`); with none set, the functions read BREAKWATER_CONFIG as before.
 * Identifiers or names both work: AppConfig accepts either.
 */
export const APPCONFIG_ENV = {
  APPLICATION: 'BREAKWATER_APPCONFIG_APPLICATION',
  ENVIRONMENT: 'BREAKWATER_APPCONFIG_ENVIRONMENT',
  PROFILE: 'BREAKWATER_APPCONFIG_PROFILE',
} as const;

/** Where a function finds its config in AppConfig. */
export interface AppConfigLocation {
  readonly application: string;
  readonly environment: string;
  readonly profile: string;
}

/** The location from the env, or undefined when AppConfig delivery is off (any of the three unset). */
export function appConfigLocationFromEnv(env: NodeJS.ProcessEnv = process.env): AppConfigLocation | undefined {
  const application = env[APPCONFIG_ENV.APPLICATION];
  const environment = env[APPCONFIG_ENV.ENVIRONMENT];
  const profile = env[APPCONFIG_ENV.PROFILE];
  return application && environment && profile ? { application, environment, profile } : undefined;
}
