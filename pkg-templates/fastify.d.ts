import type { ReceiverOptions, Webhooks } from './index.js';

/** The plugin's options: where it listens, and a receiver's options or a `Webhooks` with routes of its own. */
export type ClhooksFastifyOptions = { path?: string } & (ReceiverOptions | { webhooks: Webhooks });

/**
 * A Fastify plugin receiving Commerce Layer webhooks on `path` (default `/webhooks`), with the
 * raw body read by a content-type parser scoped to the plugin: the rest of the app keeps
 * Fastify's JSON parsing.
 *
 * ```js
 * import clhooksFastify from 'clhooks/fastify';
 * app.register(clhooksFastify, { secret, onEvent: (event) => queue.push(event), path: '/webhooks' });
 * ```
 */
declare function clhooksFastify(fastify: any, options: ClhooksFastifyOptions): Promise<void>;
export default clhooksFastify;
