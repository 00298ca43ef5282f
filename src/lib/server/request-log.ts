/**
 * One log line per request, as text for a person reading a terminal or as
 * JSON lines for a log collector (`logFormat`).
 */
export type LogFormat = 'text' | 'json' | 'none';

export interface RequestLogEntry {
  time: string;
  remote: string;
  method: string;
  path: string;
  status: number;
  /** Bytes of request body read. */
  bytesIn: number;
  /** Bytes written to the connection for this response, headers included. */
  bytesOut: number;
  ms: number;
  /** The renter key that signed the request, when one did. */
  key?: string;
  /** Error code of a refused request. */
  error?: string;
  /** Why the server did something on its own (the sweep's SWEEP lines). */
  note?: string;
}

export type RequestLogger = (entry: RequestLogEntry) => void;

export function createRequestLogger(format: LogFormat, write: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): RequestLogger {
  if (format === 'none') return () => undefined;
  if (format === 'json') return (e) => write(JSON.stringify(e));
  if (format !== 'text') throw new RangeError(`logFormat must be text, json or none, got ${JSON.stringify(format)}`);
  return (e) => {
    const who = e.key ? ` key=${e.key.slice(0, 16)}…` : '';
    const why = e.error ? ` error=${e.error}` : '';
    const note = e.note ? ` note=${JSON.stringify(e.note)}` : '';
    write(`${e.time} ${e.remote} ${e.method} ${e.path} ${e.status} in=${e.bytesIn} out=${e.bytesOut} ${e.ms.toFixed(1)}ms${who}${why}${note}`);
  };
}
