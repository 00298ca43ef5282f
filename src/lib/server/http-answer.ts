import type { IncomingHttpHeaders } from 'node:http';

/** An HTTP answer read whole: what both request paths of the file server client resolve with (http-request.ts, get-connection.ts). */
export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}
