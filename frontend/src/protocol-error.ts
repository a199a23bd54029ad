/** A broken stream contract (SPEC 8): shown on screen; the connection is not retried. */
export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ProtocolError";
  }
}
