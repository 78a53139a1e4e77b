import { connectorContract, connectorKindContract } from '../conformance/connector.suite.ts';
import { memoryConnectorKind } from '../../connectors/memory/kind.ts';
import { MemoryConnector } from '../../connectors/memory/index.ts';
import type { ConnectorCapabilities, ItemFields } from '../../connectors/types.ts';

function harness(capabilities: ConnectorCapabilities) {
  return async () => {
    const connector = new MemoryConnector({ capabilities, collections: ['people'] });
    return {
      connector,
      collection: 'people',
      missingCollection: 'nobody-here',
      sample: (i: number): ItemFields => ({ uri: `sip:user${i}@example.com`, 'display-name': `User ${i}`, mail: `user${i}@example.com` }),
      seed: async (items: readonly ItemFields[]) => connector.seed('people', items.map((fields) => ({ fields }))),
      external: {
        update: async (id: string, fields: ItemFields) => void connector.seed('people', [{ id, fields }]),
        remove: async (id: string) => connector.drop('people', id),
      },
      cleanup: () => connector.close(),
    };
  };
}

connectorContract('memory', { write: true, conditionalWrite: true, changeFeed: true, watch: true }, harness({ write: true, conditionalWrite: true, changeFeed: true, watch: true }));
connectorContract('memory (read-only, no change feed)', { write: false, conditionalWrite: false, changeFeed: false, watch: false }, harness({ write: false, conditionalWrite: false, changeFeed: false, watch: false }));

connectorKindContract(memoryConnectorKind, [{ kind: 'memory' }, { kind: 'memory', collections: ['people'] }]);
