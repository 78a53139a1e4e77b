/**
 * Registry entry for kind `memory`: the reference connector, for demos and tests (its
 * content lives in the process and is gone when it exits).
 */
import { z } from 'zod';
import { connectorKind } from '../kind.ts';
import { MemoryConnector } from './index.ts';

const memoryOptions = z
  .object({
    kind: z.literal('memory'),
    /**
     * Collections that exist from the start.
     * @defaultValue `[]`
     */
    collections: z.array(z.string().min(1)).default([]).describe('Collections that exist from the start (memory: content lives in the process, for demos and tests).'),
  })
  .strict();

export const memoryConnectorKind = connectorKind({
  kind: 'memory',
  options: memoryOptions,
  capabilities: () => ({ write: true, conditionalWrite: true, changeFeed: true, watch: false }),
  environment: () => [],
  create: (o: z.output<typeof memoryOptions>) => new MemoryConnector({ collections: o.collections }),
});
