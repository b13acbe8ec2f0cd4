// A parsed payload's skeleton for the core, and the core's denormalize plan carried out on the
// engine's own objects. Nothing here decides: `outline` writes what kind each member is (the
// format is documented in the core, clhooks::payload::outline), the core checks the shape and
// plans the expansion, and `expand` follows the plan.

/** `outline` and `expand`, for createApi. */
export function createDocuments() {
  const ABSENT = 0;
  const NULL = 1;
  const BOOL = 2;
  const NUMBER = 3;
  const STRING = 4;
  const ARRAY = 5;
  const OBJECT = 6;
  const OTHER = 7;

  /** @param {unknown} value */
  const kindOf = (value) => {
    if (value === undefined) return ABSENT;
    if (value === null) return NULL;
    switch (typeof value) {
      case 'string': return STRING;
      case 'number': return NUMBER;
      case 'boolean': return BOOL;
      case 'object': return Array.isArray(value) ? ARRAY : OBJECT;
      default: return OTHER;
    }
  };

  /** Where outlines are written; grown as needed and reused (the core copies each at once). */
  let buffer = new Int32Array(1024);
  let at = 0;
  const put = (code) => {
    if (at === buffer.length) {
      const grown = new Int32Array(buffer.length * 2);
      grown.set(buffer);
      buffer = grown;
    }
    buffer[at++] = code;
  };

  /**
   * The outline of a parsed document, as an Int32Array valid until the next call.
   * @param {any} document
   * @returns {Int32Array}
   */
  function outline(document) {
    at = 0;
    /** @type {Map<string, Map<string, number>>} */
    const identities = new Map();
    let next = 0;
    const identity = (object) => {
      const { id, type } = object;
      put(kindOf(id));
      put(kindOf(type));
      if (typeof id !== 'string' || typeof type !== 'string') {
        put(-1);
        return;
      }
      let ids = identities.get(type);
      if (!ids) identities.set(type, (ids = new Map()));
      let number = ids.get(id);
      if (number === undefined) ids.set(id, (number = next++));
      put(number);
    };
    const resource = (object) => {
      identity(object);
      const { relationships } = object;
      const relationshipsKind = kindOf(relationships);
      put(kindOf(object.attributes));
      put(kindOf(object.links));
      put(kindOf(object.meta));
      put(relationshipsKind);
      if (relationshipsKind !== OBJECT) return;
      const names = Object.keys(relationships);
      put(names.length);
      for (let n = 0; n < names.length; n++) {
        const relationship = relationships[names[n]];
        const kind = kindOf(relationship);
        put(kind);
        if (kind !== OBJECT) continue;
        const { data } = relationship;
        const dataKind = kindOf(data);
        put(kindOf(relationship.links));
        put(kindOf(relationship.meta));
        put(dataKind);
        if (dataKind === OBJECT) identity(data);
        else if (dataKind === ARRAY) {
          put(data.length);
          for (let i = 0; i < data.length; i++) {
            const item = data[i];
            const itemKind = kindOf(item);
            put(itemKind);
            if (itemKind === OBJECT) identity(item);
          }
        }
      }
    };
    const kind = kindOf(document);
    put(kind);
    if (kind === OBJECT) {
      const { data, included } = document;
      const dataKind = kindOf(data);
      put(dataKind);
      if (dataKind === OBJECT) {
        resource(data);
        const includedKind = kindOf(included);
        put(includedKind);
        if (includedKind === ARRAY) {
          put(included.length);
          for (let i = 0; i < included.length; i++) {
            const item = included[i];
            const itemKind = kindOf(item);
            put(itemKind);
            if (itemKind === OBJECT) resource(item);
          }
        }
        put(kindOf(document.meta));
        put(kindOf(document.links));
      }
    }
    return buffer.subarray(0, at);
  }

  // The plan's codes (clhooks::payload::outline::Plan).
  const SKIP = 0;
  const ONE = 2;
  const MANY = 3;

  /** Sets a member, `__proto__` included, as an own property. */
  const set = (target, name, value) => {
    if (name === '__proto__') Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true });
    else target[name] = value;
  };

  /**
   * Follows a denormalize plan on a parsed document.
   * @param {Int32Array} plan
   * @param {any} document
   */
  function expand(plan, document) {
    const resources = [document.data, ...(Array.isArray(document.included) ? document.included : [])];
    let next = 0;
    const item = (identifier) => {
      const position = plan[next++];
      if (position < 0) return { id: identifier.id, type: identifier.type };
      const resource = resources[position];
      const out = { id: resource.id, type: resource.type, ...resource.attributes };
      const { relationships } = resource;
      if (relationships) {
        for (const name of Object.keys(relationships)) {
          const op = plan[next++];
          if (op === SKIP) continue;
          const { data } = relationships[name];
          if (op === ONE) set(out, name, item(data));
          else if (op === MANY) {
            const count = plan[next++];
            const list = new Array(count);
            for (let i = 0; i < count; i++) list[i] = item(data[i]);
            set(out, name, list);
          } else set(out, name, null);
        }
      }
      return out;
    };
    return item(null);
  }

  return { outline, expand };
}
