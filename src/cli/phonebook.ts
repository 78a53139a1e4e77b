/**
 * `xcap-bridge phonebook token add|remove|list`: device tokens for the vendor phonebooks
 * (src/phonebook/tokens.ts), in the store's database (the same store `serve` uses). A token
 * is printed once, when added; only its hash is kept.
 */
import { parseXui } from '../auth/login.ts';
import { openStore } from '../store/open.ts';
import { DeviceTokens } from '../phonebook/tokens.ts';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, loadCommandConfig, parseCommandArgs, STORE_OPTIONS, storeOverrides, type Command } from './command.ts';
import { PHONEBOOK_HELP } from './help.ts';

export const phonebookCommand: Command = {
  name: 'phonebook',
  async run(argv) {
    const parsed = parseCommandArgs('phonebook', PHONEBOOK_HELP, argv, { label: { type: 'string' }, config: { type: 'string' }, ...STORE_OPTIONS }, true);
    if (typeof parsed === 'number') return parsed;
    const { values, positionals } = parsed;
    const [group, sub, ...rest] = positionals;
    const usage = (message: string) => {
      process.stderr.write(`phonebook: ${message}\n\nRun "xcap-bridge phonebook --help" for usage.\n`);
      return EXIT_USAGE;
    };
    if (group !== 'token') return usage(group === undefined ? 'missing subcommand (token add|remove|list)' : `unknown subcommand "${group}"`);
    if (sub !== 'add' && sub !== 'remove' && sub !== 'list') return usage(sub === undefined ? 'missing token subcommand (add, remove, list)' : `unknown token subcommand "${sub}"`);
    if (rest.length > 1 || (sub !== 'list' && rest.length !== 1)) return usage(`token ${sub} takes ${sub === 'list' ? 'at most one <xui>' : `exactly one ${sub === 'add' ? '<xui>' : '<id>'}`}`);
    if (values.label !== undefined && sub !== 'add') return usage(`--label is an option of token add, not token ${sub}`);
    const arg = rest[0];
    if (sub !== 'remove' && arg !== undefined && parseXui(arg) === undefined) return usage(`not a user XUI (expected sip:user@domain): ${arg}`);
    const overrides = storeOverrides('phonebook', values);
    if (typeof overrides === 'number') return overrides;
    const config = loadCommandConfig('phonebook', values.config, overrides);
    if (typeof config === 'number') return config;
    const store = await openStore(config.store);
    try {
      const tokens = await DeviceTokens.open(store.sql);
      if (sub === 'add') {
        const { token, info } = await tokens.add(arg as string, values.label ?? '');
        process.stdout.write(`${token}\n`);
        process.stderr.write(`added token ${info.id} for ${info.xui}; it is shown only now\n`);
        return EXIT_OK;
      }
      if (sub === 'remove') {
        if (await tokens.remove(arg as string)) {
          process.stdout.write(`removed token ${arg}\n`);
          return EXIT_OK;
        }
        process.stderr.write(`phonebook: no such token: ${arg}\n`);
        return EXIT_FAILURE;
      }
      for (const t of await tokens.list(arg)) process.stdout.write(`${t.id}\t${t.xui}\t${new Date(t.created).toISOString()}\t${t.label}\n`);
      return EXIT_OK;
    } catch (err) {
      process.stderr.write(`phonebook: ${(err as Error).message}\n`);
      return EXIT_FAILURE;
    } finally {
      await store.close();
    }
  },
};

if (import.meta.main) {
  process.exitCode = await phonebookCommand.run(process.argv.slice(2));
}
