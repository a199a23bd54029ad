/** A scriptable stand-in for WebSocket: tests open, feed and drop it by hand. */
import type { SocketLike } from "../src/transport";

export class FakeSocket implements SocketLike {
  binaryType: BinaryType = "blob";
  readyState = 0;
  sent: string[] = [];
  closed: number | null = null;
  onopen: ((ev: Event) => void) | null = null;
  onmessage: ((ev: MessageEvent) => void) | null = null;
  onclose: ((ev: CloseEvent) => void) | null = null;
  onerror: ((ev: Event) => void) | null = null;
  send(data: string): void {
    this.sent.push(data);
  }
  close(code?: number): void {
    this.closed = code ?? 1000;
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.({} as Event);
  }
  message(data: unknown): void {
    this.onmessage?.({ data } as MessageEvent);
  }
  drop(code: number): void {
    this.readyState = 3;
    this.onclose?.({ code, reason: "" } as CloseEvent);
  }
}
