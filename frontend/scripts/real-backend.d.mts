// Types for real-backend.mjs (plain JS so that node runs scripts/measure-page.mjs directly).
import type { BrowserContext } from "playwright-core";

export const CHROMIUM: string;
export const CHROMIUM_ARGS: readonly string[];
export const SYMBOL: string;
export const DATE: string;
export const BROKEN_DATE: string;

export function missingPrerequisite(): string | null;
export function freePort(): Promise<number>;
export function writeLake(dir: string, opts?: { startEt?: string; endEt?: string }): string;
export function buildPage(dir: string): Promise<string>;

export interface RealServer {
  readonly wsPort: number;
  readonly pagePort: number;
  /** Page URL with the stream selection, the given overrides and ws_port. */
  pageUrl(query?: Record<string, string>): string;
  /** Ends the server's process group (SIGTERM, SIGKILL after 3 s); safe to call twice. */
  stop(): Promise<void>;
  /** The last 20 kB of the server's output. */
  log(): string;
}

export function startServer(opts: { lake: string; dist: string; startTime?: string; timeoutMs?: number }): Promise<RealServer>;
export function launchChromium(dir: string, viewport?: { width: number; height: number }): Promise<BrowserContext>;
export function tempDir(prefix: string): { dir: string; remove: () => void };
