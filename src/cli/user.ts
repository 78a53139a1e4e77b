/**
 * `xcap-bridge user add|remove|list`: manages the local user table in the store's database
 * (the same store `serve` uses: config file, then DATABASE_URL, then flags).
 *
 * Passwords can come from a file or XCAP_BRIDGE_PASSWORD so they stay out of `ps`; they are
 * never printed. Runnable on its own too: `node src/cli/user.ts add ...`.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/load.ts';
import { addLocalUser, SecondRealm } from '../auth/add-user.ts';
import { EmptyPassword, LocalUsers, UserExists } from '../auth/local-users.ts';
import { parseXui } from '../auth/login.ts';
import { openStore } from '../store/open.ts';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type Command } from './command.ts';
import { USER_HELP } from './help.ts';

type Values = ReturnType<typeof parse>['values'];

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      password: { type: 'string' },
      'password-file': { type: 'string' },
      admin: { type: 'boolean' },
      realm: { type: 'string' },
      config: { type: 'string' },
      data: { type: 'string' },
      'database-url': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

class UsageError extends Error {}

export const userCommand: Command = {
  name: 'user',
  async run(argv) {
    try {
      let parsed;
      try {
        parsed = parse(argv);
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      const { values, positionals } = parsed;
      if (values.help) {
        process.stdout.write(USER_HELP);
        return EXIT_OK;
      }
      return await dispatch(values, positionals);
    } catch (err) {
      if (err instanceof UsageError || err instanceof ConfigError || err instanceof EmptyPassword) {
        process.stderr.write(`user: ${err.message}\n\nRun "xcap-bridge user --help" for usage.\n`);
        return EXIT_USAGE;
      }
      process.stderr.write(`user: ${(err as Error).message}\n`);
      return EXIT_FAILURE;
    }
  },
};

async function dispatch(values: Values, positionals: string[]): Promise<number> {
  const [sub, ...rest] = positionals;
  const wantArgs = sub === 'list' ? 0 : 1;
  if (sub !== 'add' && sub !== 'remove' && sub !== 'list') {
    throw new UsageError(sub === undefined ? 'missing subcommand (add, remove, list)' : `unknown subcommand "${sub}"`);
  }
  if (rest.length !== wantArgs) throw new UsageError(wantArgs === 0 ? `${sub} takes no arguments` : `${sub} needs exactly one <xui>`);
  const xui = rest[0];
  if (xui !== undefined && parseXui(xui) === undefined) throw new UsageError(`not a user XUI (expected sip:user@domain): ${xui}`);
  if (sub !== 'add' && (values.password !== undefined || values['password-file'] !== undefined || values.admin || values.realm !== undefined)) {
    throw new UsageError(`--password, --password-file, --admin and --realm are options of add, not ${sub}`);
  }
  const password = sub === 'add' ? await readPassword(values) : undefined;
  const config = loadConfig(values.config, { dataDir: values.data, databaseUrl: values['database-url'] });
  const store = await openStore(config.store);
  try {
    const users = await LocalUsers.open(store.sql);
    if (sub === 'list') {
      for (const u of await users.list()) process.stdout.write(u.admin ? `${u.xui}\tadmin\n` : `${u.xui}\n`);
      return EXIT_OK;
    }
    if (sub === 'remove') {
      if (await users.remove(xui as string)) {
        process.stdout.write(`removed ${xui}\n`);
        return EXIT_OK;
      }
      process.stderr.write(`user: no such user: ${xui}\n`);
      return EXIT_FAILURE;
    }
    let realm: string;
    try {
      realm = await addLocalUser(users, config.auth, xui as string, password as string, { admin: values.admin === true, ...(values.realm === undefined ? {} : { realm: values.realm }) });
    } catch (err) {
      if (err instanceof SecondRealm) throw new UsageError(err.message);
      if (!(err instanceof UserExists)) throw err;
      process.stderr.write(`user: ${err.message}\n`);
      return EXIT_FAILURE;
    }
    process.stdout.write(`added ${xui}${values.admin ? ' (admin)' : ''}, realm "${realm}"\n`);
    return EXIT_OK;
  } finally {
    await store.close();
  }
}

/** From --password, --password-file (first line) or XCAP_BRIDGE_PASSWORD, exactly one. */
async function readPassword(values: Values): Promise<string> {
  if (values.password !== undefined && values['password-file'] !== undefined) {
    throw new UsageError('give --password or --password-file, not both');
  }
  let pw = values.password;
  const file = values['password-file'];
  if (file !== undefined) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read password file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    pw = text.split(/\r?\n/, 1)[0];
  }
  pw ??= process.env.XCAP_BRIDGE_PASSWORD;
  if (pw === undefined) throw new UsageError('missing password: give --password-file F, XCAP_BRIDGE_PASSWORD or --password');
  if (pw === '') throw new EmptyPassword();
  return pw;
}

if (import.meta.main) {
  process.exitCode = await userCommand.run(process.argv.slice(2));
}
