// Code a user would write with `require` and clhooks/sdk: denormalize() is typed with Commerce
// Layer's SDK types there too. A program of its own (tsconfig.sdk.json): cjs.cts checks the
// general shape without it.
import 'clhooks/sdk';
import clhooks = require('clhooks');
// The SDK's own CommonJS declarations export none of its resource types: name them from its ESM ones.
import type { Order, Shipment } from '@commercelayer/sdk' with { 'resolution-mode': 'import' };

new clhooks.Webhooks({ secret: 's' })
  .on('orders.place', (event) => {
    const order: Order = event.denormalize();
    const number: string | null | undefined = order.number;
    // @ts-expect-error a typo in a field is a compile error
    void order.numbr;
    // @ts-expect-error an order is not a shipment
    const shipment: Shipment = event.denormalize();
    void [number, shipment];
  });
const placed: Order = clhooks.receive<'orders.place'>('{}', {}, 'secret').denormalize();
void placed;
