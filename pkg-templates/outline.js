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
    const type = typeof value;
    if (type === 'object') return value === null ? NULL : Array.isArray(value) ? ARRAY : OBJECT;
    if (type === 'string') return STRING;
    if (type === 'undefined') return ABSENT;
    if (type === 'number') return NUMBER;
    return type === 'boolean' ? BOOL : OTHER;
  };
  // Where outlines are written: grown as needed and reused (the core copies each at once), with
  // the identities of the outline being written.
  let buffer = new Int32Array(1024);
  let at = 0;
  /** @type {Map<string, Map<string, number>>} */
  let identities = new Map();
  let next = 0;
  /** Makes room for `n` more codes. */
  const room = (n) => {
    if (at + n > buffer.length) {
      const grown = new Int32Array(Math.max(buffer.length * 2, at + n));
      grown.set(buffer);
      buffer = grown;
    }
  };
  const identity = (object) => {
    const id = object.id;
    const type = object.type;
    const idKind = kindOf(id);
    const typeKind = kindOf(type);
    buffer[at++] = idKind;
    buffer[at++] = typeKind;
    if (idKind !== STRING || typeKind !== STRING) {
      buffer[at++] = -1;
      return;
    }
    let ids = identities.get(type);
    if (ids === undefined) identities.set(type, (ids = new Map()));
    let number = ids.get(id);
    if (number === undefined) ids.set(id, (number = next++));
    buffer[at++] = number;
  };
  const resource = (object) => {
    room(8);
    identity(object);
    const relationships = object.relationships;
    const relationshipsKind = kindOf(relationships);
    buffer[at++] = kindOf(object.attributes);
    buffer[at++] = kindOf(object.links);
    buffer[at++] = kindOf(object.meta);
    buffer[at++] = relationshipsKind;
    if (relationshipsKind !== OBJECT) return;
    const names = Object.keys(relationships);
    room(1);
    buffer[at++] = names.length;
    for (let n = 0; n < names.length; n++) {
      const relationship = relationships[names[n]];
      const kind = kindOf(relationship);
      room(8);
      buffer[at++] = kind;
      if (kind !== OBJECT) continue;
      const data = relationship.data;
      const dataKind = kindOf(data);
      buffer[at++] = kindOf(relationship.links);
      buffer[at++] = kindOf(relationship.meta);
      buffer[at++] = dataKind;
      if (dataKind === OBJECT) identity(data);
      else if (dataKind === ARRAY) {
        room(1 + data.length * 4);
        buffer[at++] = data.length;
        for (let i = 0; i < data.length; i++) {
          const item = data[i];
          const itemKind = kindOf(item);
          buffer[at++] = itemKind;
          if (itemKind === OBJECT) identity(item);
        }
      }
    }
  };
  /**
   * The outline of a parsed document, as an Int32Array valid until the next call, after
   * `reserved` codes left for the caller to write.
   * @param {any} document
   * @param {number} [reserved]
   * @returns {Int32Array}
   */
  function outline(document, reserved = 0) {
    at = reserved;
    next = 0;
    identities = new Map();
    room(8);
    const kind = kindOf(document);
    buffer[at++] = kind;
    if (kind === OBJECT) {
      const data = document.data;
      const dataKind = kindOf(data);
      buffer[at++] = dataKind;
      if (dataKind === OBJECT) {
        resource(data);
        const included = document.included;
        const includedKind = kindOf(included);
        room(2);
        buffer[at++] = includedKind;
        if (includedKind === ARRAY) {
          buffer[at++] = included.length;
          for (let i = 0; i < included.length; i++) {
            const item = included[i];
            const itemKind = kindOf(item);
            room(1);
            buffer[at++] = itemKind;
            if (itemKind === OBJECT) resource(item);
          }
        }
        room(2);
        buffer[at++] = kindOf(document.meta);
        buffer[at++] = kindOf(document.links);
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

  /**
   * A resource's weight (clhooks::payload::outline::weight): 1, and for each member of its
   * attributes (and of any object in them) 1 and its name's length, for each value 1 and a
   * string's length. Counted, not decided: the core sets the budget.
   * @param {any} resource
   */
  function weight(resource) {
    let sum = 1;
    const attributes = resource == null ? undefined : resource.attributes;
    if (attributes === null || typeof attributes !== 'object' || Array.isArray(attributes)) return sum;
    const stack = [];
    const members = (object) => {
      for (const name of Object.keys(object)) {
        sum += 1 + name.length;
        stack.push(object[name]);
      }
    };
    members(attributes);
    while (stack.length > 0) {
      const value = stack.pop();
      sum += 1;
      if (typeof value === 'string') sum += value.length;
      else if (Array.isArray(value)) for (let i = 0; i < value.length; i++) stack.push(value[i]);
      else if (value !== null && typeof value === 'object') members(value);
    }
    return sum;
  }

  return { outline, expand, weight };
}
