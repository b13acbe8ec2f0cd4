// clhooks' fetch receiver as a module Worker, as `equal.mjs` runs it in workerd: the workerd
// build of the package in pkg/ (whatever PKG_DIR equal.mjs is given), STORE `none` (no seen-store) or `memory` (the core's, 10,000 keys, the
// default), a handler that does nothing.
import { Webhooks } from '../../pkg/workerd.mjs';

let webhooks;

export default {
  fetch(request, env) {
    webhooks ??= new Webhooks({ secret: env.CL_WEBHOOK_SECRET, seen: env.STORE === 'memory' ? undefined : null, onError: null }).on('*', async () => {});
    return webhooks.fetch(request);
  },
};
