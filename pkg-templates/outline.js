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

  /**
   * The outline of a parsed document, as an Int32Array.
   * @param {any} document
   * @returns {Int32Array}
   */
  function outline(document) {
    /** @type {number[]} */
    const out = [];
    /** @type {Map<string, Map<string, number>>} */
    const identities = new Map();
    let next = 0;
    const identity = (object) => {
      const { id, type } = object;
      out.push(kindOf(id), kindOf(type));
      if (typeof id !== 'string' || typeof type !== 'string') {
        out.push(-1);
        return;
      }
      let ids = identities.get(type);
      if (!ids) identities.set(type, (ids = new Map()));
      let number = ids.get(id);
      if (number === undefined) ids.set(id, (number = next++));
      out.push(number);
    };
    const resource = (object) => {
      identity(object);
      const { relationships } = object;
      out.push(kindOf(object.attributes), kindOf(object.links), kindOf(object.meta), kindOf(relationships));
      if (kindOf(relationships) !== OBJECT) return;
      const names = Object.keys(relationships);
      out.push(names.length);
      for (const name of names) {
        const relationship = relationships[name];
        const kind = kindOf(relationship);
        out.push(kind);
        if (kind !== OBJECT) continue;
        const { data } = relationship;
        const dataKind = kindOf(data);
        out.push(kindOf(relationship.links), kindOf(relationship.meta), dataKind);
        if (dataKind === OBJECT) identity(data);
        else if (dataKind === ARRAY) {
          out.push(data.length);
          for (const item of data) {
            const itemKind = kindOf(item);
            out.push(itemKind);
            if (itemKind === OBJECT) identity(item);
          }
        }
      }
    };
    const kind = kindOf(document);
    out.push(kind);
    if (kind === OBJECT) {
      const { data, included } = document;
      const dataKind = kindOf(data);
      out.push(dataKind);
      if (dataKind === OBJECT) {
        resource(data);
        const includedKind = kindOf(included);
        out.push(includedKind);
        if (includedKind === ARRAY) {
          out.push(included.length);
          for (const item of included) {
            const itemKind = kindOf(item);
            out.push(itemKind);
            if (itemKind === OBJECT) resource(item);
          }
        }
        out.push(kindOf(document.meta), kindOf(document.links));
      }
    }
    return Int32Array.from(out);
  }

  // The plan's codes (clhooks::payload::outline::Plan).
  const SKIP = 0;
  const ONE = 2;
  const MANY = 3;

  /** Sets a member, `__proto__` included, as an own property. */
  const put = (target, name, value) => {
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
    let at = 0;
    const item = (identifier) => {
      const position = plan[at++];
      if (position < 0) return { id: identifier.id, type: identifier.type };
      const resource = resources[position];
      const out = { id: resource.id, type: resource.type, ...resource.attributes };
      const { relationships } = resource;
      if (relationships) {
        for (const name of Object.keys(relationships)) {
          const op = plan[at++];
          if (op === SKIP) continue;
          const { data } = relationships[name];
          if (op === ONE) put(out, name, item(data));
          else if (op === MANY) {
            const count = plan[at++];
            const list = new Array(count);
            for (let i = 0; i < count; i++) list[i] = item(data[i]);
            put(out, name, list);
          } else put(out, name, null);
        }
      }
      return out;
    };
    return item(null);
  }

  return { outline, expand };
}
