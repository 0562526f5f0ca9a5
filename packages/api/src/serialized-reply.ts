/** A reply whose JSON text is already made (by PostgreSQL): the service sends it as it is. */
export class SerializedReply {
  constructor(readonly json: string) {}
}

/** `{"conversations": <array>}` around a JSON array text. */
export const conversationsReply = (items: string) =>
  new SerializedReply(`{"conversations":${items}}`);
