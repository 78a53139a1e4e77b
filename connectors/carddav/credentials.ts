/**
 * Who the connector authenticates as for one address book: the user name template with
 * the collection's user filled in, and the password from the environment, a file, or a
 * `user:password` file. Secrets are read when a request needs them (a rotated file is
 * picked up) and never put in a message or a log line: errors name the variable or file.
 */
import { readFileSync } from 'node:fs';
import type { CarddavCredentials } from './config.ts';

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

/** The credentials for the address book of `user` (undefined for a collection given as a URL). Throws an Error naming what is missing. */
export function credentialsFor(config: CarddavCredentials, user: string | undefined, env: NodeJS.ProcessEnv): Credentials {
  const username = fill(config.username, user);
  if (config.passwordEnv !== undefined) {
    const password = env[config.passwordEnv];
    if (password === undefined) throw new Error(`environment variable ${config.passwordEnv} (CardDAV password) is not set`);
    return { username, password };
  }
  if (config.passwordFile !== undefined) return { username, password: readSecret(config.passwordFile).replace(/\r?\n$/, '') };
  const file = config.passwordsFile as string;
  const key = user ?? username;
  for (const line of readSecret(file).split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0 && line.slice(0, colon) === key) return { username, password: line.slice(colon + 1) };
  }
  throw new Error(`the CardDAV passwords file ${file} has no line for user ${JSON.stringify(key)}`);
}

function fill(template: string, user: string | undefined): string {
  if (!template.includes('{user}')) return template;
  if (user === undefined) throw new Error(`the CardDAV user name ${JSON.stringify(template)} needs {user}, but the collection is a URL`);
  return template.replaceAll('{user}', user);
}

function readSecret(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read the CardDAV password file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
}

/** What `check-config` can tell before connecting: the variable is set and not empty, the file can be read. */
export function credentialIssues(config: CarddavCredentials, env: NodeJS.ProcessEnv): { path: string; message: string }[] {
  if (config.passwordEnv !== undefined) {
    const v = env[config.passwordEnv];
    if (v === undefined) return [{ path: 'credentials.passwordEnv', message: `environment variable ${config.passwordEnv} (CardDAV password) is not set` }];
    if (v === '') return [{ path: 'credentials.passwordEnv', message: `environment variable ${config.passwordEnv} (CardDAV password) is empty` }];
    return [];
  }
  const key = config.passwordFile !== undefined ? 'passwordFile' : 'passwordsFile';
  try {
    readSecret((config.passwordFile ?? config.passwordsFile) as string);
    return [];
  } catch (err) {
    return [{ path: `credentials.${key}`, message: (err as Error).message }];
  }
}
