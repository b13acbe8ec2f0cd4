// A Worker for tests/bench/webcrypto.mjs. Time does not advance inside a Worker while it
// computes, so the bench times each request from outside: /run?impl=I&size=S&n=N runs one
// contender N times.
import * as clhooks from '../../pkg/workerd.mjs';
import { contenders, repeat } from './webcrypto-suite.mjs';

const made = new Map();

export default {
  async fetch(request) {
    const url = new URL(request.url);
    const size = Number(url.searchParams.get('size'));
    if (!made.has(size)) made.set(size, await contenders(clhooks, size));
    const fns = made.get(size);
    const impl = url.searchParams.get('impl');
    await repeat(fns[impl] ?? (() => {}), Number(url.searchParams.get('n')));
    return new Response(Object.keys(fns).join('\n'));
  },
};
