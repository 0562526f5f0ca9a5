/** A reply whose JSON is already made (by PostgreSQL) and encoded: the service sends it as it is. */
export class SerializedReply {
  constructor(readonly bytes: Uint8Array) {}
}

const encoder = new TextEncoder();
const OPEN = encoder.encode('{"conversations":');
const CLOSE = encoder.encode('}');

/** `{"conversations": <array>}` around a JSON array, as text or already encoded. */
export const conversationsReply = (items: string | Uint8Array) =>
  new SerializedReply(
    Buffer.concat([OPEN, typeof items === 'string' ? encoder.encode(items) : items, CLOSE]),
  );
