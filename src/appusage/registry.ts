/**
 * The application usages this server serves, by auid (RFC 4825 §5). Built once at start-up:
 * every schema is compiled here, so a broken custom XSD stops the server before it listens.
 */
import { createCustomUsage } from './custom.ts';
import type { CustomUsageConfig } from './custom.ts';
import { omaPresRules } from './oma-pres-rules/index.ts';
import { pidfManipulation } from './pidf-manipulation/index.ts';
import { createPresContentUsage } from './pres-content/index.ts';
import { presRules } from './pres-rules/index.ts';
import { resourceLists } from './resource-lists/index.ts';
import { rlsServices } from './rls-services/index.ts';
import type { AppUsage } from './types.ts';
import { createXcapCapsUsage } from './xcap-caps/index.ts';
import { xcapDirectory } from './xcap-directory/index.ts';

export interface UsageRegistry {
  /** The usage for `auid`, or undefined (the XCAP core answers 404). */
  get(auid: string): AppUsage | undefined;
  /** Every usage, standard ones first, in a stable order (the order of xcap-caps). */
  all(): AppUsage[];
}

export interface RegistryOptions {
  /** Usages declared in config. */
  custom?: readonly CustomUsageConfig[];
  /** Limit for pres-content documents in bytes. @defaultValue 300 KiB */
  presContentMaxBytes?: number;
}

/** Builds the registry. Rejects with a plain Error when a custom usage does not load or an auid repeats. */
export async function createRegistry(opts: RegistryOptions = {}): Promise<UsageRegistry> {
  const usages: AppUsage[] = [];
  const caps = createXcapCapsUsage(() => usages);
  usages.push(
    caps,
    resourceLists,
    rlsServices,
    presRules,
    omaPresRules,
    pidfManipulation,
    xcapDirectory,
    createPresContentUsage(
      opts.presContentMaxBytes === undefined ? {} : { maxDocumentBytes: opts.presContentMaxBytes },
    ),
    ...(opts.custom ?? []).map(createCustomUsage),
  );
  const byAuid = new Map<string, AppUsage>();
  for (const u of usages) {
    if (byAuid.has(u.auid)) throw new Error(`application usage ${u.auid} is declared twice`);
    byAuid.set(u.auid, u);
  }
  return {
    get: (auid) => byAuid.get(auid),
    all: () => [...usages],
  };
}
