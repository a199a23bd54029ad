/** WebSocket transport: arraybuffer frames, automatic reconnect with backoff, control sends. */
import { reconnectDelayMs } from "./connection-status";

export interface TransportHandlers {
  onOpen(): void;
  onText(text: string): void;
  onBinary(data: ArrayBuffer): void;
  /** The socket closed; `retryInMs` is null when no reconnect follows. */
  onClose(code: number, reason: string, retryInMs: number | null): void;
}

/** The part of WebSocket the transport uses (lets tests inject a fake). */
export interface SocketLike {
  binaryType: BinaryType;
  readonly readyState: number;
  onopen: ((ev: Event) => void) | null;
  onmessage: ((ev: MessageEvent) => void) | null;
  onclose: ((ev: CloseEvent) => void) | null;
  onerror: ((ev: Event) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export interface TransportOptions {
  createSocket?: (url: string) => SocketLike;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

/** Close codes after which reconnecting cannot help (bad request, policy violation). */
const NO_RETRY_CODES = new Set([1008, 4000]);
const OPEN = 1;

export class StreamTransport {
  private socket: SocketLike | null = null;
  private attempt = 0;
  private timer: unknown = null;
  private stopped = false;
  private readonly createSocket: (url: string) => SocketLike;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (handle: unknown) => void;

  constructor(
    private readonly url: string,
    private readonly handlers: TransportHandlers,
    opts: TransportOptions = {},
  ) {
    this.createSocket = opts.createSocket ?? ((u) => new WebSocket(u));
    this.setTimer = opts.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer = opts.clearTimer ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>));
  }

  connect(): void {
    this.stopped = false;
    this.open();
  }

  /** Sends a JSON control message; false when not connected. */
  send(message: Readonly<Record<string, unknown>>): boolean {
    if (this.socket === null || this.socket.readyState !== OPEN) return false;
    this.socket.send(JSON.stringify(message));
    return true;
  }

  /** Closes for good (no reconnect), e.g. after a protocol violation or on page exit. */
  stop(code = 1000, reason = "client stop"): void {
    this.stopped = true;
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = null;
    const s = this.socket;
    this.socket = null;
    if (s !== null) {
      s.onclose = null;
      s.onmessage = null;
      s.close(code, reason);
    }
  }

  private open(): void {
    const socket = this.createSocket(this.url);
    socket.binaryType = "arraybuffer";
    this.socket = socket;
    socket.onopen = () => this.handlers.onOpen();
    socket.onmessage = (ev: MessageEvent) => {
      const data: unknown = ev.data;
      if (typeof data === "string") {
        this.handlers.onText(data);
      } else if (data instanceof ArrayBuffer) {
        // The backoff restarts only once the stream has proved healthy by delivering a bin:
        // resetting on open would retry every 500 ms a server that accepts and then fails.
        this.attempt = 0;
        this.handlers.onBinary(data);
      }
    };
    socket.onerror = () => {
      // A close event always follows; reconnect logic lives there.
    };
    socket.onclose = (ev: CloseEvent) => {
      this.socket = null;
      if (this.stopped || NO_RETRY_CODES.has(ev.code)) {
        this.handlers.onClose(ev.code, ev.reason, null);
        return;
      }
      const delay = reconnectDelayMs(this.attempt);
      this.attempt++;
      this.handlers.onClose(ev.code, ev.reason, delay);
      this.timer = this.setTimer(() => {
        this.timer = null;
        if (!this.stopped) this.open();
      }, delay);
    };
  }
}
