/** Page URL query -> stream selection and the backend WebSocket URL. */

export const DEFAULT_BACKEND_PORT = 8002;
export const STREAM_PATH = "/v1/vacuum-pressure/stream";

/** Query parameters forwarded to the backend stream as they are. */
export const FORWARDED_PARAMS = [
  "product_type",
  "symbol",
  "dt",
  "start_time",
  "speed",
  "projection_use_cubic",
  "projection_cubic_scale",
  "projection_damping_lambda",
] as const;

export interface StreamParams {
  readonly wsUrl: string;
  /** The forwarded selection (for the title bar). */
  readonly selection: Readonly<Record<string, string>>;
}

/**
 * Builds the stream URL from the page location. Default: `ws://<page host>:8002/...` (`wss` on
 * https pages). `ws_port=N` changes the port; `backend=host[:port]` or a full `ws(s)://` URL
 * replaces host and port.
 */
export function streamParamsFromLocation(loc: { search: string; hostname: string; protocol: string }): StreamParams {
  const query = new URLSearchParams(loc.search);
  const selection: Record<string, string> = {};
  const forward = new URLSearchParams();
  for (const name of FORWARDED_PARAMS) {
    const v = query.get(name);
    if (v !== null && v !== "") {
      selection[name] = v;
      forward.set(name, v);
    }
  }
  const scheme = loc.protocol === "https:" ? "wss:" : "ws:";
  const host = loc.hostname === "" ? "localhost" : loc.hostname;
  let base = `${scheme}//${host}:${String(DEFAULT_BACKEND_PORT)}`;
  const port = query.get("ws_port");
  if (port !== null && /^\d{1,5}$/.test(port)) base = `${scheme}//${host}:${port}`;
  const backend = query.get("backend");
  if (backend !== null && backend !== "") {
    base = /^wss?:\/\//.test(backend) ? backend.replace(/\/+$/, "") : `${scheme}//${backend}`;
  }
  const qs = forward.toString();
  return { wsUrl: `${base}${STREAM_PATH}${qs ? `?${qs}` : ""}`, selection };
}

/** Validates an ET seek time `HH:MM` or `HH:MM:SS`; returns it normalised or null. */
export function normaliseEtTime(text: string): string | null {
  const m = /^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$/.exec(text);
  if (m === null) return null;
  const secText = m.at(3);
  const [h, mi, s] = [Number(m[1]), Number(m[2]), secText === undefined ? null : Number(secText)];
  if (h > 23 || mi > 59 || (s !== null && s > 59)) return null;
  const pad = (x: number) => String(x).padStart(2, "0");
  return s === null ? `${pad(h)}:${pad(mi)}` : `${pad(h)}:${pad(mi)}:${pad(s)}`;
}
