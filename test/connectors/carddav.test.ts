/**
 * The connector contract suite against the CardDAV connector on a real Radicale started
 * for this file. Each test gets its own address book; cards written behind the
 * connector's back go through plain HTTP as another CardDAV client's would.
 */
import { connectorContract, connectorKindContract } from '../conformance/connector.suite.ts';
import { carddavConnectorKind } from '../../connectors/carddav/index.ts';
import type { ItemFields } from '../../connectors/types.ts';
import { cardText, carddavConnectorFor, radicaleForFile, seedCards, unique } from './carddav-fixtures.ts';

const f = radicaleForFile();

function sample(i: number): ItemFields {
  return {
    uri: `sip:user${i}@example.com`,
    'display-name': `User ${i}`,
    mail: `user${i}@example.com`,
    mobile: `+49151${String(10000000 + i)}`,
    title: `Engineer ${i}`,
  };
}

for (const changeDetection of ['sync-collection', 'ctag'] as const) {
  connectorContract(`carddav (${changeDetection})`, { write: true, conditionalWrite: true, changeFeed: true, watch: false }, async () => {
    const book = `/${f.alice.user}/ab-${unique()}/`;
    await f.peer.mkAddressBook(book);
    const connector = carddavConnectorFor(f.radicale, f.alice, { changeDetection });
    return {
      connector,
      collection: new URL(book, f.radicale.url).href,
      missingCollection: new URL(`/${f.alice.user}/missing-${unique()}/`, f.radicale.url).href,
      sample,
      seed: (items) => seedCards(f.peer, book, items),
      external: {
        update: async (id, fields) => void (await f.peer.putCard(book, id, cardText(id, fields))),
        remove: (id) => f.peer.deleteCard(book, id),
      },
      cleanup: async () => {
        await connector.close();
        await f.peer.deleteBook(book);
      },
    };
  });
}

// Nothing listens on port 1: the kind must answer and create without reaching the server.
const offline = { kind: 'carddav', url: 'http://127.0.0.1:1', addressBook: '/{user}/contacts/', credentials: { passwordEnv: 'NOT_SET_ANYWHERE' } };
connectorKindContract(carddavConnectorKind, [offline, { ...offline, write: { enabled: false } }, { ...offline, write: { enabled: true }, changeDetection: 'ctag' }]);
